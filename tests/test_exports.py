"""CSV injection: exported text cells that a spreadsheet would run as formulas are neutralised."""

from __future__ import annotations

import csv
import json

from resonance.exports import copy_query
from resonance.ingest import run_ingest
from resonance.store import open_store

PAYLOADS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
            "\tleading tab", "\rleading return"]


def _rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_copy_query_neutralises_text_cells_only(tmp_path):
    con = open_store(":memory:").con
    con.execute("CREATE TABLE t (s VARCHAR, n DOUBLE, l VARCHAR[], j JSON)")
    for p in PAYLOADS:
        con.execute("INSERT INTO t VALUES (?, -2.5, [?], ?)", [p, p, json.dumps({"v": p})])
    con.execute("INSERT INTO t VALUES ('plain', 3, ['ok'], '{}')")
    copy_query(con, "SELECT * FROM t", tmp_path / "out.csv")
    rows = _rows(tmp_path / "out.csv")
    assert [r["s"] for r in rows] == ["'" + p for p in PAYLOADS] + ["plain"]
    assert {r["n"] for r in rows} == {"-2.5", "3.0"}, "numbers are not touched"
    for r in rows:
        for cell in r.values():
            assert not cell or cell[0] not in "=+-@\t\r" or cell.lstrip("-").replace(".", "").isdigit(), cell
    copy_query(con, "SELECT * FROM t", tmp_path / "out.parquet")  # Parquet keeps values as they are
    assert con.execute(f"SELECT s FROM '{tmp_path / 'out.parquet'}' LIMIT 1").fetchall() == [(PAYLOADS[0],)]


def test_metrics_export_of_hostile_directory_values(tmp_path, data_dir):
    from resonance.metrics.export import export_metrics
    from resonance.metrics.pipeline import run_pipeline

    store = open_store(tmp_path / "s.duckdb")
    directory = tmp_path / "directory.csv"
    directory.write_text(
        "id,name,email,manager_id,department,location,title,role,start_date,handles\n"
        "E1,=cmd|' /C calc'!A0,ann@acme.example,,+Sales,@Berlin,-Boss,engineer,2020-01-01,\n"
        "E2,Bob B,bob@acme.example,,Sales,Berlin,Rep,engineer,2020-01-01,\n")
    run_ingest(store.con, "directory", [directory])
    events = tmp_path / "events.ndjson"
    events.write_text("\n".join(json.dumps(a) for a in [
        {"id": "a1", "type": "Create", "actor": "mailto:ann@acme.example",
         "object": {"id": "p1", "type": "Note", "name": "=1+1"}, "published": "2026-01-05T10:00:00Z"},
        {"id": "a2", "type": "Like", "actor": "mailto:bob@acme.example", "object": "p1",
         "published": "2026-01-06T10:00:00Z"}]) + "\n")
    run_ingest(store.con, "as2", [events])
    run_pipeline(store.con, periods=["month"])
    n = export_metrics(store.con, tmp_path / "metrics.csv")
    rows = _rows(tmp_path / "metrics.csv")
    assert n == len(rows) >= 2
    ann = next(r for r in rows if r["person_id"] == "hr:E1")
    assert (ann["display_name"], ann["department"], ann["location"], ann["title"]) == (
        "'=cmd|' /C calc'!A0", "'+Sales", "'@Berlin", "'-Boss")
    assert float(ann["activity"]) > 0
    store.close()
