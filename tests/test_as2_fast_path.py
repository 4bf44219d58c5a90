"""AS2 fast path (DuckDB's read_json in the store's connection): the same rows as the ordinary path,
and a fall back to the ordinary path for every input it cannot vouch for."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import resonance.sources.activitystreams as as2
from conftest import rows
from resonance.ingest import run_ingest
from resonance.store import open_store
from resonance.store.loader import Loader

TABLES = {
    "events": "SELECT * EXCLUDE (ingest_id, ingested_at) FROM events ORDER BY source, native_id",
    "items": "SELECT * EXCLUDE (ingest_id, ingested_at) FROM items ORDER BY source, native_id",
    "quarantine": "SELECT source, file, line, field, reason, raw FROM quarantine ORDER BY file, line, reason",
    "profiles": "SELECT source, native_id, person_id, identities, display_name, emails FROM profiles "
                "ORDER BY source, native_id",
    "identities": "SELECT identity, person_id, kind FROM identities ORDER BY identity",
    "people": "SELECT * FROM people ORDER BY person_id",
}


def _ingest_twice(db: Path, paths: list[Path], monkeypatch: pytest.MonkeyPatch, fast: bool) -> dict:
    """Ingest into a new store twice; the tables, both reports and whether each file went the fast way."""
    taken: list[bool] = []
    load_staged = Loader.load_staged

    def spy(self, staged, run_stage=True):
        counts = load_staged(self, staged, run_stage)
        taken.append(counts is not None)
        return counts

    with monkeypatch.context() as m:
        m.setattr(Loader, "load_staged", spy)
        if not fast:
            m.setattr(as2, "_fast_path_compression", lambda file: None)
        store = open_store(db)
        try:
            reports = []
            for _ in range(2):
                report = run_ingest(store.con, "as2", paths).as_dict()
                report.pop("ingest_id")
                reports.append(report)
            tables = {name: rows(store, sql) for name, sql in TABLES.items()}
        finally:
            store.close()
    return {"tables": tables, "reports": reports, "fast": taken}


def _both_ways(tmp_path: Path, paths: list[Path], monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict]:
    fast = _ingest_twice(tmp_path / "fast.duckdb", paths, monkeypatch, fast=True)
    ordinary = _ingest_twice(tmp_path / "ordinary.duckdb", paths, monkeypatch, fast=False)
    assert ordinary["fast"] == []
    return fast, ordinary


def test_fast_path_gives_the_ordinary_paths_rows(tmp_path, data_dir, monkeypatch):
    # mapping.ndjson: embedded actors and objects, arrays and objects in to/cc/audience, numbers where
    # strings are expected, time zones, aliases, anonymous votes, Unicode, items with and without ids.
    fast, ordinary = _both_ways(tmp_path, [data_dir / "as2" / "mapping.ndjson"], monkeypatch)
    assert fast["fast"] == [True, True]
    assert fast["tables"] == ordinary["tables"]
    assert fast["reports"] == ordinary["reports"]
    first, again = fast["reports"]
    assert first["by_table"] == {"events": {"ingested": 21, "duplicates": 0},
                                 "items": {"ingested": 5, "duplicates": 0},
                                 "people": {"ingested": 2, "duplicates": 0}}
    assert (again["ingested"], again["duplicates"], again["rejected"]) == (0, 28, 0)
    assert fast["tables"]["quarantine"] == []


def test_fast_path_reads_gzip_and_a_folder_of_overlapping_files(tmp_path, data_dir, monkeypatch):
    lines = (data_dir / "as2" / "mapping.ndjson").read_bytes().splitlines(keepends=True)
    folder = tmp_path / "in"
    folder.mkdir()
    with gzip.open(folder / "a.ndjson.gz", "wb") as f:
        f.writelines(lines[:12])
    (folder / "b.ndjson").write_bytes(b"".join(lines[8:]))  # lines 9-12 again: already present
    fast, ordinary = _both_ways(tmp_path, [folder], monkeypatch)
    assert fast["fast"] == [True, True, True, True]
    assert fast["tables"] == ordinary["tables"]
    assert fast["reports"] == ordinary["reports"]
    assert fast["reports"][0]["by_table"]["events"] == {"ingested": 21, "duplicates": 4}


GOOD = ('{"id":"urn:x:%d","type":"Like","actor":"mailto:a@b.example","object":"urn:p:1",'
        '"published":"2026-01-05T11:00:00Z"}')
PROBLEMS = {
    "blank line": "",
    "malformed JSON": '{"id":"urn:x:9", "type":',
    "not an object": "[1, 2]",
    "unknown verb": GOOD.replace("Like", "Frobnicate") % 9,
    "missing actor": GOOD.replace('"actor":"mailto:a@b.example",', "") % 9,
    "unparseable time": GOOD.replace("2026-01-05T11:00:00Z", "yesterday") % 9,
    "no id (derived from the line)": GOOD.replace('"id":"urn:x:%d",', ""),
    "repeated id": GOOD % 1,
    "object created twice": '{"id":"urn:x:9","type":"Create","actor":"mailto:a@b.example","object":{"id":"urn:p:1",'
                            '"type":"Note","content":"again"},"published":"2026-01-06T00:00:00Z"}',
}


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_a_file_with_any_problem_goes_the_ordinary_way(tmp_path, monkeypatch, problem):
    created = ('{"id":"urn:x:0","type":"Create","actor":"mailto:a@b.example","object":{"id":"urn:p:1",'
               '"type":"Note","content":"first"},"published":"2026-01-04T00:00:00Z"}')
    lines = [created] + [GOOD % n for n in range(1, 4)] + [PROBLEMS[problem]] + [GOOD % n for n in range(4, 6)]
    path = tmp_path / "input.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast, ordinary = _both_ways(tmp_path, [path], monkeypatch)
    assert fast["fast"] == [False, False]  # declined: nothing written by the fast path
    assert fast["tables"] == ordinary["tables"]
    assert fast["reports"] == ordinary["reports"]
    assert fast["tables"]["events"] and len(fast["tables"]["items"]) == 1  # the good lines went in
    if problem in ("no id (derived from the line)", "object created twice"):  # loaded, not quarantined
        assert fast["tables"]["quarantine"] == []
    else:
        assert [q[2] for q in fast["tables"]["quarantine"]] == [5]  # source, file, line, ...


def test_strings_that_look_like_json_do_not_stop_the_ingest(tmp_path, monkeypatch):
    # json_transform gives an object's JSON text, but a string's value as is: a string starting with a
    # brace or bracket used to be parsed as JSON and stopped the whole ingest on both paths.
    lines = [
        GOOD % 1,
        GOOD.replace('"mailto:a@b.example"', '"{mailto:a@b.example"') % 2,  # no identity: missing actor
        (GOOD % 3)[:-1] + ',"to":"[not json","cc":["{x","mailto:C@b.example"],"context":"{ctx"}',
        (GOOD % 4).replace('"type":"Like"', '"type":"[Like"'),  # an unknown verb
    ]
    path = tmp_path / "input.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast, ordinary = _both_ways(tmp_path, [path], monkeypatch)
    assert fast["tables"] == ordinary["tables"]
    assert fast["reports"] == ordinary["reports"]
    assert fast["reports"][0]["reasons"] == {"missing actor": 1, "unknown verb [Like": 1}
    events = {e[1]: e for e in fast["tables"]["events"]}
    assert sorted(events) == ["urn:x:1", "urn:x:3"]
    assert events["urn:x:3"][8] == ["email:c@b.example"]  # recipients


def test_a_kudos_keeps_its_message_on_both_paths(tmp_path, monkeypatch):
    """An activity's own `content` (or `summary`: the thanks of a Kudos) is kept in the event's extra, where
    the dashboard's kudos panel reads the message; activities without one keep no extra."""
    kudos = ('{"id":"urn:k:%d","type":"Kudos","actor":"mailto:a@b.example","object":"mailto:c@b.example",'
             '"published":"2026-03-02T10:00:00Z",%s}')
    lines = [
        kudos % (1, '"content":"Thanks for the \\"migration\\" notes!"'),
        kudos % (2, '"summary":"Great demo"'),
        kudos % (3, '"to":["mailto:c@b.example"]'),
        GOOD % 4,
    ]
    path = tmp_path / "input.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast, ordinary = _both_ways(tmp_path, [path], monkeypatch)
    assert fast["fast"] == [True, True] and fast["tables"] == ordinary["tables"]
    extra = {e[1]: e[-1] for e in fast["tables"]["events"]}  # native_id -> extra (the last column)
    assert json.loads(extra["urn:k:1"]) == {"content": 'Thanks for the "migration" notes!'}
    assert json.loads(extra["urn:k:2"]) == {"content": "Great demo"}
    assert extra["urn:k:3"] is None and extra["urn:x:4"] is None
