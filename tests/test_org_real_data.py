"""Org roll-ups on real data: the Enron employees (departments, seniority) with 3,000 of their
messages, and the SocioPatterns office contacts (departments), ingested through the connectors
and computed by the real pipeline. Totals are consistent (shown + suppressed = everyone), every
shown figure is the aggregation of the individual metrics, and k holds."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from resonance.ingest import run_ingest
from resonance.metrics.pipeline import run_pipeline
from resonance.org.flow import knowledge_flow
from resonance.org.rollup import rollup
from resonance.org.units import CLI_PRINCIPAL, population, scope_for, units

pytestmark = pytest.mark.slow
K = 5


def check_consistent(con, by: str, period: str) -> dict:
    """Roll up and check totals, sizes and figures against the individual metrics."""
    result = rollup(con, by, period, min_group_size=K)
    pop = population(con, scope_for(con, CLI_PRINCIPAL))
    everything = units(con, by, pop)
    if by != "manager":  # a partition: the units add up to the population
        assert sum(len(u["members"]) for u in everything.values()) == len(pop)
        shown = {g["unit"] for g in result["groups"]}
        hidden = [u for key, u in everything.items() if key not in shown]
        assert len(hidden) == result["suppressed"]
        assert sum(g["size"] for g in result["groups"]) + sum(len(u["members"]) for u in hidden) == len(pop)
        hidden_people = sum(len(u["members"]) for u in hidden)
        assert hidden_people == 0 or hidden_people >= K  # complementary suppression
    for g in result["groups"]:
        members = everything[g["unit"]]["members"]
        assert g["size"] == len(members) >= K
        for metric in ("activity", "network"):
            values = dict(
                con.execute(
                    "SELECT person_id, value FROM person_metrics WHERE period = ? AND metric = ?", [period, metric]
                ).fetchall()
            )
            v = np.array([values.get(p, 0.0) for p in sorted(members)])
            assert g["metrics"][metric]["mean"] == pytest.approx(v.mean(), abs=1e-4)
            assert g["metrics"][metric]["median"] == pytest.approx(np.median(v), abs=1e-4)
    return result


def test_enron_departments_and_seniority(store, data_dir: Path):
    con = store.con
    run_ingest(
        con,
        "directory",
        [data_dir / "enron" / "employees.tsv"],
        {
            "header": "false",
            "id_prefix": "enron",
            "column_map": {"id": "1", "name": "2", "department": "3", "title": "5", "role": "7"},
        },
    )
    run_ingest(
        con,
        "csv",
        [data_dir / "enron" / "messages-with-recipients-3000.tsv"],
        {
            "header": "false",
            "source": "enron",
            "column_map": {"id": "1", "time": "3", "actor": "4", "to": "5", "title": "6"},
            "constants": {"verb": "Create", "object_kind": "message"},
        },
    )
    run_pipeline(con, periods=["2000-Q2", "2000-H1"])
    by_dept = check_consistent(con, "department", "2000-Q2")
    assert {g["unit"] for g in by_dept["groups"]} == {"Legal", "Trading", "Other"}
    assert sum(g["size"] for g in by_dept["groups"]) == 156
    # The departments of Enron e-mail each other: someone in every department sent messages.
    assert all(g["metrics"]["activity"]["active_share"] > 0 for g in by_dept["groups"])
    by_seniority = check_consistent(con, "role", "2000-H1")
    assert {g["unit"] for g in by_seniority["groups"]} == {"Junior", "Senior"}


def test_sociopatterns_departments(store, data_dir: Path, tmp_path: Path):
    con = store.con
    folder = data_dir / "sociopatterns"
    run_ingest(
        con,
        "directory",
        [folder / "workplace_InVS_metadata.txt"],
        {"header": "false", "id_prefix": "sp", "delimiter": "\t", "column_map": {"id": "1", "department": "2"}},
    )
    origin = datetime(2013, 6, 24)
    contacts = tmp_path / "contacts.csv"
    lines = ["time,i,j"]
    for row in (folder / "tij_InVS.dat").read_text().splitlines():
        t, i, j = row.split()
        lines.append(f"{(origin + timedelta(seconds=int(t))).isoformat()}Z,{i},{j}")
    contacts.write_text("\n".join(lines) + "\n")
    report = run_ingest(
        con,
        "csv",
        [contacts],
        {
            "source": "sociopatterns",
            "identity_prefix": "sp",
            "column_map": {"time": "time", "actor": "i", "to": "j"},
            "constants": {"verb": "Create", "object_kind": "message"},
        },
    )
    assert report.rejected == 0 and report.counts.ingested["events"] == 9827
    run_pipeline(con, periods=["2013-W26", "2013-06"])
    result = check_consistent(con, "department", "2013-W26")
    sizes = {g["unit"]: g["size"] for g in result["groups"]}
    # SFLE has 4 people (< k): suppressed, and one more department with it so that the company
    # total minus the shown departments never isolates fewer than k people.
    assert "SFLE" not in sizes and result["suppressed"] == 2
    assert all(g["metrics"]["network"]["median"] > 0 for g in result["groups"])  # everyone met someone
    flow = knowledge_flow(con, "department", "2013-06", min_group_size=K)
    assert flow["matrix"] == []  # contacts are ties, not uses of knowledge: no flow is invented
