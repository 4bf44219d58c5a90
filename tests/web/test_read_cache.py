"""The dashboard's read cache (resonance.web.cache): a value is reused while the part of the store it
depends on is unchanged, and recomputed as soon as it changes, with nothing to invalidate by hand."""

from __future__ import annotations

import asyncio

from resonance.metrics.tables import ensure_metric_tables
from resonance.privacy.schema import ensure_privacy_schema
from resonance.web.cache import OneVersionPerRequest, ReadCache, request_memo, store_version


def _counting():
    calls = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    return calls, compute


def test_values_follow_the_part_of_the_store_they_depend_on(store):
    con = store.con
    cache = ReadCache()
    # Before any compute there are no metric tables: nothing is cached.
    assert store_version(con) is None
    before_calls, before = _counting()
    assert [cache.get(con, "x", before, "metrics") for _ in range(2)] == [1, 2]
    ensure_metric_tables(con)
    ensure_privacy_schema(con)
    figures_calls, figures = _counting()
    kudos_calls, kudos = _counting()
    assert cache.get(con, "figures", figures, "metrics") == 1
    assert cache.get(con, "figures", figures, "metrics") == 1
    assert cache.get(con, "kudos", kudos, "activity") == 1
    # A kudos (an event) changes what is received, not the figures.
    con.execute("""INSERT INTO events (source, native_id, time, actor, verb, object, object_type)
                   VALUES ('resonance', 'k1', now()::TIMESTAMP, 'email:a@x.example', 'Kudos', 'email:b@x.example',
                           'person')""")
    assert cache.get(con, "kudos", kudos, "activity") == 2
    assert cache.get(con, "figures", figures, "metrics") == 1
    # A finished compute changes the figures.
    con.execute("""INSERT INTO metric_runs (run_id, engine, started_at, status)
                   VALUES (1, 'duckdb', now()::TIMESTAMP, 'running')""")
    assert cache.get(con, "figures", figures, "metrics") == 1, "a running compute changes nothing yet"
    con.execute("UPDATE metric_runs SET status = 'done' WHERE run_id = 1")
    assert cache.get(con, "figures", figures, "metrics") == 2
    assert cache.get(con, "figures", figures, "metrics") == 2
    assert (len(figures_calls), len(kudos_calls)) == (2, 2)
    # `resonance forget` rewrites content in place (no count changes) and appends to its log.
    con.execute("CREATE TABLE IF NOT EXISTS forget_log (n INTEGER)")
    con.execute("INSERT INTO forget_log VALUES (1)")
    assert cache.get(con, "figures", figures, "metrics") == 3
    # Another store never sees this one's values.
    other = ReadCache()
    assert other.get(con, "figures", figures, "metrics") == 4


def test_the_store_version_is_read_once_per_get_request_only():
    seen: list[int] = []

    async def app(scope, receive, send):
        seen.append(request_memo("n", lambda: len(seen)))
        seen.append(request_memo("n", lambda: -1))

    middleware = OneVersionPerRequest(app)
    asyncio.run(middleware({"type": "http", "method": "GET"}, None, None))
    assert seen == [0, 0]
    seen.clear()
    asyncio.run(middleware({"type": "http", "method": "POST"}, None, None))
    assert seen == [0, -1], "a write request reads afresh every time"


def test_a_response_marked_not_to_be_kept_is_built_again(store):
    """The knowledge panels mark a page built while their index is being prepared: the next view must
    build it again (and then keep it)."""
    from starlette.requests import Request
    from starlette.responses import Response

    from resonance.privacy.guard import Principal
    from resonance.web.cache import RESPONSES, cached_response, dont_cache_response

    ensure_metric_tables(store.con)
    ensure_privacy_schema(store.con)
    built: list[int] = []

    def build() -> Response:
        built.append(1)
        if len(built) == 1:
            dont_cache_response()  # still preparing
        return Response(f"view {len(built)}".encode(), media_type="text/plain")

    bodies: list[bytes] = []

    async def app(scope, receive, send):
        bodies.append(bytes(cached_response(Request(scope), store.con, "activity", build).body))

    principal = Principal(7, "someone", "employee", "hr:X")
    for _ in range(3):
        scope = {"type": "http", "method": "GET", "path": "/me", "query_string": b"", "headers": [],
                 "state": {"principal": principal, "session": None}}
        asyncio.run(OneVersionPerRequest(app)(scope, None, None))
    assert bodies == [b"view 1", b"view 2", b"view 2"]
    RESPONSES.clear()


def test_a_finished_ingest_changes_the_figures_scope(store):
    """An ingest rebuilds `people` in place (same row count): a changed department must show after it."""
    con = store.con
    ensure_metric_tables(con)
    ensure_privacy_schema(con)
    cache = ReadCache()
    calls, compute = _counting()
    assert cache.get(con, "person", compute, "metrics") == 1
    con.execute("""INSERT INTO ingest_runs (ingest_id, kind, started_at, status)
                   VALUES (nextval('ingest_run_seq'), 'directory', now()::TIMESTAMP, 'running')""")
    assert cache.get(con, "person", compute, "metrics") == 1, "a running ingest changes nothing yet"
    con.execute("UPDATE ingest_runs SET finished_at = now()::TIMESTAMP, status = 'done'")
    assert cache.get(con, "person", compute, "metrics") == 2
    assert cache.get(con, "person", compute, "metrics") == 2 and len(calls) == 2
