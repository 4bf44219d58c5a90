"""Incremental compute equals a full recompute, table by table (issue 9).

A small synthetic company is computed in full; then events arrive (one more day,
late events into old periods, nothing) and an incremental compute runs. Every
metric table is snapshotted (floats rounded), a full recompute runs on the same
store, and the two snapshots must be identical — while the incremental compute
recomputed only some periods.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from metric_tables import storage_order
from metrics_synth import START, build_company, load
from resonance.metrics import tables
from resonance.metrics.pipeline import run_pipeline
from resonance.metrics.rules import load_rules
from resonance.store.loader import Batch

AS_OF = START + timedelta(days=130)

TABLES = {
    "metric_periods": ["period", "period_type", "period_start", "period_end"],
    "person_metrics": None,
    "person_breakdown": None,
    "person_percentiles": None,
    "person_persona": None,
    "item_value": None,
    "person_network": None,
    "person_reach": None,
    "person_ties": None,
    "reaction_pairs": None,
    "metric_contributions": None,
    "metric_reactions": None,
}


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every metric table's full contents, floats rounded to 6 decimals, in a stable order."""
    out = {}
    for table, cols in TABLES.items():
        info = con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND NOT internal"
            " ORDER BY column_index",
            [table],
        ).fetchall()
        exprs = [
            f"round({c}, 6) AS {c}" if t == "DOUBLE" else c for c, t in info if cols is None or c in cols
        ]
        out[table] = con.execute(f"SELECT {', '.join(exprs)} FROM {table} ORDER BY ALL").fetchall()
    return out


def assert_same(a: dict[str, list[tuple]], b: dict[str, list[tuple]]) -> None:
    """Equal row for row; floats within 1e-5 (sums of rounded figures land on a rounding boundary now and then,
    and the order DuckDB sums in depends on the other rows of the table: two full computes differ alike)."""
    for table in TABLES:
        assert len(a[table]) == len(b[table]), f"{table}: {len(a[table])} rows incremental, {len(b[table])} full"
        for x, y in zip(a[table], b[table], strict=True):
            same = all(
                u == pytest.approx(v, abs=1e-5) if isinstance(u, float) and isinstance(v, float) else u == v
                for u, v in zip(x, y, strict=True)
            )
            assert same, f"{table}: incremental {x} != full {y}"
    assert sum(len(v) for v in a.values()) > 1000  # a comparison of something


def events(rows: list[dict]) -> pa.Table:
    """Events in the canonical schema (missing columns are NULL)."""
    cols = ["native_id", "time", "actor", "verb", "object", "object_type", "value", "ctx_item"]
    data = {c: [r.get(c) for r in rows] for c in cols}
    return pa.table(
        {
            "source": ["late"] * len(rows),
            **{c: pa.array(v, pa.timestamp("us") if c == "time" else pa.float64() if c == "value" else pa.string())
               for c, v in data.items()},
            "recipients": pa.array([[] for _ in rows], pa.list_(pa.string())),
        }
    )


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def compute(con: duckdb.DuckDBPyConnection, incremental: bool, as_of: datetime = AS_OF, **kw) -> dict:
    return run_pipeline(con, incremental=incremental, as_of=as_of, **kw)


def check_equal_to_full(con: duckdb.DuckDBPyConnection, summary: dict) -> None:
    after_incremental = snapshot(con)
    full = compute(con, incremental=False)
    assert full["mode"] == "full"
    assert summary["periods"] < full["periods"], "an incremental compute recomputed everything"
    assert_same(after_incremental, snapshot(con))


@pytest.fixture
def company(store):
    build_company(store.con, n_people=40, n_events=2500, days=120, seed=11, ring_size=3)
    return store


def test_one_more_day_recomputes_only_its_periods(company):
    con = company.con
    cut = day(119)
    # Hold the last day back, compute, then let it arrive (a fresh ingest).
    con.execute("CREATE TEMP TABLE held_ev AS SELECT * FROM events WHERE time >= ?", [cut])
    con.execute("CREATE TEMP TABLE held_it AS SELECT * FROM items WHERE created >= ?", [cut])
    con.execute("DELETE FROM events WHERE time >= ?", [cut])
    con.execute("DELETE FROM items WHERE created >= ?", [cut])
    first = compute(con, incremental=True)
    assert first["mode"] == "full" and first["full_reason"] == "no previous compute recorded"
    held = con.execute("SELECT count(*) FROM held_ev").fetchall()[0][0]
    assert held > 5
    con.execute("INSERT INTO events SELECT * REPLACE (now()::TIMESTAMP AS ingested_at) FROM held_ev")
    con.execute("INSERT INTO items SELECT * REPLACE (now()::TIMESTAMP AS ingested_at) FROM held_it")

    summary = compute(con, incremental=True)
    assert summary["mode"] == "incremental", summary.get("full_reason")
    # The last day (2026-04-30) lies in one period of each type.
    assert summary["periods_recomputed"] == ["2026-H1", "2026-04", "2026-Q2", "r90:2026-04-30", "2026-W18"]
    check_equal_to_full(con, summary)


def test_late_events_into_old_periods(company):
    con = company.con
    question = con.execute(
        """SELECT p.item_id FROM items p JOIN items c ON c.parent_id = p.item_id
           WHERE p.kind = 'question' AND p.created BETWEEN ? AND ? GROUP BY p.item_id
           ORDER BY count(*) DESC, p.item_id LIMIT 1""",
        [day(20), day(40)],
    ).fetchall()[0][0]
    # A question arrives late (its answers were there already: their titles and reply reactions change).
    con.execute("CREATE TEMP TABLE held_it AS SELECT * FROM items WHERE item_id = ?", [question])
    con.execute("DELETE FROM items WHERE item_id = ?", [question])
    people = [f"hr:E{i:04d}" for i in range(40)]
    first = compute(con, incremental=False)
    assert first["mode"] == "full"

    con.execute("INSERT INTO items SELECT * REPLACE (now()::TIMESTAMP AS ingested_at) FROM held_it")
    load(con, Batch(events=events([
        {"native_id": "l1", "time": day(33), "actor": people[1], "verb": "Like", "object": "synth:item:7",
         "object_type": "item"},
        {"native_id": "l2", "time": day(34), "actor": people[2], "verb": "Kudos", "object": people[3],
         "object_type": "person", "ctx_item": "synth:item:7"},
        {"native_id": "l3", "time": day(35), "actor": people[4], "verb": "Follow", "object": people[6],
         "object_type": "person"},
    ])))
    summary = compute(con, incremental=True)
    assert summary["mode"] == "incremental", summary.get("full_reason")
    recomputed = set(summary["periods_recomputed"])
    assert {"2026-W05", "2026-W06", "2026-02"} <= recomputed
    assert "2026-W01" not in recomputed
    check_equal_to_full(con, summary)


def test_a_changed_vote_and_a_late_attendee_touch_the_earlier_periods(company):
    con = company.con
    people = [f"hr:E{i:04d}" for i in range(40)]
    load(con, Batch(events=events([
        # A named vote, changed later; a meeting, joined later by one more person.
        {"native_id": "v1", "time": day(2), "actor": people[5], "verb": "Vote", "object": "synth:item:3",
         "object_type": "item", "value": 1.0},
        *[{"native_id": f"a{i}", "time": day(80) + timedelta(hours=i), "actor": people[i], "verb": "Attend",
           "object": "meeting:m1", "object_type": "item"} for i in range(4)],
    ])))
    compute(con, incremental=False)
    load(con, Batch(events=events([
        {"native_id": "v2", "time": day(100), "actor": people[5], "verb": "Vote", "object": "synth:item:3",
         "object_type": "item", "value": -1.0},
        {"native_id": "a9", "time": day(101), "actor": people[9], "verb": "Attend", "object": "meeting:m1",
         "object_type": "item"},
    ])))
    summary = compute(con, incremental=True)
    assert summary["mode"] == "incremental", summary.get("full_reason")
    recomputed = set(summary["periods_recomputed"])
    # The replaced vote's week (W01) and the meeting's week (W12, where its ties count) are touched too.
    assert {"2026-W01", "2026-W12", "2026-W15", "2026-01", "2026-03", "2026-04"} <= recomputed
    assert "2026-W05" not in recomputed
    check_equal_to_full(con, summary)


def test_nothing_new_recomputes_nothing(company):
    con = company.con
    compute(con, incremental=False)
    before = snapshot(con)
    summary = compute(con, incremental=True)
    assert summary["mode"] == "incremental"
    assert summary["periods_recomputed"] == [] and summary["periods"] == 0
    assert snapshot(con) == before


def test_as_of_moving_on(company):
    con = company.con
    compute(con, incremental=False, as_of=day(100))
    summary = compute(con, incremental=True, as_of=AS_OF)
    assert summary["mode"] == "incremental", summary.get("full_reason")
    assert "2026-01" not in summary["periods_recomputed"] and "2026-04" in summary["periods_recomputed"]
    check_equal_to_full(con, summary)


def test_what_forces_a_full_recompute(company):
    con = company.con
    compute(con, incremental=False)
    rules = load_rules()
    rules["reaction"]["full_credit_per_reactor"] = 4.0
    assert compute(con, incremental=True, rules=rules)["full_reason"] == "the rules changed"
    assert compute(con, incremental=True)["full_reason"] == "the rules changed"  # back to the defaults
    con.execute("UPDATE people SET department = 'Legal' WHERE person_id = (SELECT min(person_id) FROM people)")
    assert compute(con, incremental=True)["full_reason"].startswith("people changed")
    con.execute("DELETE FROM events WHERE native_id = 'r5'")
    assert compute(con, incremental=True)["full_reason"].startswith("events or items below the watermark")
    # A compute of chosen periods leaves the rest as it was: the next compute is full.
    compute(con, incremental=False, periods=["2026-02"])
    assert compute(con, incremental=True)["full_reason"] == "no previous compute recorded"
    assert compute(con, incremental=True)["mode"] == "incremental"


def test_cli_compute_is_incremental_unless_full(tmp_path):
    import json

    from typer.testing import CliRunner

    from resonance.cli import app
    from resonance.store import open_store

    db = tmp_path / "cli.duckdb"
    with open_store(db) as store:
        build_company(store.con, n_people=20, n_events=600, days=40, seed=3)
    runner = CliRunner()

    def compute_json(*extra: str) -> dict:
        out = runner.invoke(app, ["compute", "--db", str(db), "--period", "month", "--as-of", "2026-03-01",
                                  "--json", *extra])
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)

    first = compute_json()
    assert first["mode"] == "full" and first["periods"] == 2
    again = compute_json()
    assert again["mode"] == "incremental" and again["periods_recomputed"] == []
    forced = compute_json("--full")
    assert forced["mode"] == "full" and forced["periods_recomputed"] == ["2026-01", "2026-02"]


@pytest.mark.parametrize("batch_rows", [50, 2_000_000])
def test_metric_tables_are_stored_in_order(company, monkeypatch, batch_rows):
    con = company.con
    cut = day(119)
    monkeypatch.setattr(tables, "SORT_BATCH_ROWS", batch_rows)  # many batches, or all parts in one
    con.execute("CREATE TEMP TABLE held_ev AS SELECT * FROM events WHERE time >= ?", [cut])
    con.execute("DELETE FROM events WHERE time >= ?", [cut])
    compute(con, incremental=False)
    full = storage_order(con)
    assert all(breaks == 0 for _, breaks in full.values()), full
    assert all(n > 100 for n, _ in full.values()), full
    con.execute("INSERT INTO events SELECT * REPLACE (now()::TIMESTAMP AS ingested_at) FROM held_ev")
    summary = compute(con, incremental=True)
    assert summary["mode"] == "incremental" and summary["periods_recomputed"]
    after = storage_order(con)
    # The touched periods are deleted and appended again, each together and sorted. The event-level
    # tables keep the other days' rows and append the new day's, sorted: its month breaks once.
    for table, (_, breaks) in after.items():
        assert breaks <= (1 if table in ("metric_contributions", "metric_reactions") else 0), (table, after)
