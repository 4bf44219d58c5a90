"""Opening the store: one DuckDB file, migrated on open."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from resonance.store.core_schema import CORE_MIGRATIONS
from resonance.store.migrations import migrate
from resonance.store.transactions import transaction


class Store:
    """A handle on the DuckDB file.

    DuckDB allows one writing process per file; inside that process any number
    of threads may read and write through their own cursors (MVCC). The server
    therefore owns the store and runs ingest and compute as jobs in-process
    (see docs/architecture.md); command-line tools open it directly when no
    server holds it.
    """

    def __init__(
        self, path: Path | str, read_only: bool = False, connection: duckdb.DuckDBPyConnection | None = None
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._owns_file = connection is None
        if connection is None:
            if not read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = duckdb.connect(str(self.path), read_only=read_only)
            _register_open(self.path)
        self._con = connection
        # Times are stored as naive UTC; pin the session zone so casts agree on every machine.
        self._con.execute("SET TimeZone = 'UTC'")
        self._lock = threading.Lock()
        self._closed = False

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The process's main connection. Use `cursor()` from other threads."""
        return self._con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the same database, for one thread or one request."""
        cur = self._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    def view(self) -> Store:
        """A Store over a new cursor of the same database, for one job or thread.

        Closing the view closes only its cursor; the database stays open."""
        return Store(self.path, read_only=self.read_only, connection=self._con.cursor())

    @contextmanager
    def transaction(self, con: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction on `con` (default: the main connection); see the module-level `transaction`."""
        with transaction(con or self._con) as txn:
            yield txn

    def migrate(self) -> None:
        migrate(self._con, "core", CORE_MIGRATIONS)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._con.close()
        if self._owns_file:
            _register_close(self.path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(path: Path | str, read_only: bool = False) -> Store:
    """Open (creating and migrating if needed) the store at `path`.

    The first writer to open the file in this process is its only writer (DuckDB
    locks the file against other processes), so anything a dead process left
    half-done is recovered here: see `store/recovery.py`."""
    store = Store(path, read_only=read_only)
    if not read_only:
        store.migrate()
        if _open_count(store.path) == 1:
            from resonance.store.recovery import recover_after_crash

            recover_after_crash(store.con)
    return store


# DuckDB shares one database instance between the connections of a process, so
# "first open in this process" is what tells us no live writer can be mid-work.
_OPEN: dict[str, int] = {}
_OPEN_LOCK = threading.Lock()


def _key(path: Path) -> str:
    return str(path.absolute())


def _register_open(path: Path) -> None:
    with _OPEN_LOCK:
        _OPEN[_key(path)] = _OPEN.get(_key(path), 0) + 1


def _register_close(path: Path) -> None:
    with _OPEN_LOCK:
        left = _OPEN.get(_key(path), 1) - 1
        if left <= 0:
            _OPEN.pop(_key(path), None)
        else:
            _OPEN[_key(path)] = left


def _open_count(path: Path) -> int:
    with _OPEN_LOCK:
        return _OPEN.get(_key(path), 0)


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> object:
    """First column of the first row, fetched fully (DuckDB 2 has no Relation.fetchone)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None
