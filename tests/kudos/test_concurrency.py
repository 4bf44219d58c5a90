"""Exactly once under concurrency, against a real uvicorn server: 50 simultaneous kudos requests
(25 distinct kudos, each sent twice at once) store 25 kudos, 25 events and 25 audit rows; 20
simultaneous kudos from one giver with a budget of 5 store exactly 5."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from tests.kudos.conftest import kudos_server

GIVERS = ["ada", "liam", "sofia", "jonas", "priya"]
RECEIVERS = ["hr:E01", "hr:E02", "hr:E09", "hr:E10", "hr:E11"]


@pytest.fixture(scope="module")
def server(kudos_template, tmp_path_factory):
    rules = "[kudos]\nbudget = 5\nrate_limit_per_minute = 100\n"
    with kudos_server(kudos_template[0], tmp_path_factory.mktemp("concurrency"), rules) as s:
        yield s


def fire(server, requests: list[tuple[str, dict]]) -> list[httpx.Response]:
    """Send every request at the same moment, each from its own connection."""
    start = threading.Barrier(len(requests))

    def one(job: tuple[str, dict]) -> httpx.Response:
        who, body = job
        with httpx.Client(base_url=server.base, timeout=60) as c:
            start.wait()
            return c.post("/api/kudos", json=body, headers=server.bearer(who))

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(one, requests))


def test_fifty_concurrent_kudos_are_stored_exactly_once(server):
    jobs = [(g, {"receiver": r, "message": f"{g} thanks {r}"}) for g in GIVERS for r in RECEIVERS] * 2
    assert len(jobs) == 50
    responses = fire(server, jobs)
    assert Counter(r.status_code for r in responses) == {201: 25, 200: 25}, [r.text for r in responses][:3]
    by_key = Counter((r.json()["kudos_id"], r.status_code) for r in responses)
    assert len({k for k, _ in by_key}) == 25 and all(by_key[(k, 201)] == 1 for k, _ in by_key)
    assert server.rows("SELECT count(*), count(DISTINCT kudos_id) FROM kudos") == [(25, 25)]
    assert server.rows("""SELECT count(*), count(DISTINCT native_id) FROM events
                          WHERE source = 'resonance' AND verb = 'Kudos'""") == [(25, 25)]
    assert server.rows("SELECT count(*) FROM kudos_audit WHERE action = 'kudos'") == [(25,)]
    # Each giver used exactly their budget of 5: the next one is refused.
    r = httpx.post(server.base + "/api/kudos", json={"receiver": "hr:E12"}, headers=server.bearer("ada"))
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_budget_holds_under_concurrency(server):
    jobs = [("tom", {"receiver": r, "item": f"social:item{n:03d}"}) for n in (1, 2) for r in
            RECEIVERS + ["hr:E03", "hr:E04", "hr:E05", "hr:E06", "hr:E07"]]
    responses = fire(server, jobs)
    assert Counter(r.status_code for r in responses) == {201: 5, 429: 15}
    assert server.rows("SELECT count(*) FROM kudos WHERE giver_id = 'hr:E08'") == [(5,)]
    assert server.rows("SELECT count(*) FROM events e JOIN identities i ON i.identity = e.actor "
                       "WHERE e.verb = 'Kudos' AND e.source = 'resonance' AND i.person_id = 'hr:E08'") == [(5,)]
