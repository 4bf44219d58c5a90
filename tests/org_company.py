"""Small companies for the org roll-up tests: a directory loaded through the real loader, and
individual metrics written straight into the metric tables (so that a test controls them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from resonance.metrics.periods import parse_period
from resonance.metrics.tables import ensure_metric_tables
from resonance.sources.base import BatchBuilder
from resonance.store.loader import Loader
from resonance.store.people import refresh_people


@dataclass(frozen=True)
class Person:
    id: str
    manager: str | None = None
    department: str | None = None
    location: str | None = None
    role: str | None = None


def load_directory(con: duckdb.DuckDBPyConnection, people: Iterable[Person], direct: bool = False) -> None:
    """Upsert the people (a re-load with other values moves them, like a directory re-import).

    `direct` writes the resolved `people` and `identities` rows straight away (what the loader and
    `refresh_people` would produce: person id = `hr:<id>`), for property tests that build many companies."""
    if direct:
        people = list(people)
        con.execute("DELETE FROM people")
        con.execute("DELETE FROM identities")
        con.executemany(
            """INSERT INTO people (person_id, display_name, identities, manager_id, department, location, role,
                                   is_external) VALUES (?, ?, ?, ?, ?, ?, ?, false)""",
            [
                (
                    f"hr:{p.id}",
                    f"Person {p.id}",
                    [f"hr:{p.id}"],
                    f"hr:{p.manager}" if p.manager else None,
                    p.department,
                    p.location,
                    p.role,
                )
                for p in people
            ],
        )
        con.executemany(
            "INSERT INTO identities (identity, person_id, kind) VALUES (?, ?, 'account')",
            [(f"hr:{p.id}", f"hr:{p.id}") for p in people],
        )
        return
    b = BatchBuilder("hr")
    for i, p in enumerate(people):
        b.profile(
            native_id=p.id,
            identities=[f"hr:{p.id}"],
            display_name=f"Person {p.id}",
            emails=[],
            handles=[],
            manager_ref=f"hr:{p.manager}" if p.manager else None,
            department=p.department,
            location=p.location,
            title=None,
            role=p.role,
            is_external=False,
            file="directory.csv",
            line=i + 2,
        )
    ingest_id = int(con.execute("SELECT nextval('ingest_run_seq')").fetchall()[0][0])
    con.execute(
        """INSERT INTO ingest_runs (ingest_id, kind, paths, options, started_at, status)
           VALUES (?, 'directory', ['tests/org'], '{}', now()::TIMESTAMP, 'done')""",
        [ingest_id],
    )
    loader = Loader(con, ingest_id)
    for batch in b.flush():
        loader.load(batch)
    refresh_people(con)


def person_id(con: duckdb.DuckDBPyConnection, native: str) -> str:
    return str(con.execute("SELECT person_id FROM identities WHERE identity = ?", [f"hr:{native}"]).fetchall()[0][0])


def write_metrics(
    con: duckdb.DuckDBPyConnection,
    period: str,
    values: Mapping[str, Mapping[str, float]],
    personas: Mapping[str, str] | None = None,
) -> None:
    """values: {native id: {metric: value}}; personas: {native id: persona}. Replaces the period."""
    ensure_metric_tables(con)
    p = parse_period(period)
    con.execute("DELETE FROM metric_periods WHERE period = ?", [p.label])
    con.execute("DELETE FROM person_metrics WHERE period = ?", [p.label])
    con.execute("DELETE FROM person_persona WHERE period = ?", [p.label])
    con.execute(
        "INSERT INTO metric_periods (period, period_type, period_start, period_end, run_id, computed_at)"
        " VALUES (?, ?, ?, ?, 0, ?)",
        [p.label, p.type, p.start, p.end, datetime(2026, 1, 1)],
    )
    rows: list[Sequence] = [
        (p.label, person_id(con, native), metric, float(v))
        for native, metrics in values.items()
        for metric, v in metrics.items()
        if v != 0
    ]
    if rows:
        con.executemany("INSERT INTO person_metrics (period, person_id, metric, value) VALUES (?, ?, ?, ?)", rows)
    for native, persona in (personas or {}).items():
        con.execute(
            "INSERT INTO person_persona (period, person_id, persona, contributions, given, received, reads)"
            " VALUES (?, ?, ?, 0, 0, 0, 0)",
            [p.label, person_id(con, native), persona],
        )
