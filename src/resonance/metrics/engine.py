"""Where the metric stages run: DuckDB (the store itself) or Apache Spark.

Stages are pure functions from Ibis tables to Ibis tables; an `Engine` gives
them their input tables, materialises intermediate results (so that a result
used by several stages, or an iteration of PageRank, is computed once), and
brings results back as Arrow for the store.

- DuckDB: an Ibis backend over a cursor of the store's own connection; inputs
  are the store's tables, intermediates are temporary tables.
- Spark: a SparkSession (`local[2]` by default, or a master URL); the inputs are
  exported once from the store as Parquet and read by Spark; intermediates are
  checkpointed DataFrames (the lineage is cut, as iterative jobs need).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
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

_counter = itertools.count(1)


class Engine:
    """Input tables, materialisation and results, for one compute run."""

    name = "abstract"
    backend: Any

    def input(self, name: str) -> ibis.Table:
        raise NotImplementedError

    def materialize(self, expr: ibis.Table, name: str) -> ibis.Table:
        raise NotImplementedError

    def upload(self, table: pa.Table, name: str) -> ibis.Table:
        raise NotImplementedError

    def to_arrow(self, expr: ibis.Expr) -> pa.Table:
        return self.backend.to_pyarrow(expr)

    def scalar(self, expr: ibis.Scalar) -> Any:
        return self.backend.execute(expr)

    def release(self, table: ibis.Table) -> None:
        """Drop a materialised intermediate that is no longer needed."""

    @staticmethod
    def table_name(expr: ibis.Table) -> str | None:
        """The plain name of a table the engine materialised or uploaded, else None."""
        op = expr.op()
        name = getattr(op, "name", None) if isinstance(op, ops.DatabaseTable) else None
        return name if name and name.startswith(("_m_", "_u_")) else None

    def close(self) -> None:
        """Free everything the run created."""


class DuckDBEngine(Engine):
    """Stages run inside the store's DuckDB, on a cursor of its connection (own temp tables)."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.cursor = con.cursor()
        self.cursor.execute("SET TimeZone = 'UTC'")
        self.backend = ibis.duckdb.from_connection(self.cursor)
        self._temps: list[str] = []
        for name, sql in INPUT_QUERIES.items():
            self.cursor.execute(f"CREATE OR REPLACE TEMP VIEW _in_{name} AS {sql}")

    def input(self, name: str) -> ibis.Table:
        return self.backend.table(f"_in_{name}")

    def materialize(self, expr: ibis.Table, name: str) -> ibis.Table:
        table_name = f"_m_{name}_{next(_counter)}"
        self._temps.append(table_name)
        return self.backend.create_table(table_name, expr, temp=True, overwrite=True)

    def upload(self, table: pa.Table, name: str) -> ibis.Table:
        table_name = f"_u_{name}_{next(_counter)}"
        self._temps.append(table_name)
        return self.backend.create_table(table_name, table, temp=True, overwrite=True)

    def release(self, table: ibis.Table) -> None:
        name = self.table_name(table)
        if name in self._temps:
            self.cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
            self._temps.remove(name)

    def close(self) -> None:
        for name in self._temps:
            self.cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
        for name in INPUT_QUERIES:
            self.cursor.execute(f"DROP VIEW IF EXISTS _in_{name}")
        self._temps.clear()
        self.cursor.close()


def spark_session(master: str | None = None, warehouse: str | None = None) -> Any:
    """A SparkSession for compute: `local[2]` unless a master URL is given.

    Pinned to UTC; its warehouse in a temporary folder; the UI off (nothing listens)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("resonance-compute")
        .master(master or "local[2]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", warehouse or tempfile.mkdtemp(prefix="resonance-wh-"))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4" if not master or master.startswith("local") else "200")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.driver.memory", os.environ.get("RESONANCE_SPARK_DRIVER_MEMORY", "2g"))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    )
    return builder.getOrCreate()


class SparkEngine(Engine):
    """Stages run on Apache Spark; inputs are exported from the store as Parquet once."""

    name = "spark"

    def __init__(
        self, con: duckdb.DuckDBPyConnection, master: str | None = None, session: Any = None
    ) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="resonance-spark-"))
        self.own_session = session is None
        self.session = session or spark_session(master, warehouse=str(self.workdir / "warehouse"))
        self.backend = ibis.pyspark.connect(self.session)
        self._views: dict[str, Any] = {}
        cur = con.cursor()
        try:
            cur.execute("SET TimeZone = 'UTC'")
            for name, sql in INPUT_QUERIES.items():
                path = self.workdir / f"{name}.parquet"
                cur.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
                df = self.session.read.parquet(str(path))
                df.createOrReplaceTempView(f"_in_{name}")
        finally:
            cur.close()

    def input(self, name: str) -> ibis.Table:
        return self.backend.table(f"_in_{name}")

    def materialize(self, expr: ibis.Table, name: str) -> ibis.Table:
        view = f"_m_{name}_{next(_counter)}"
        df = self.session.sql(self.backend.compile(expr))
        # localCheckpoint computes now and cuts the lineage: later plans stay small.
        df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(view)
        self._views[view] = df
        return self.backend.table(view)

    def upload(self, table: pa.Table, name: str) -> ibis.Table:
        view = f"_u_{name}_{next(_counter)}"
        df = self.session.createDataFrame(
            table.to_pandas() if table.num_rows else [], schema=_spark_schema(table)
        )
        df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(view)
        self._views[view] = df
        return self.backend.table(view)

    def to_arrow(self, expr: ibis.Expr) -> pa.Table:
        # Through Spark's Arrow path; ibis's own conversion keeps the schema ibis expects.
        return self.backend.to_pyarrow(expr)

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
        if self.own_session:
            self.session.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _spark_schema(table: pa.Table) -> Any:
    """A Spark schema for an Arrow table (the few types the stages upload)."""
    from pyspark.sql import types as T

    mapping = {
        pa.string(): T.StringType(),
        pa.large_string(): T.StringType(),
        pa.float64(): T.DoubleType(),
        pa.int64(): T.LongType(),
        pa.int32(): T.IntegerType(),
        pa.bool_(): T.BooleanType(),
        pa.timestamp("us"): T.TimestampNTZType(),
        pa.date32(): T.DateType(),
    }
    return T.StructType([T.StructField(f.name, mapping[f.type], True) for f in table.schema])


def make_engine(
    con: duckdb.DuckDBPyConnection,
    engine: str = "duckdb",
    spark_master: str | None = None,
    spark_session: Any = None,
) -> Engine:
    """The engine named `engine` ('duckdb' or 'spark')."""
    if engine == "duckdb":
        return DuckDBEngine(con)
    if engine == "spark":
        return SparkEngine(con, master=spark_master, session=spark_session)
    raise ValueError(f"unknown engine {engine!r}; use duckdb or spark")
