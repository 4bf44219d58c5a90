"""Spark compute from the event lake, and results as Parquet for cluster runs.

- `register_lake_inputs`: the engine's four inputs as Spark views over the lake
  (metrics/lake.py): events from `ROOT/events/day=*/`, items, identities and people
  from the snapshots next to them, or from the store where a snapshot is missing.
  The events view applies, in Spark SQL, the same rules as the store's input
  query (engine.INPUT_QUERIES): event ids `source:native_id`, and of a person's
  helpfulness votes on an item only the latest, withdrawn ones dropped.
- `compute_to_parquet`: the whole pipeline on Spark, results written as Parquet
  under `OUT/<table>/period=<label>/` (the store's metric tables, the same columns)
  with dynamic partition overwrite, so recomputing some periods replaces exactly
  those: no DuckDB store is needed on the cluster.
- `import_metrics`: load such an output (a local folder) into the store's tables,
  period by period, as a compute would have written them.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis

from resonance.metrics.engine import INPUT_QUERIES, SparkEngine, _schema_of
from resonance.metrics.lake import SNAPSHOTS, is_uri, join, normalise_target
from resonance.store.db import transaction

_EVENT_COLS = ("time, actor, verb, object, object_type, target, recipients, value, ctx_meeting, ctx_account, "
               "ctx_opportunity, ctx_item")

EVENTS_SPARK_SQL = f"""
SELECT concat(source, ':', native_id) AS event_id, {_EVENT_COLS}
FROM {{src}} WHERE verb <> 'Vote' OR actor IS NULL
UNION ALL
SELECT event_id, {_EVENT_COLS} FROM (
    SELECT concat(source, ':', native_id) AS event_id, {_EVENT_COLS},
           row_number() OVER (PARTITION BY actor, object ORDER BY time DESC, native_id DESC) AS latest
    FROM {{src}} WHERE verb = 'Vote' AND actor IS NOT NULL)
WHERE latest = 1 AND coalesce(value, 1) <> 0
"""
"""engine.INPUT_QUERIES['events'] in Spark SQL, over the lake's raw event columns."""


def _input_schemas(con: duckdb.DuckDBPyConnection | None) -> dict[str, ibis.Schema]:
    """The Ibis schema of each input, from the store's own tables (an empty in-memory store
    when there is none), so compiled SQL is the same whichever way the data arrives."""
    own = con is None
    if own:
        from resonance.store.core_schema import CORE_MIGRATIONS
        from resonance.store.migrations import migrate

        con = duckdb.connect()
        migrate(con, "core", CORE_MIGRATIONS)
    cur = con.cursor()
    try:
        return {
            name: _schema_of(cur.sql(f"SELECT * FROM ({sql}) LIMIT 0").to_arrow_table().schema)
            for name, sql in INPUT_QUERIES.items()
        }
    finally:
        cur.close()
        if own:
            con.close()


def _exists(session: Any, uri: str) -> bool:
    jvm = session.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return bool(path.getFileSystem(session.sparkContext._jsc.hadoopConfiguration()).exists(path))


def _spark_uri(target: str) -> str:
    return target if is_uri(target) else Path(target).as_uri()


def register_lake_inputs(
    session: Any, lake: str, con: duckdb.DuckDBPyConnection | None, workdir: Path
) -> dict[str, ibis.Table]:
    """Create the views `_in_events`, `_in_items`, `_in_identities`, `_in_people` over the lake.

    `lake` is the export root (holding `events/`) or the events folder itself. A
    snapshot missing next to the events is exported from the store `con` instead."""
    root = _spark_uri(normalise_target(lake))
    events_dir = join(root, "events")
    if not _exists(session, events_dir):
        if not _exists(session, root):
            raise FileNotFoundError(f"no event lake at {lake}: run `resonance export-events --parquet {lake}`")
        events_dir, root = root, root.rsplit("/", 1)[0]  # given the events folder itself
    schemas = _input_schemas(con)
    raw = session.read.option("basePath", events_dir).parquet(events_dir)
    raw.createOrReplaceTempView("_lake_events")
    session.sql(EVENTS_SPARK_SQL.format(src="_lake_events")).createOrReplaceTempView("_in_events")
    for name in SNAPSHOTS:
        where = join(root, name)
        if _exists(session, where):
            session.read.parquet(where).select(*schemas[name].names).createOrReplaceTempView(f"_in_{name}")
            continue
        if con is None:
            raise FileNotFoundError(f"no {name} snapshot at {where} and no store to read {name} from")
        path = workdir / f"{name}.parquet"
        cur = con.cursor()
        try:
            cur.execute(f"COPY ({INPUT_QUERIES[name]}) TO '{path}' (FORMAT parquet)")
        finally:
            cur.close()
        session.read.parquet(str(path)).createOrReplaceTempView(f"_in_{name}")
    return {name: ibis.table(schemas[name], name=f"_in_{name}") for name in INPUT_QUERIES}


def compute_to_parquet(
    out: str,
    events_parquet: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    spark_master: str | None = None,
    spark_session: Any = None,
    periods: list[str] | None = None,
    rules: dict[str, Any] | None = None,
    progress: Any = None,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Run the whole pipeline on Spark and write the metric tables as Parquet under `out`.

    Inputs: the lake `events_parquet` (and its snapshots), else the store `con`.
    Each period table goes to `OUT/<table>/period=<label>/` (only the computed
    periods' folders are replaced), the event-level tables are replaced whole, and
    `OUT/metric_periods/` and `OUT/metric_runs/` record what was computed."""
    from resonance.metrics import pipeline
    from resonance.metrics.periods import periods_table
    from resonance.metrics.persona import persona_rules
    from resonance.metrics.rules import load_rules, rules_hash
    from resonance.metrics.tables import PERIOD_TABLES

    rules = rules if rules is not None else load_rules()
    out_uri = _spark_uri(normalise_target(out))
    started = time.perf_counter()
    timings: dict[str, float] = {}
    eng = SparkEngine(con, master=spark_master, session=spark_session, lake=events_parquet)
    try:
        session = eng.session
        timings["start_engine"] = round(time.perf_counter() - started, 3)
        cutoff = as_of or pipeline._rules_as_of(rules) or datetime.now(UTC).replace(tzinfo=None)
        outputs, chosen, _bounds = pipeline._compute(eng, periods, rules, progress, timings, cutoff)
        t0 = time.perf_counter()
        pipeline._step(progress, "write")
        words = persona_rules(rules)
        rows: dict[str, int] = {}
        for name, expr in outputs.items():
            df = session.sql(eng.sql(expr.select(*pipeline.TABLE_COLUMNS[name])))
            if name == "person_persona":
                df.createOrReplaceTempView("_out_persona")
                def lit(text: str) -> str:
                    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

                rule = "CASE persona " + " ".join(
                    f"WHEN {lit(k)} THEN {lit(v)}" for k, v in words.items() if k != "Engager"
                ) + f" ELSE {lit(words['Engager'])} END"
                df = session.sql(f"SELECT *, {pipeline.PERSONA_REASON_SQL} AS reason, {rule} AS rule FROM _out_persona")
            writer = df.write.mode("overwrite").option("compression", "zstd")
            if name in PERIOD_TABLES:
                df = df.repartition("period")
                writer = df.write.mode("overwrite").option("compression", "zstd")
                writer = writer.option("partitionOverwriteMode", "dynamic").partitionBy("period")
            writer.parquet(join(out_uri, name))
            rows[name] = session.read.parquet(join(out_uri, name)).count() if name not in PERIOD_TABLES else -1
        run_id = int(time.time() * 1000)
        if chosen:
            ptab = periods_table(chosen).to_pandas()
            ptab["run_id"] = run_id
            ptab["computed_at"] = datetime.now(UTC).replace(tzinfo=None)
            (session.createDataFrame(ptab).write.mode("overwrite").option("partitionOverwriteMode", "dynamic")
             .partitionBy("period").parquet(join(out_uri, "metric_periods")))
            labels = [p.label for p in chosen]
            for name in PERIOD_TABLES:
                if name in outputs:
                    rows[name] = session.read.parquet(join(out_uri, name)).filter(
                        f"period IN ({', '.join(repr(x) for x in labels)})").count()
        timings["write"] = round(time.perf_counter() - t0, 3)
        summary = {
            "run_id": run_id,
            "engine": "spark",
            "out": out_uri,
            "events_parquet": events_parquet,
            "as_of": cutoff.isoformat(),
            "periods": len(chosen),
            "period_types": sorted({p.type for p in chosen}),
            "rows": rows,
            "seconds": timings,
            "total_seconds": round(time.perf_counter() - started, 3),
            "rules_hash": rules_hash(rules),
        }
        session.createDataFrame([(run_id, json.dumps(summary))], "run_id long, summary string").write.mode(
            "append").parquet(join(out_uri, "metric_runs"))
        return summary
    finally:
        eng.close()


def import_metrics(con: duckdb.DuckDBPyConnection, out: str | Path) -> dict[str, Any]:
    """Load metric tables written by `compute_to_parquet` (a local folder) into the store.

    The periods found in `OUT/metric_periods` replace the store's rows of those
    periods, in one transaction, as a compute on the store would; the event-level
    tables are replaced whole. Returns rows per table."""
    from resonance.metrics.pipeline import TABLE_COLUMNS
    from resonance.metrics.tables import EVENT_TABLES, PERIOD_TABLES, ensure_metric_tables, insert_in_order

    root = Path(normalise_target(str(out)).removeprefix("file://"))
    if not (root / "metric_periods").is_dir():
        raise FileNotFoundError(f"no metric output at {out} (expected metric_periods/ written by compute --out)")
    ensure_metric_tables(con)

    def src(name: str) -> str:
        pattern = str(root / name / ("**/*.parquet" if name in PERIOD_TABLES + ("metric_periods",) else "*.parquet"))
        return f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true)"

    cur = con.cursor()
    counts: dict[str, int] = {}
    try:
        periods = cur.execute(
            f"SELECT period, period_type, period_start, period_end FROM {src('metric_periods')} ORDER BY period"
        ).fetchall()
        labels = [p[0] for p in periods]
        run_id = int(cur.execute("SELECT nextval('metric_run_seq')").fetchall()[0][0])
        with transaction(cur):
            cur.execute("DELETE FROM metric_periods WHERE period IN (SELECT unnest(?::VARCHAR[]))", [labels])
            cur.executemany(
                """INSERT INTO metric_periods (period, period_type, period_start, period_end, run_id, computed_at)
                   VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)""",
                [[*p, run_id] for p in periods],
            )
            for name in EVENT_TABLES + PERIOD_TABLES:
                if not (root / name).is_dir():
                    continue
                cols = TABLE_COLUMNS[name] + (["reason", "rule"] if name == "person_persona" else [])
                col_list = ", ".join(cols)
                insert = f"INSERT INTO {name} ({col_list}) SELECT {col_list}"
                if name in PERIOD_TABLES:
                    cur.execute(f"DELETE FROM {name} WHERE period IN (SELECT unnest(?::VARCHAR[]))", [labels])
                    cur.execute(f"CREATE OR REPLACE TEMP TABLE _import_rows AS SELECT {col_list} FROM {src(name)}"
                                " WHERE period IN (SELECT unnest(?::VARCHAR[]))", [labels])
                    counts[name] = insert_in_order(cur, name, insert, "_import_rows", True, (), labels)
                    cur.execute("DROP TABLE _import_rows")
                else:
                    cur.execute(f"DELETE FROM {name}")
                    counts[name] = insert_in_order(cur, name, insert, f"(SELECT {col_list} FROM {src(name)})", False)
            cur.execute(
                """INSERT INTO metric_runs (run_id, engine, started_at, finished_at, status, periods, summary)
                   VALUES (?, 'spark-import', now()::TIMESTAMP, now()::TIMESTAMP, 'done', ?, ?)""",
                [run_id, labels, json.dumps({"imported_from": str(root), "rows": counts})],
            )
    finally:
        cur.close()
    return {"run_id": run_id, "periods": len(labels), "rows": dict(sorted(counts.items()))}
