"""Activity Streams 2.0 connector: golden mapping, bad input, idempotency."""

from __future__ import annotations

import gzip
import shutil
from datetime import datetime
from pathlib import Path

from conftest import rows
from resonance.ingest import run_ingest


def test_collection_document_maps_to_canonical_rows(store, data_dir):
    report = run_ingest(store.con, "as2", [data_dir / "as2" / "collection.json"])
    assert report.rejected == 0
    assert report.counts.ingested["events"] == 3
    assert report.counts.ingested["items"] == 2

    events = rows(store, "SELECT native_id, time, actor, verb, object, object_type, recipients, ctx_account "
                         "FROM events ORDER BY time")
    assert events[0] == (
        "https://social.acme.example/activities/100", datetime(2026, 3, 2, 14, 30), "email:dana@acme.example",
        "Create", "https://social.acme.example/questions/7", "item", [], "crm:acc:001",
    )
    assert events[2][3:7] == ("Like", "https://social.acme.example/answers/8", "item", ["email:fox@acme.example"])

    items = rows(store, "SELECT item_id, kind, author, parent_id, container, title, tags FROM items ORDER BY item_id")
    assert items == [
        ("https://social.acme.example/answers/8", "answer", "email:fox@acme.example",
         "https://social.acme.example/questions/7", None, None, []),
        ("https://social.acme.example/questions/7", "question", "email:dana@acme.example", None,
         "https://social.acme.example/communities/platform", "How do we rotate the Kafka certificates?",
         ["kafka", "security"]),
    ]
    people = dict(rows(store, "SELECT person_id, display_name FROM people"))
    assert people == {"email:dana@acme.example": "Dana Scully", "email:fox@acme.example": "fox"}


def test_bad_records_are_quarantined_and_the_rest_goes_in(store, data_dir):
    report = run_ingest(store.con, "as2", [data_dir / "as2" / "bad-and-good.ndjson"])
    assert report.counts.ingested["events"] == 4
    assert dict(report.counts.reasons) == {
        "unknown verb Frobnicate": 1,
        "missing actor": 1,
        "unparseable time yesterday": 1,
        "malformed JSON": 1,
        "duplicate id (first at line 2)": 1,
        "invalid UTF-8": 1,
    }
    quarantined = rows(store, "SELECT line, field, reason FROM quarantine ORDER BY line")
    assert quarantined == [
        (3, "type", "unknown verb Frobnicate"),
        (4, "actor", "missing actor"),
        (5, "published", "unparseable time yesterday"),
        (6, "json", "malformed JSON"),
        (7, "id", "duplicate id (first at line 2)"),
        (10, "encoding", "invalid UTF-8"),
    ]
    raw = rows(store, "SELECT raw FROM quarantine WHERE line = 6")[0][0]
    assert raw == "{bad json"


def test_reingest_changes_nothing(store, data_dir, tmp_path: Path):
    gz = tmp_path / "sample.ndjson.gz"
    with open(data_dir / "as2" / "bad-and-good.ndjson", "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    first = run_ingest(store.con, "as2", [gz])
    snapshot = [rows(store, f"SELECT count(*) FROM {t}")[0][0] for t in ("events", "items", "people", "quarantine")]
    second = run_ingest(store.con, "as2", [gz])
    again = [rows(store, f"SELECT count(*) FROM {t}")[0][0] for t in ("events", "items", "people", "quarantine")]
    assert first.ingested > 0
    assert second.ingested == 0
    assert second.duplicates == first.ingested
    assert again == snapshot


def test_empty_file_reads_nothing(store, tmp_path: Path):
    empty = tmp_path / "empty.ndjson"
    empty.write_text("")
    report = run_ingest(store.con, "as2", [empty])
    assert (report.ingested, report.duplicates, report.rejected) == (0, 0, 0)
