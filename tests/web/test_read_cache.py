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
