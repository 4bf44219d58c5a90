"""Slack export connector: golden rows, broken files, unsafe zips, idempotency."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from conftest import rows
from resonance.ingest import run_ingest
from resonance.sources import SourceError

EXPORT = "acme-export"


def counts(store) -> list[int]:
    return [rows(store, f"SELECT count(*) FROM {t}")[0][0]
            for t in ("events", "items", "profiles", "identities", "people", "quarantine")]


def zip_export(folder: Path, target: Path, extra: dict[str, bytes] | None = None, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*.json")):
            zf.write(path, prefix + path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return target


def test_export_folder_golden_rows(store, data_dir):
    report = run_ingest(store.con, "slack", [data_dir / "slack" / EXPORT])
    assert (report.counts.ingested["items"], report.counts.ingested["events"]) == (6, 15)
    assert rows(store, "SELECT item_id, kind, author, parent_id, container, text, created FROM items "
                       "WHERE kind = 'message' ORDER BY created") == [
        ("slack-msg:C01GEN:1772445600.000200", "message", "slack:U01DANA", None, "slack:#general",
         "Kafka certificates expire Friday, <@U02FOX> can you rotate them? Runbook: "
         "<https://wiki.acme.example/kafka/rotate|rotation runbook>", datetime(2026, 3, 2, 10, 0, 0, 200)),
        ("slack-msg:C01GEN:1772449200.000300", "message", "slack:U02FOX", "slack-msg:C01GEN:1772445600.000200",
         "slack:#general", "On it, slides attached.", datetime(2026, 3, 2, 11, 0, 0, 300)),
        ("slack-msg:C01GEN:1772452800.000400", "message", "slack:U01DANA", "slack-msg:C01GEN:1772445600.000200",
         "slack:#general", "Thanks <@U02FOX>!", datetime(2026, 3, 2, 12, 0, 0, 400)),
        ("slack-msg:C01GEN:1772456400.000500", "message", "slack:B01BOT", None, "slack:#general",
         "Deployed kafka-certs v2", datetime(2026, 3, 2, 13, 0, 0, 500)),
        ("slack-msg:C02ENG:1772622000.000200", "message", "slack:U03WALT", None, "slack:#engineering",
         "Shared <https://github.com/acme/kafka-tools> with <@U01DANA>", datetime(2026, 3, 4, 11, 0, 0, 200)),
    ]
    assert rows(store, "SELECT item_id, parent_id, title, url FROM items WHERE kind = 'file'") == [
        ("slack-file:F01SLIDES", "slack-msg:C01GEN:1772449200.000300", "Rotation plan",
         "https://acme.slack.com/files/U02FOX/F01SLIDES/rotation.pdf"),
    ]
    likes = rows(store, "SELECT actor, object, extra->>'emoji' FROM events WHERE verb = 'Like' ORDER BY 1, 2, 3")
    assert likes == [
        ("slack:U01DANA", "slack-msg:C01GEN:1772449200.000300", "tada"),
        ("slack:U02FOX", "slack-msg:C01GEN:1772445600.000200", "+1"),
        ("slack:U02FOX", "slack-msg:C01GEN:1772445600.000200", "eyes"),
        ("slack:U03WALT", "slack-msg:C01GEN:1772445600.000200", "+1"),
    ]
    assert rows(store, "SELECT actor, object, object_type, ctx_item FROM events WHERE verb = 'Mention' "
                       "ORDER BY time") == [
        ("slack:U01DANA", "slack:U02FOX", "person", "slack-msg:C01GEN:1772445600.000200"),
        ("slack:U01DANA", "slack:U02FOX", "person", "slack-msg:C01GEN:1772452800.000400"),
        ("slack:U03WALT", "slack:U01DANA", "person", "slack-msg:C02ENG:1772622000.000200"),
    ]
    assert rows(store, "SELECT actor, object FROM events WHERE verb = 'Announce' ORDER BY time") == [
        ("slack:U01DANA", "https://wiki.acme.example/kafka/rotate"),
        ("slack:U03WALT", "https://github.com/acme/kafka-tools"),
    ]
    assert rows(store, "SELECT person_id, display_name, emails, identities, title FROM people ORDER BY 1") == [
        ("slack:B01BOT", "Deploy Bot", [], ["slack:B01BOT"], None),
        ("slack:U01DANA", "Dana Scully", ["dana.scully@acme.example"], ["email:dana.scully@acme.example",
                                                                        "slack:U01DANA"], "Staff Engineer"),
        ("slack:U02FOX", "Fox Mulder", ["fox@acme.example"], ["email:fox@acme.example", "slack:U02FOX"],
         "Solutions Architect"),
        ("slack:U03WALT", "Walter Skinner", ["walter.skinner@acme.example"],
         ["email:walter.skinner@acme.example", "slack:U03WALT"], None),
    ]


def test_broken_files_are_quarantined_and_the_rest_goes_in(store, data_dir):
    report = run_ingest(store.con, "slack", [data_dir / "slack" / EXPORT])
    quarantined = rows(store, "SELECT regexp_replace(file, '.*/', ''), line, field, reason FROM quarantine "
                              "ORDER BY file, line")
    assert quarantined == [
        ("2026-03-03.json", 1, "json", "malformed JSON: unexpected end of data: line 3 column 1 (char 80)"),
        ("2026-03-04.json", 1, "ts", "missing or unparseable ts None"),
        ("2026-03-04.json", 2, "user", "message without user"),
    ]
    assert report.rejected == 3


def test_reingest_folder_then_zip_changes_nothing(store, data_dir, tmp_path):
    run_ingest(store.con, "slack", [data_dir / "slack" / EXPORT])
    before = counts(store)
    again = run_ingest(store.con, "slack", [data_dir / "slack" / EXPORT])
    assert again.ingested == 0 and counts(store) == before
    # The same export zipped (inside a top folder, as Slack names it): same rows, nothing new.
    archive = zip_export(data_dir / "slack" / EXPORT, tmp_path / "export.zip", prefix="Acme Slack export/")
    from_zip = run_ingest(store.con, "slack", [archive])
    assert from_zip.counts.ingested["events"] == 0 and from_zip.counts.duplicates["events"] == 15
    assert counts(store)[:5] == before[:5]


def test_zip_bomb_and_path_traversal_are_quarantined(store, data_dir, tmp_path):
    bomb = b"[" + b" " * 3_000_000 + b"]"  # 3 MB of blanks deflates ~1000:1
    archive = zip_export(data_dir / "slack" / EXPORT, tmp_path / "evil.zip", extra={
        "../../etc/evil.json": b"[]",
        "/abs/users.json": b"[]",
        "general/2026-03-05.json": bomb,
    })
    report = run_ingest(store.con, "slack", [archive])
    assert report.counts.ingested["items"] == 6  # the good part of the export still goes in
    # (the compressed size depends on the zlib build: masked)
    reasons = rows(store, "SELECT regexp_replace(file, '.*evil.zip/', ''), field, "
                          "regexp_replace(reason, 'from [0-9,]+', 'from N') FROM quarantine "
                          "WHERE field IN ('path', 'size') ORDER BY 1")
    assert reasons == [
        ("../../etc/evil.json", "path", "unsafe path in zip (absolute or '..'): entry not read"),
        ("/abs/users.json", "path", "unsafe path in zip (absolute or '..'): entry not read"),
        ("general/2026-03-05.json", "size",
         "entry too large or too compressed (3,000,002 bytes from N): a zip bomb? not read"),
    ]


def test_zip_limits_are_enforced_even_when_sizes_lie(store, data_dir, tmp_path):
    archive = zip_export(data_dir / "slack" / EXPORT, tmp_path / "export.zip")
    with pytest.raises(SourceError, match="more than the limit of 3"):
        run_ingest(store.con, "slack", [archive], {"max_entries": "3"})
    report = run_ingest(store.con, "slack", [archive], {"max_total_bytes": "2000"})
    assert any("uncompressed bytes was reached" in r or "inflates beyond" in r for r in report.counts.reasons)


def test_not_an_export_is_a_clear_error(store, tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(SourceError, match="not a Slack export"):
        run_ingest(store.con, "slack", [tmp_path / "x.txt"])
