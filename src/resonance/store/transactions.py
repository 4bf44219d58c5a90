"""`transaction(con)`: one DuckDB transaction around a block, for every write in the product.

Its own module so that the migrations (which `store.db` imports) can use it too; `resonance.store.db`
re-exports it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block in one transaction on `con`: COMMIT when it ends normally (a `return`
    inside it included), ROLLBACK and re-raise on any exception (BaseException: an interrupt
    must not leave the connection inside an open transaction either). Yields `con`.

    Retry loops for write-write conflicts (`duckdb.TransactionException`) go around the
    `with`: the block is rolled back before the loop sees the error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
