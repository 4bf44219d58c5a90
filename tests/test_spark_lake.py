"""The event lake (events as Parquet partitioned by day) and Spark computing from it.

- export: one folder per day, incremental (only changed days are rewritten, each whole),
  idempotent, days without events removed; through DuckDB for a folder, through Spark for a URI;
- compute: Spark reading the lake gives the same metric tables as DuckDB on the store, whether
  it writes them into the store or as Parquet (`--out`) loaded back with `import-metrics`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import duckdb
import pytest

from conftest import rows
from metric_tables import differences, snapshot, storage_order
from metrics_synth import build_company
from resonance.metrics.lake import export_events, exported_days, lake_summary
from resonance.metrics.pipeline import run_pipeline
from resonance.store import open_store

AS_OF = datetime(2026, 12, 31)


def day_counts(store) -> dict[str, int]:
    return {d.isoformat(): n for d, n in rows(store, "SELECT CAST(time AS DATE), count(*) FROM events GROUP BY 1")}


def lake_counts(root) -> dict[str, int]:
    got = duckdb.sql(
        f"SELECT day::VARCHAR, count(*) FROM read_parquet('{root}/events/*/*.parquet', hive_partitioning = true)"
        " GROUP BY 1"
    ).fetchall()
    return dict(got)


def files_of(root, day: str) -> dict[str, int]:
    folder = root / "events" / f"day={day}"
    return {p.name: p.stat().st_ino for p in folder.iterdir()}


def add_events(store, day: str, n: int, ingest_id: int) -> None:
    store.con.execute(
        """INSERT INTO events (source, native_id, time, actor, verb, object, object_type, ingest_id)
           SELECT 'test', 'extra-' || ? || '-' || i, CAST(? AS TIMESTAMP) + INTERVAL 3 HOUR, 'hr:E0001', 'Like',
                  (SELECT min(item_id) FROM items), 'item', ?
           FROM range(?) t(i)""",
        [day, day, ingest_id, n],
    )


def test_export_is_incremental_idempotent_and_per_day(tmp_path):
    db, lake = tmp_path / "lake.duckdb", tmp_path / "lake"
    with open_store(db) as store:
        build_company(store.con, n_people=25, n_events=800, days=20, seed=5)
    # The command line, on a closed store file.
    cli = subprocess.run([sys.executable, "-m", "resonance", "export-events", "--parquet", str(lake), "--db", str(db),
                          "--json"], capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    first = json.loads(cli.stdout)
    wrong = subprocess.run([sys.executable, "-m", "resonance", "compute", "--events-parquet", str(lake), "--db",
                            str(db)], capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and "need --engine spark" in wrong.stderr
    with open_store(db) as store:
        days = day_counts(store)
        assert len(days) >= 15 and first["days_written"] == len(days) and first["events_written"] == 800
        assert lake_counts(lake) == days
        assert lake_summary(lake) == {"days": [f"day={d}" for d in sorted(days)],
                                      "snapshots": ["identities", "items", "people"]}
        n_items = rows(store, "SELECT count(*) FROM items")[0][0]
        assert duckdb.sql(f"SELECT count(*) FROM '{lake}/items/*.parquet'").fetchall()[0][0] == n_items
        assert first["snapshots"]["people"] == rows(store, "SELECT count(*) FROM people")[0][0]

        # Nothing new: no day is rewritten (the files are the very same).
        before = {d: files_of(lake, d) for d in days}
        again = export_events(store.con, lake)
        assert (again.days_written, again.days_removed, again.days_unchanged) == ([], [], len(days))
        assert {d: files_of(lake, d) for d in days} == before

        # New events on one existing day and on a day never seen: exactly those two days rewritten.
        old_day, new_day = sorted(days)[3], "2027-02-01"
        add_events(store, old_day, 5, ingest_id=900)
        add_events(store, new_day, 7, ingest_id=900)
        third = export_events(store.con, lake)
        assert third.days_written == [old_day, new_day] and third.events_written == days[old_day] + 5 + 7
        assert lake_counts(lake) == day_counts(store)
        untouched = [d for d in days if d != old_day]
        assert {d: files_of(lake, d) for d in untouched} == {d: before[d] for d in untouched}
        assert files_of(lake, old_day) != before[old_day]

        # A day whose events are gone (erased) loses its folder; the rest stays.
        store.con.execute("DELETE FROM events WHERE CAST(time AS DATE) = ?", [new_day])
        fourth = export_events(store.con, lake)
        assert (fourth.days_written, fourth.days_removed) == ([], [new_day])
        assert not (lake / "events" / f"day={new_day}").exists()
        assert lake_counts(lake) == day_counts(store)
        assert exported_days(store.con, lake) == sorted(day_counts(store).items())

        # --full rewrites every day and cleans up folders the store knows nothing about.
        (lake / "events" / "day=1999-01-01").mkdir()
        full = export_events(store.con, lake, full=True)
        assert len(full.days_written) == len(day_counts(store)) and full.days_removed == ["1999-01-01"]
        assert lake_counts(lake) == day_counts(store)


def changed_votes(store) -> None:
    """Named helpfulness votes changed over time (only the latest counts; a withdrawn one none),
    so the lake's Spark SQL twin of the store's input query is exercised."""
    items = [r[0] for r in rows(store, "SELECT item_id FROM items ORDER BY item_id LIMIT 3")]
    votes = [("v1", "hr:E0002", items[0], "2026-01-10 10:00", 1.0), ("v2", "hr:E0002", items[0], "2026-01-12", -1.0),
             ("v3", "hr:E0003", items[1], "2026-01-11", 1.0), ("v4", "hr:E0003", items[1], "2026-01-20", 0.0),
             ("v5", "hr:E0004", items[2], "2026-01-15", 1.0)]
    store.con.executemany(
        """INSERT INTO events (source, native_id, time, actor, verb, object, object_type, value, ingest_id)
           VALUES ('kudos', ?, CAST(? AS TIMESTAMP), ?, 'Vote', ?, 'item', ?, 901)""",
        [[n, t, a, o, v] for n, a, o, t, v in votes],
    )


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_from_the_lake_gives_the_same_tables_as_duckdb(store, spark, tmp_path):
    from resonance.metrics.spark_lake import compute_to_parquet, import_metrics

    build_company(store.con, n_people=30, n_events=1500, days=45, seed=2)
    changed_votes(store)
    periods = ["month", "r90"]
    run_pipeline(store.con, periods=periods, as_of=AS_OF)
    on_duckdb = snapshot(store.con)
    assert sum(len(v) for v in on_duckdb.values()) > 1000

    # A URI lake (written through Spark, as hdfs:// or s3a:// would be), computed into the store.
    uri = (tmp_path / "uri-lake").as_uri()
    report = export_events(store.con, uri, spark_session=spark)
    assert report.events_written == rows(store, "SELECT count(*) FROM events")[0][0]
    assert lake_counts(tmp_path / "uri-lake") == day_counts(store)
    summary = run_pipeline(store.con, engine="spark", periods=periods, spark_session=spark, as_of=AS_OF,
                           events_parquet=uri)
    print("spark from the lake", summary["total_seconds"], "s:", summary["seconds"])
    assert summary["engine"] == "spark" and summary["periods"] == 4
    assert differences(on_duckdb, snapshot(store.con)) == []

    # A folder lake (written by DuckDB), computed to Parquet with no store, loaded into a fresh store.
    export_events(store.con, tmp_path / "lake")
    out = tmp_path / "out"
    summary = compute_to_parquet(str(out), events_parquet=str(tmp_path / "lake"), spark_session=spark,
                                 periods=periods, as_of=AS_OF)
    assert summary["periods"] == 4 and summary["rows"]["person_metrics"] == len(on_duckdb["person_metrics"])
    assert any(p.name.startswith("period=r90") for p in (out / "person_metrics").iterdir())
    with open_store(tmp_path / "imported.duckdb") as fresh:
        loaded = import_metrics(fresh.con, out)
        assert loaded["periods"] == 4
        # Stored in the order the dashboard reads (tables.STORAGE_ORDER), as a compute in the store writes.
        assert all(breaks == 0 for _, breaks in storage_order(fresh.con).values())
        assert differences(on_duckdb, snapshot(fresh.con)) == []
        reasons = rows(fresh, "SELECT count(*) FROM person_persona WHERE reason IS NULL OR rule IS NULL")[0][0]
        assert reasons == 0
        assert rows(fresh, "SELECT reason, rule FROM person_persona ORDER BY ALL") == rows(
            store, "SELECT reason, rule FROM person_persona ORDER BY ALL")


def test_auto_pagerank_stays_distributed_on_spark_above_the_collect_limit(store):
    """`eminence.pagerank = "auto"`: igraph on DuckDB; on Spark, the join-based iteration once the
    endorsement graph has more edges than `collect_max_edges` (counted by the engine)."""
    import pyarrow as pa

    from resonance.metrics.eminence import pagerank_method
    from resonance.metrics.engine import DuckDBEngine
    from resonance.metrics.rules import load_rules

    cfg = load_rules()["eminence"]
    assert cfg["pagerank"] == "auto"
    eng = DuckDBEngine(store.con)
    try:
        edges = eng.upload(pa.table({"period": ["2026-01"] * 3, "src": ["a", "b", "c"], "dst": ["b", "c", "a"],
                                     "weight": [1.0, 2.0, 3.0]}), "edges")
        assert pagerank_method(eng, edges, {**cfg, "collect_max_edges": 0}) == "igraph"  # DuckDB holds it all
        eng.name = "spark"  # the decision as the Spark engine takes it, on the same counted table
        assert pagerank_method(eng, edges, {**cfg, "collect_max_edges": 3}) == "igraph"
        assert pagerank_method(eng, edges, {**cfg, "collect_max_edges": 2}) == "ibis"
        assert pagerank_method(eng, edges, {**cfg, "pagerank": "igraph", "collect_max_edges": 0}) == "igraph"
        with pytest.raises(ValueError, match="auto"):
            pagerank_method(eng, edges, {**cfg, "pagerank": "graphx"})
    finally:
        eng.close()
