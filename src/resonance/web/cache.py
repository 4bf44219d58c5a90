"""A per-process cache of what the dashboard reads, so that a page view does not recompute it.

A dashboard shows figures that change only when the store does: a compute finishes, an ingest
adds events, a kudos or vote is written (an event), identities are merged, someone changes their
consent. `store_version(con)` reads a fingerprint of exactly that (the last finished metric run and
the row counts of the tables those operations append to: about a millisecond, once per request),
and every cached value is keyed by the part of it that the value depends on (`SCOPES`: the figures
do not change with each kudos written, the kudos received do), so a change is seen by the next
request; there is no time-based expiry and nothing to invalidate by hand. The server is the one
process that writes the store (docs/architecture.md), and tests that write through their own
connection change the fingerprint too.

Values are shared between requests: callers must treat them as read-only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, MutableMapping
from contextvars import ContextVar
from typing import Any, TypeVar

import duckdb

T = TypeVar("T")

VERSION_SQL = """
SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()),
       (SELECT max(run_id) FROM metric_runs WHERE status = 'done'),
       (SELECT count(*) FROM identities), (SELECT count(*) FROM people), (SELECT count(*) FROM identity_ops),
       (SELECT count(*) FROM consent_log),
       (SELECT coalesce(sum(estimated_size), 0) FROM duckdb_tables()
        WHERE database_name = current_database() AND table_name = 'forget_log'),
       (SELECT count(*) FROM items), (SELECT count(*) FROM events)
"""
SCOPES = {"metrics": 7, "content": 8, "activity": 9}
"""How much of the fingerprint a value depends on (a prefix of VERSION_SQL's columns):
- `metrics`: what a compute writes, read through people and consent, and `resonance forget` (which
  rewrites content in place without changing any count: the forget log's size, from the catalog as
  the table may not exist) (figures, periods, evidence);
- `content`: also the items (advice that points at questions and posts);
- `activity`: also every event (kudos received: each kudos or vote written is an event)."""

_REQUEST: ContextVar[dict | None] = ContextVar("resonance_read_request", default=None)
"""Set by `OneVersionPerRequest` for the duration of a GET: the fingerprint is read once per request."""


def store_version(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """The store's fingerprint (see the module docstring); None when it cannot be read (tables not
    created yet): nothing is cached then."""
    return request_memo("store_version", lambda: _read_version(con))


def _read_version(con: duckdb.DuckDBPyConnection) -> tuple | None:
    try:
        return tuple(con.execute(VERSION_SQL).fetchall()[0])
    except duckdb.Error:
        return None


def request_memo(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()` once per GET request (see `OneVersionPerRequest`); every time outside one.

    For cheap-but-repeated reads a page makes several times (data versions, who opted out)."""
    memo = _REQUEST.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


class OneVersionPerRequest:
    """ASGI middleware: within one GET or HEAD request (which writes nothing the dashboard shows),
    every cached read uses the store version read by the first one."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        token = _REQUEST.set({})
        try:
            await self.app(scope, receive, send)
        finally:
            _REQUEST.reset(token)


class ReadCache:
    """A bounded LRU map from (store version, key) to a value."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, con: duckdb.DuckDBPyConnection, key: Hashable, compute: Callable[[], T],
            scope: str = "activity") -> T:
        """The cached value for `key` at the store's current version (the part `scope` names, see
        SCOPES), computing it on a miss.

        Exceptions are not cached. Two requests missing at once both compute (no lock held while
        computing: a slow query must not block other readers)."""
        version = store_version(con)
        if version is None:
            return compute()
        full = (version[: SCOPES[scope]], key)
        with self._lock:
            if full in self._data:
                self._data.move_to_end(full)
                self.hits += 1
                return self._data[full]
            self.misses += 1
        value = compute()
        with self._lock:
            self._data[full] = value
            self._data.move_to_end(full)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


READS = ReadCache()
"""The process's cache of dashboard reads (keys name the function and its arguments)."""


def cached(con: duckdb.DuckDBPyConnection, key: Hashable, compute: Callable[[], T], scope: str = "activity") -> T:
    """`READS.get(con, key, compute, scope)`."""
    return READS.get(con, key, compute, scope)
