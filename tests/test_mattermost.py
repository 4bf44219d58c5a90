"""Mattermost bulk export connector: golden rows, broken lines, idempotency."""

from __future__ import annotations

from datetime import datetime

from conftest import rows
from resonance.ingest import run_ingest

POST = "mattermost-post:acme/platform/1772445600123/dana"
REPLY = "mattermost-post:acme/platform/1772449200000/fox"
DIRECT = "mattermost-post:direct/dana,fox/1772452800000/fox"


def test_bulk_export_golden_rows(store, data_dir):
    report = run_ingest(store.con, "mattermost", [data_dir / "mattermost" / "export.jsonl"])
    assert (report.counts.ingested["items"], report.counts.ingested["events"]) == (4, 8)
    assert rows(store, "SELECT item_id, kind, author, parent_id, container, title, created FROM items "
                       "ORDER BY created, item_id") == [
        (POST, "message", "mattermost:dana", None, "mattermost:acme/platform", None,
         datetime(2026, 3, 2, 10, 0, 0, 123000)),
        (REPLY, "message", "mattermost:fox", POST, "mattermost:acme/platform", None, datetime(2026, 3, 2, 11, 0)),
        (f"{REPLY}/file/0", "file", "mattermost:fox", REPLY, "mattermost:acme/platform", "rotation.pdf",
         datetime(2026, 3, 2, 11, 0)),
        (DIRECT, "message", "mattermost:fox", None, "mattermost:direct/dana,fox", None, datetime(2026, 3, 2, 12, 0)),
    ]
    assert rows(store, "SELECT verb, actor, object, time, extra->>'emoji', recipients FROM events "
                       "WHERE verb <> 'Create' ORDER BY time") == [
        # @channel is not a person: no mention
        ("Mention", "mattermost:dana", "mattermost:fox", datetime(2026, 3, 2, 10, 0, 0, 123000), None, None),
        ("Like", "mattermost:fox", POST, datetime(2026, 3, 2, 10, 1, 40), "+1", None),  # the reaction's own time
        ("Like", "mattermost:dana", REPLY, datetime(2026, 3, 2, 11, 1, 40), "tada", None),
        ("Mention", "mattermost:fox", "mattermost:dana", datetime(2026, 3, 2, 12, 0), None, None),
    ]
    assert rows(store, "SELECT recipients FROM events WHERE object = ?", [DIRECT]) == [(["mattermost:dana"],)]
    assert rows(store, "SELECT display_name, identities, title FROM people ORDER BY 1") == [
        ("Dana Scully", ["email:dana.scully@acme.example", "mattermost:dana"], "Staff Engineer"),
        ("Fox Mulder", ["email:fox@acme.example", "mattermost:fox"], None),
    ]


def test_broken_lines_are_quarantined_and_reingest_changes_nothing(store, data_dir):
    path = data_dir / "mattermost" / "export.jsonl"
    run_ingest(store.con, "mattermost", [path])
    assert rows(store, "SELECT line, field, reason FROM quarantine ORDER BY line") == [
        (8, "create_at", "missing or unparseable create_at None"),
        (9, "user", "post without user"),
        (10, "json", "malformed JSON: unexpected control character in string: line 1 column 97 (char 96)"),
    ]
    before = [rows(store, f"SELECT count(*) FROM {t}")[0][0] for t in ("events", "items", "people", "quarantine")]
    again = run_ingest(store.con, "mattermost", [path])
    assert again.ingested == 0
    assert [rows(store, f"SELECT count(*) FROM {t}")[0][0] for t in ("events", "items", "people", "quarantine")] \
        == before
