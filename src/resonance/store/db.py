"""Opening the store: one DuckDB file, migrated on open."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from resonance.store.core_schema import CORE_MIGRATIONS
from resonance.store.migrations import migrate


class Store:
    """A handle on the DuckDB file.

    DuckDB allows one writing process per file; inside that process any number
    of threads may read and write through their own cursors (MVCC). The server
    therefore owns the store and runs ingest and compute as jobs in-process
    (see docs/architecture.md); command-line tools open it directly when no
    server holds it.
    """

    def __init__(self, path: Path | str, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(self.path), read_only=read_only)
        # Times are stored as naive UTC; pin the session zone so casts agree on every machine.
        self._con.execute("SET TimeZone = 'UTC'")
        self._lock = threading.Lock()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The process's main connection. Use `cursor()` from other threads."""
        return self._con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the same database, for one thread or one request."""
        cur = self._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    @contextmanager
    def transaction(self, con: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        con = con or self._con
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def migrate(self) -> None:
        migrate(self._con, "core", CORE_MIGRATIONS)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(path: Path | str, read_only: bool = False) -> Store:
    """Open (creating and migrating if needed) the store at `path`."""
    store = Store(path, read_only=read_only)
    if not read_only:
        store.migrate()
    return store


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> object:
    """First column of the first row, fetched fully (DuckDB 2 has no Relation.fetchone)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None
