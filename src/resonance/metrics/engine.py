"""Where the metric stages run: DuckDB (the store itself) or Apache Spark.

Stages are pure functions from Ibis tables to Ibis tables. They are built over
*unbound* tables (a name and a schema), compiled by Ibis to the engine's SQL
dialect, and run by the engine. An `Engine` gives the stages their input
tables, materialises intermediate results (so that a result used by several
stages, or an iteration of PageRank, is computed once) and brings results back
as Arrow.

- DuckDB: SQL on a cursor of the store's own connection; the inputs are views
  over the store's tables, intermediates are temporary tables.
- Spark: a SparkSession (`local[2]` by default, or a master URL); the inputs are
  exported once from the store as Parquet; intermediates are checkpointed
  DataFrames (the lineage is cut, as iterative jobs need).

Compiled SQL is cached by the expression's structure: table names are
deterministic within a run, so a second compute in the same process (a server,
a test, a benchmark) skips Ibis's compilation.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import Counter, OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.operations as ops
import pyarrow as pa

INPUT_QUERIES = {
    # A person's helpfulness vote on an item can change (kudos/operations.py appends a Vote event per
    # change): only each person's latest vote per item counts, and a latest vote of 0 (withdrawn) none.
    "events": """SELECT source || ':' || native_id AS event_id, time, actor, verb, object, object_type,
                        target, recipients, value, ctx_meeting, ctx_account, ctx_opportunity, ctx_item
                 FROM events WHERE verb <> 'Vote' OR actor IS NULL
                 UNION ALL
                 SELECT * EXCLUDE (latest) FROM (
                     SELECT source || ':' || native_id AS event_id, time, actor, verb, object, object_type,
                            target, recipients, value, ctx_meeting, ctx_account, ctx_opportunity, ctx_item,
                            row_number() OVER (PARTITION BY actor, object ORDER BY time DESC, native_id DESC)
                                AS latest
                     FROM events WHERE verb = 'Vote' AND actor IS NOT NULL)
                 WHERE latest = 1 AND coalesce(value, 1) <> 0""",
    "items": "SELECT item_id, kind, author, parent_id, container, title, created FROM items",
    "identities": "SELECT identity, person_id FROM identities",
    "people": """SELECT person_id, display_name, department, location, role, title,
                        coalesce(is_external, false) AS is_external FROM people""",
}
"""The columns of the store's tables that the metrics read (the engine's inputs)."""

STORED_QUERIES = {
    "stored_contributions": "SELECT event_id, time, person_id, item_id, kind, weight FROM metric_contributions",
    "stored_reactions": """SELECT event_id, time, reactor_id, author_id, item_id, kind, ctx_meeting, ctx_account,
                                  ctx_opportunity, weight FROM metric_reactions""",
}
"""The event-level rows the last compute wrote (read, on demand, by an incremental compute: rows of days
nothing touched are reused as they are)."""

_SQL_CACHE: OrderedDict[tuple[str, ops.Node], str] = OrderedDict()
_SQL_CACHE_SIZE = 2048


class Engine:
    """Input tables, materialisation and results, for one compute run."""

    name = "abstract"
    dialect = "duckdb"

    def __init__(self) -> None:
        self._names: Counter[tuple[str, str]] = Counter()

    # -- naming and compiling -------------------------------------------------------
    def _table_name(self, prefix: str, name: str) -> str:
        """A name unique within the run and the same in every run (so compiled SQL can be reused)."""
        self._names[(prefix, name)] += 1
        return f"_{prefix}_{name}_{self._names[(prefix, name)]}"

    def sql(self, expr: ibis.Expr) -> str:
        """The engine's SQL for an expression over unbound tables (cached by structure)."""
        key = (self.dialect, expr.op())
        cached = _SQL_CACHE.get(key)
        if cached is None:
            cached = self._compile(expr)
            _SQL_CACHE[key] = cached
            if len(_SQL_CACHE) > _SQL_CACHE_SIZE:
                _SQL_CACHE.popitem(last=False)
        else:
            _SQL_CACHE.move_to_end(key)
        return cached

    def _compile(self, expr: ibis.Expr) -> str:
        return ibis.to_sql(expr, dialect=self.dialect)

    @staticmethod
    def table_name(expr: ibis.Table) -> str | None:
        """The name of a table the engine materialised or uploaded, else None."""
        op = expr.op()
        name = getattr(op, "name", None) if isinstance(op, (ops.UnboundTable, ops.DatabaseTable)) else None
        return name if name and name.startswith(("_m_", "_u_")) else None

    # -- what engines implement -------------------------------------------------------
    def input(self, name: str) -> ibis.Table:
        raise NotImplementedError

    def materialize(self, expr: ibis.Table, name: str) -> ibis.Table:
        raise NotImplementedError

    def upload(self, table: pa.Table, name: str) -> ibis.Table:
        raise NotImplementedError

    def to_arrow(self, expr: ibis.Table) -> pa.Table:
        raise NotImplementedError

    def groups(self, expr: ibis.Table, column: str) -> Iterator[tuple[str, pa.Table]]:
        """(value, rows) for each run of equal `column` values of `expr`, which is ordered by it.

        The default collects the whole result; an engine that can stream hands on one group at a
        time, so that Python never holds more than one period's graph."""
        from resonance.metrics.eminence import slices_by

        yield from slices_by(self.to_arrow(expr), column)

    def scalar(self, expr: ibis.Scalar) -> Any:
        table = self.to_arrow(expr.name("value").as_table())
        return table.column(0)[0].as_py() if table.num_rows else None

    def release(self, table: ibis.Table) -> None:
        """Drop a materialised intermediate that is no longer needed."""

    def close(self) -> None:
        """Free everything the run created."""


GROUP_BATCH_ROWS = 1 << 20
"""Rows per record batch when a result is streamed group by group."""


def _schema_of(arrow_schema: pa.Schema) -> ibis.Schema:
    return ibis.Schema.from_pyarrow(arrow_schema)


class DuckDBEngine(Engine):
    """Stages run inside the store's DuckDB, on a cursor of its connection (own temp tables)."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(
        self, con: duckdb.DuckDBPyConnection, memory_limit: str | None = None, temp_dir: str | None = None
    ) -> None:
        super().__init__()
        self.cursor = con.cursor()
        self.cursor.execute("SET TimeZone = 'UTC'")
        self._restore = _limit_memory(self.cursor, memory_limit, temp_dir)
        self._temps: list[str] = []
        self._inputs: dict[str, ibis.Table] = {}
        for name, sql in INPUT_QUERIES.items():
            self.cursor.execute(f"CREATE OR REPLACE TEMP VIEW _in_{name} AS {sql}")

    def input(self, name: str) -> ibis.Table:
        if name not in self._inputs:
            if name in STORED_QUERIES:
                self.cursor.execute(f"CREATE OR REPLACE TEMP VIEW _in_{name} AS {STORED_QUERIES[name]}")
            schema = self.cursor.sql(f"SELECT * FROM _in_{name} LIMIT 0").to_arrow_table().schema
            self._inputs[name] = ibis.table(_schema_of(schema), name=f"_in_{name}")
        return self._inputs[name]

    def materialize(self, expr: ibis.Table, name: str) -> ibis.Table:
        table_name = self._table_name("m", name)
        self._temps.append(table_name)
        self.cursor.execute(f'CREATE OR REPLACE TEMP TABLE "{table_name}" AS {self.sql(expr)}')
        return ibis.table(expr.schema(), name=table_name)

    def upload(self, table: pa.Table, name: str) -> ibis.Table:
        table_name = self._table_name("u", name)
        self._temps.append(table_name)
        self.cursor.register("_upload", table)
        try:
            self.cursor.execute(f'CREATE OR REPLACE TEMP TABLE "{table_name}" AS SELECT * FROM _upload')
        finally:
            self.cursor.unregister("_upload")
        return ibis.table(_schema_of(table.schema), name=table_name)

    def to_arrow(self, expr: ibis.Table) -> pa.Table:
        return self.cursor.sql(self.sql(expr)).to_arrow_table()

    def groups(self, expr: ibis.Table, column: str) -> Iterator[tuple[str, pa.Table]]:
        # Streamed in record batches: a group is complete when a later value starts. The caller
        # must not run statements on the engine's cursor until the iteration ends.
        from resonance.metrics.eminence import slices_by

        reader = self.cursor.sql(self.sql(expr)).to_arrow_reader(GROUP_BATCH_ROWS)
        value: str | None = None
        pending: list[pa.Table] = []
        for batch in reader:
            for part_value, part in slices_by(pa.Table.from_batches([batch]), column):
                if pending and part_value != value:
                    yield value, pa.concat_tables(pending).combine_chunks()
                    pending = []
                value = part_value
                pending.append(part)
        if pending:
            yield value, pa.concat_tables(pending).combine_chunks()

    def release(self, table: ibis.Table) -> None:
        name = self.table_name(table)
        if name in self._temps:
            self.cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
            self._temps.remove(name)

    def close(self) -> None:
        for name in self._temps:
            self.cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
        for name in (*INPUT_QUERIES, *STORED_QUERIES):
            self.cursor.execute(f"DROP VIEW IF EXISTS _in_{name}")
        self._temps.clear()
        for statement in self._restore:
            self.cursor.execute(statement)
        self.cursor.close()


_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$", re.IGNORECASE)


def _limit_memory(cursor: duckdb.DuckDBPyConnection, memory_limit: str | None, temp_dir: str | None) -> list[str]:
    """Bound DuckDB's memory for the compute (beyond it, operators and temporary tables spill to the temp
    directory); returns the statements that restore the previous settings.

    Defaults come from Settings (`RESONANCE_MEMORY_LIMIT`, default 2GB; `RESONANCE_TEMP_DIR`)."""
    from resonance.config import Settings

    settings = Settings()
    limit = memory_limit or settings.compute_memory_limit
    folder = temp_dir or settings.compute_temp_dir
    if not _MEMORY.match(limit):
        raise ValueError(f"memory limit {limit!r}: use a size such as 2GB or 512MB")
    old_limit, old_dir, old_order = cursor.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory'),"
        " current_setting('preserve_insertion_order')"
    ).fetchall()[0]
    restore = [f"SET memory_limit = '{old_limit}'"]
    cursor.execute(f"SET memory_limit = '{limit.strip()}'")
    if folder:
        restore.append(f"SET temp_directory = '{str(old_dir).replace(chr(39), chr(39) * 2)}'")
        cursor.execute(f"SET temp_directory = '{str(folder).replace(chr(39), chr(39) * 2)}'")
    # Insertion order is not needed (every result is sorted when read), and keeping it costs memory.
    cursor.execute("SET preserve_insertion_order = false")
    restore.append(f"SET preserve_insertion_order = {'true' if old_order else 'false'}")
    return restore


def spark_session(master: str | None = None, warehouse: str | None = None) -> Any:
    """A SparkSession for compute: `local[2]` unless a master URL is given or `spark-submit`
    already chose one (its --master, --conf and --packages then apply as given).

    Pinned to UTC; its warehouse in a temporary folder; the UI off (nothing listens)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    # Under spark-submit the driver's JVM exists already (PYSPARK_GATEWAY_PORT) with its master set.
    submitted = master is None and "PYSPARK_GATEWAY_PORT" in os.environ
    builder = (
        SparkSession.builder.appName("resonance-compute")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", warehouse or tempfile.mkdtemp(prefix="resonance-wh-"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if not submitted:
        builder = builder.master(master or "local[2]").config(
            "spark.driver.memory", os.environ.get("RESONANCE_SPARK_DRIVER_MEMORY", "2g")
        )
    session = builder.getOrCreate()
    if session.sparkContext.master.startswith("local"):
        # One shuffle partition per core; adaptive execution pays off on big shuffles, on a
        # laptop's small data it only adds stages. A cluster keeps Spark's defaults; --conf wins.
        given = session.sparkContext.getConf()
        local = {"spark.sql.shuffle.partitions": str(session.sparkContext.defaultParallelism),
                 "spark.sql.adaptive.enabled": "false"}
        for key, value in local.items():
            if not given.contains(key):
                session.conf.set(key, value)
    checkpoints = os.environ.get("RESONANCE_SPARK_CHECKPOINT_DIR")
    if checkpoints:  # reliable checkpoints for iterations (a cluster's HDFS or object store)
        session.sparkContext.setCheckpointDir(checkpoints)
    return session


CHECKPOINTED = {"pr_rank"}
"""Intermediates whose lineage grows with every iteration: checkpointed eagerly on Spark."""

USED_ONCE = {"eminence_b", "knowledge_b", "reach", "network_b", "persona", "percentiles", "net_counts"}
"""Intermediates read only once (by the next stage or by the write): a plain view on Spark, so no
extra job computes them first."""


class SparkEngine(Engine):
    """Stages run on Apache Spark; inputs are exported from the store as Parquet once."""

    name = "spark"
    dialect = "pyspark"

    def __init__(self, con: duckdb.DuckDBPyConnection | None, master: str | None = None, session: Any = None,
                 lake: str | None = None) -> None:
        super().__init__()
        self.workdir = Path(tempfile.mkdtemp(prefix="resonance-spark-"))
        self.own_session = session is None
        self.session = session or spark_session(master, warehouse=str(self.workdir / "warehouse"))
        # The Ibis backend registers its compiler options; SQL then runs through session.sql.
        self.backend = ibis.pyspark.connect(self.session)
        self._views: dict[str, Any] = {}
        self._inputs: dict[str, ibis.Table] = {}
        self._con = con
        if lake is not None:
            # Events (and snapshots, where present) read by Spark from Parquet partitioned by day.
            from resonance.metrics.spark_lake import register_lake_inputs

            self._inputs = register_lake_inputs(self.session, lake, con, self.workdir)
            return
        if con is None:
            raise ValueError("the Spark engine needs a store or an event lake (events_parquet) to read from")
        for name, sql in INPUT_QUERIES.items():
            self._export(name, sql)

    def _export(self, name: str, sql: str) -> None:
        if self._con is None:
            raise ValueError(f"{name} is read from the store, and this Spark engine has none")
        cur = self._con.cursor()
        try:
            cur.execute("SET TimeZone = 'UTC'")
            path = self.workdir / f"{name}.parquet"
            cur.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
            schema = cur.sql(f"SELECT * FROM ({sql}) LIMIT 0").to_arrow_table().schema
            self.session.read.parquet(str(path)).createOrReplaceTempView(f"_in_{name}")
            self._inputs[name] = ibis.table(_schema_of(schema), name=f"_in_{name}")
        finally:
            cur.close()

    def _compile(self, expr: ibis.Expr) -> str:
        return self.backend.compile(expr)

    def input(self, name: str) -> ibis.Table:
        if name not in self._inputs and name in STORED_QUERIES:
            self._export(name, STORED_QUERIES[name])
        return self._inputs[name]

    def _keep(self, df: Any, view: str, checkpoint: bool = False) -> None:
        # A local checkpoint cuts the lineage, so later plans stay small; lazy (computed once, on
        # first use) except in iterations, where each step must exist before the next is planned.
        # With a checkpoint directory set (spark.checkpoint.dir, e.g. on HDFS), iterations are
        # checkpointed reliably there instead: a lost executor then costs no recomputation chain.
        if checkpoint and self.session.sparkContext.getCheckpointDir():
            df = df.checkpoint(eager=True)
        else:
            df = df.localCheckpoint(eager=checkpoint)
        df.createOrReplaceTempView(view)
        self._views[view] = df

    def materialize(self, expr: ibis.Table, name: str) -> ibis.Table:
        view = self._table_name("m", name)
        df = self.session.sql(self.sql(expr))
        if name in USED_ONCE:
            df.createOrReplaceTempView(view)
            self._views[view] = df
        else:
            self._keep(df, view, checkpoint=name in CHECKPOINTED)
        return ibis.table(expr.schema(), name=view)

    def upload(self, table: pa.Table, name: str) -> ibis.Table:
        view = self._table_name("u", name)
        schema = _spark_schema(table)
        # Arrow straight into Spark (no Python rows): PageRank's ranks can be a row per person and period.
        self._keep(self.session.createDataFrame(table, schema=schema), view)
        return ibis.table(_schema_of(table.schema), name=view)

    def to_arrow(self, expr: ibis.Table) -> pa.Table:
        df = self.session.sql(self.sql(expr))
        return df.toArrow() if hasattr(df, "toArrow") else pa.Table.from_pandas(df.toPandas(), preserve_index=False)

    def release(self, table: ibis.Table) -> None:
        name = self.table_name(table)
        df = self._views.pop(name, None) if name else None
        if df is not None:
            self.session.catalog.dropTempView(name)
            df.unpersist()

    def close(self) -> None:
        for name, df in list(self._views.items()):
            self.session.catalog.dropTempView(name)
            df.unpersist()
        self._views.clear()
        for name in self._inputs:
            self.session.catalog.dropTempView(f"_in_{name}")
        if self.own_session:
            self.session.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _spark_schema(table: pa.Table) -> Any:
    """A Spark schema for an Arrow table (the few types the stages upload)."""
    from pyspark.sql import types as T

    def spark_type(t: pa.DataType) -> Any:
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return T.StringType()
        if pa.types.is_floating(t):
            return T.DoubleType()
        if pa.types.is_integer(t):
            return T.LongType()
        if pa.types.is_boolean(t):
            return T.BooleanType()
        if pa.types.is_timestamp(t):
            return T.TimestampNTZType()
        if pa.types.is_date(t):
            return T.DateType()
        if pa.types.is_list(t):
            return T.ArrayType(spark_type(t.value_type))
        raise TypeError(f"cannot upload a column of type {t} to Spark")

    return T.StructType([T.StructField(f.name, spark_type(f.type), True) for f in table.schema])


def make_engine(con: duckdb.DuckDBPyConnection, engine: str = "duckdb", spark_master: str | None = None,
                spark_session: Any = None, events_parquet: str | None = None,
                memory_limit: str | None = None) -> Engine:
    """The engine named `engine` ('duckdb' or 'spark'); Spark reads its events from the Parquet
    lake at `events_parquet` when given (see metrics/lake.py); `memory_limit` bounds DuckDB's memory."""
    if engine == "duckdb":
        if events_parquet:
            raise ValueError("events_parquet needs the spark engine")
        return DuckDBEngine(con, memory_limit=memory_limit)
    if engine == "spark":
        return SparkEngine(con, master=spark_master, session=spark_session, lake=events_parquet)
    raise ValueError(f"unknown engine {engine!r}; use duckdb or spark")
