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

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb
import pydantic_core
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

T = TypeVar("T")

PARTS = (
    ("run", "SELECT max(run_id) FROM metric_runs WHERE status = 'done'"),
    ("ingest", "SELECT max(ingest_id) FILTER (WHERE finished_at IS NOT NULL) FROM ingest_runs"),
    ("identities", "SELECT count(*) FROM identities"),
    ("people", "SELECT count(*) FROM people"),
    ("identity_ops", "SELECT count(*) FROM identity_ops"),
    ("consent_log", "SELECT count(*) FROM consent_log"),
    ("forget_log", "SELECT count(*) FROM forget_log"),
    ("items", "SELECT count(*) FROM items"),
    ("events", "SELECT count(*) FROM events"),
)
"""The fingerprint after the store's path, in order: each part is a metadata read in DuckDB."""
FORGET_FROM_CATALOG = (
    "SELECT coalesce(sum(estimated_size), 0) FROM duckdb_tables() "
    "WHERE database_name = current_database() AND table_name = 'forget_log'"
)
"""The forget log's size when the table does not exist yet (it is created by the first `resonance forget`)."""


def _version_sql(forget_from_catalog: bool) -> str:
    # One statement, its parts as rows (a UNION ALL of metadata reads costs about 0.5 ms; the same
    # reads as scalar sub-queries of one SELECT cost 15 ms of CPU in DuckDB 2.0).
    parts = [FORGET_FROM_CATALOG if forget_from_catalog and name == "forget_log" else sql for name, sql in PARTS]
    return " UNION ALL ".join(f"SELECT {k} AS k, {sql.removeprefix('SELECT ')}" for k, sql in enumerate(parts)) + (
        " ORDER BY k"
    )


VERSION_SQL = _version_sql(False)
VERSION_SQL_NO_FORGET_LOG = _version_sql(True)
INDEX = {name: k + 1 for k, (name, _) in enumerate(PARTS)}
"""Position of each part in `store_version`'s tuple (position 0 is the store's path)."""
SCOPES = {"metrics": INDEX["forget_log"] + 1, "content": INDEX["items"] + 1, "activity": INDEX["events"] + 1}
"""How much of the fingerprint a value depends on (a prefix of the tuple):
- `metrics`: what a compute or an ingest writes (a finished ingest rebuilds the people table in place),
  read through people and consent, and `resonance forget` (which rewrites content in place without
  changing any other count) (figures, periods, evidence, your person record);
- `content`: also the items (advice that points at questions and posts);
- `activity`: also every event (kudos received: each kudos or vote written is an event)."""

_REQUEST: ContextVar[dict | None] = ContextVar("resonance_read_request", default=None)
"""Set by `OneVersionPerRequest` for the duration of a GET: the fingerprint is read once per request."""


def store_version(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """The store's fingerprint (see the module docstring); None when it cannot be read (tables not
    created yet): nothing is cached then."""
    return request_memo("store_version", lambda: _read_version(con))


def _read_version(con: duckdb.DuckDBPyConnection) -> tuple | None:
    path = request_memo("store_path", lambda: _database_path(con))
    for sql in (VERSION_SQL, VERSION_SQL_NO_FORGET_LOG):
        try:
            return (path, *(v for _, v in con.execute(sql).fetchall()))
        except duckdb.CatalogException:
            continue  # no forget log yet, or (both) no metric tables yet
        except duckdb.Error:
            return None
    return None


def _database_path(con: duckdb.DuckDBPyConnection) -> str | None:
    """Which store this is (values of two stores in one process, as in the tests, never mix)."""
    try:
        rows = con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchall()
    except duckdb.Error:
        return None
    return rows[0][0] if rows else None


def request_memo(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()` once per GET request (see `OneVersionPerRequest`); every time outside one.

    For cheap-but-repeated reads a page makes several times (data versions, who opted out)."""
    memo = _REQUEST.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


@contextmanager
def one_version(store: Any) -> Iterator[None]:
    """Within the block, cached reads use one store version and `store`'s path, as within a GET request
    (for background reads on behalf of a request: web/prefetch.py)."""
    token = _REQUEST.set({"store_path": str(store.path)})
    try:
        yield
    finally:
        _REQUEST.reset(token)


class OneVersionPerRequest:
    """ASGI middleware: within one GET or HEAD request (which writes nothing the dashboard shows),
    every cached read uses the store version read by the first one."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        memo: dict = {}
        store = getattr(getattr(scope.get("app"), "state", None), "store", None)
        if store is not None:
            # The server serves one store: its path is known without asking DuckDB.
            memo["store_path"] = str(store.path)
        token = _REQUEST.set(memo)
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
        found = self.peek(con, key, scope)
        if found is not NOT_READY:
            return found
        with self._lock:
            self.misses += 1
        value = compute()
        with self._lock:
            full = (version[: SCOPES[scope]], key)
            self._data[full] = value
            self._data.move_to_end(full)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value

    def peek(self, con: duckdb.DuckDBPyConnection, key: Hashable, scope: str = "activity") -> Any:
        """The cached value for `key` at the store's current version, or `NOT_READY` (nothing is computed)."""
        version = store_version(con)
        if version is None:
            return NOT_READY
        full = (version[: SCOPES[scope]], key)
        with self._lock:
            if full in self._data:
                self._data.move_to_end(full)
                self.hits += 1
                return self._data[full]
        return NOT_READY

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


NOT_READY: Any = type("NotReady", (), {"__repr__": lambda self: "NOT_READY", "__bool__": lambda self: False})()
"""What `ReadCache.peek` returns for a value not computed yet at this store version."""
READS = ReadCache()
"""The process's cache of dashboard reads (keys name the function and its arguments)."""


def cached(con: duckdb.DuckDBPyConnection, key: Hashable, compute: Callable[[], T], scope: str = "activity") -> T:
    """`READS.get(con, key, compute, scope)`."""
    return READS.get(con, key, compute, scope)


def shared_reads(con: duckdb.DuckDBPyConnection, scope: str = "metrics") -> Callable[[Hashable, Callable[[], T]], T]:
    """The engine's `Memo` (resonance.metrics.memo) backed by this cache: what many people's reports and advice
    read in common is read once per store version (the part `scope` names)."""
    return lambda key, compute: READS.get(con, key, compute, scope)


# --- rendered responses -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A rendered response (HTML or JSON bytes) and what serving it again must repeat."""

    body: bytes
    status_code: int
    headers: tuple[tuple[str, str], ...]
    etag: str
    reads: tuple[tuple[str, str, str, str], ...]
    """Access-log rows the build wrote besides the handler's own (subject, endpoint, purpose, method):
    the dashboard's knowledge panels log their read too."""


class ResponseCache:
    """A bounded LRU map from (store version, request key) to a `CachedResponse`, limited in bytes."""

    def __init__(self, max_bytes: int = 96 << 20) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[tuple, CachedResponse] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> CachedResponse | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: tuple, entry: CachedResponse) -> None:
        if len(entry.body) > self.max_bytes // 16:  # one huge page must not flush everybody's
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._data[key] = entry
            self._bytes += len(entry.body)
            while self._bytes > self.max_bytes and self._data:
                _, dropped = self._data.popitem(last=False)
                self._bytes -= len(dropped.body)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0


RESPONSES = ResponseCache()
"""The process's cache of rendered personal pages and API answers (see `cached_response`)."""


def dont_cache_response() -> None:
    """Keep the response of the current request out of the response cache (e.g. the knowledge panels
    are still being prepared: the next view must show them, not this placeholder)."""
    memo = _REQUEST.get()
    if memo is not None:
        memo["dont_cache_response"] = True


def cached_response(request: Request, con: duckdb.DuckDBPyConnection, scope: str,
                    build: Callable[[], Response | BaseModel | list[BaseModel]]) -> Response:
    """The response `build()` makes for this request, from memory when the part of the store it depends on
    (`scope`, see SCOPES) has not changed since it was built for the same account and request.

    Call it after the privacy guard allowed (and logged) the read: a response served from memory writes
    the same access-log rows as building it did, and a repeat view costs a dictionary lookup. The key is
    everything the response depends on besides the store: the signed-in account (user id, name, role,
    person), the session's CSRF token (pages embed it), the path, the query string and whether htmx asked
    for a fragment; one person's response is therefore never served to another. Answers `If-None-Match`
    with 304 (the ETag is a hash of the body). Only 200 responses without cookies are kept."""
    from resonance.privacy.guard import log_access, recording_reads
    from resonance.web.deps import csrf_token, current_principal

    principal = current_principal(request)
    version = store_version(con)
    if principal is None or version is None:
        return _as_response(build())
    key = (version[: SCOPES[scope]], request.url.path, request.url.query, request.headers.get("hx-request"),
           principal.user_id, principal.username, principal.role, principal.person_id, csrf_token(request))
    entry = RESPONSES.get(key)
    if entry is None:
        with recording_reads() as reads:
            response = _as_response(build())
        memo = _REQUEST.get() or {}
        if (response.status_code != 200 or memo.get("dont_cache_response") or response.background is not None
                or any(k.lower() == b"set-cookie" for k, _ in response.raw_headers)):
            return response
        body = bytes(response.body)
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers
                        if k.lower() not in (b"content-length", b"etag"))
        entry = CachedResponse(body, response.status_code, headers, _etag(body), tuple(reads))
        RESPONSES.put(key, entry)
    else:
        for subject, endpoint, purpose, method in entry.reads:
            log_access(con, principal, subject, endpoint, purpose, method)
    if _matches(request.headers.get("if-none-match"), entry.etag):
        return Response(status_code=304, headers={"etag": entry.etag})
    response = Response(entry.body, status_code=entry.status_code, headers={"etag": entry.etag})
    response.raw_headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in entry.headers)
    return response


def _as_response(value: Response | BaseModel | list[BaseModel]) -> Response:
    if isinstance(value, Response):
        return value
    # What FastAPI sends for a returned model or list of models (by alias, nothing excluded), serialised
    # by pydantic's core.
    return Response(pydantic_core.to_json(value, by_alias=True), media_type="application/json")


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags
