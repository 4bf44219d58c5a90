"""The response cache of the personal dashboard and its API (resonance.web.cache.cached_response), on a
real server: a repeat view is served from memory and still logged, `If-None-Match` gets a 304, a kudos,
a consent change or a finished compute shows on the very next request, and one person's cached page
is never served to anyone else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import markupsafe
import pytest
from tests.web.company import _load, build_company, email
from tests.web.conftest import PASSWORD, compute_metrics, login, serve

from conftest import cursor_rows
from resonance.config import Settings
from resonance.sources.base import BatchBuilder
from resonance.store import Store, open_store
from resonance.web.accounts import create_token, create_user, ensure_auth_schema
from resonance.web.app import create_app
from resonance.web.cache import RESPONSES

USERS = {"ada": ("employee", "hr:E03"), "liam": ("employee", "hr:E04"), "root": ("admin", None)}
PERSONAL = ("/me?peer_group=company", "/api/me", "/api/me/metrics?peer_group=role", "/api/me/periods",
            "/api/me/evidence?metric=activity&page_size=5", "/api/me/kudos?page_size=5")


class Server:
    def __init__(self, base: str, store: Store) -> None:
        self.base, self.store = base, store
        self.tokens = {u: create_token(store.con, u, "tests", actor="tests")[0] for u in USERS}

    def session(self, username: str) -> httpx.Client:
        """A client signed in through the real form (its own session and CSRF token)."""
        c = httpx.Client(base_url=self.base, follow_redirects=False, timeout=30)
        assert login(c, username, PASSWORD).status_code == 303
        return c

    def api(self, username: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30,
                            headers={"Authorization": f"Bearer {self.tokens[username]}"})

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return cursor_rows(self.store, sql, params)

    def reads(self, username: str) -> list[tuple[str, str]]:
        """The access-log rows of `username`, oldest first: (endpoint, purpose)."""
        return self.rows("SELECT endpoint, purpose FROM access_log WHERE username = ? ORDER BY access_id", [username])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    path: Path = tmp_path_factory.mktemp("response-cache") / "store.duckdb"
    store = open_store(path)
    build_company(store.con)
    assert compute_metrics(store)
    ensure_auth_schema(store.con)
    for username, (role, person) in USERS.items():
        create_user(store.con, username, PASSWORD, role, person, actor="tests")
    app = create_app(Settings.from_args(db=path), store=store)
    try:
        with serve(app) as base:
            yield Server(base, store)
    finally:
        store.close()


def _get(c: httpx.Client, path: str, **headers: str) -> httpx.Response:
    r = c.get(path, headers=headers)
    assert r.status_code in (200, 304), (path, r.status_code, r.text[:300])
    return r


def test_a_repeat_view_is_served_from_memory_and_logged_like_the_first(server: Server):
    c = server.session("ada")
    for path in PERSONAL:
        before = len(server.reads("ada"))
        first = _get(c, path)
        logged_first = server.reads("ada")[before:]
        hits = RESPONSES.hits
        second = _get(c, path)
        logged_second = server.reads("ada")[before + len(logged_first):]
        assert RESPONSES.hits == hits + 1, f"{path} was not served from memory"
        assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
        assert second.headers["content-type"] == first.headers["content-type"]
        # The security headers are added to a cached response as to any other.
        assert second.headers["cache-control"] == "no-store" and "default-src 'self'" in second.headers[
            "content-security-policy"]
        # Every read of personal data is logged, served from memory or not, with the same rows (the
        # dashboard page logs its knowledge panels' read too).
        assert logged_second == logged_first
        expected = 0 if path == "/api/me/periods" else 1  # the list of periods is nobody's personal data
        assert len(logged_first) >= expected
    assert ("/me", "dashboard knowledge panels") in server.reads("ada")


def test_browsing_to_another_period_the_advice_panel_loads_after_the_page(server: Server):
    """The page for another period does not wait for the advice: a placeholder asks /me/advice for it
    (an htmx fragment, logged as a read of the person's data); once the advice is known the page shows it
    itself and is cached again."""
    periods = [p["label"] for p in _get(server.session("liam"), "/api/me/periods").json()]
    period = next(p for p in periods if p.startswith("2026-0"))
    shown = 0
    for username, person in (("ada", "hr:E03"), ("liam", "hr:E04")):
        c = server.session(username)
        page = _get(c, f"/me?period={period}")
        assert page.status_code == 200 and 'data-testid="advice-pending"' in page.text
        url = re.search(r'hx-get="(/me/advice\?[^"]+)"', page.text).group(1).replace("&amp;", "&")
        assert f"period={period}" in url
        before = len(server.reads(username))
        fragment = _get(c, url, **{"HX-Request": "true"})
        assert fragment.status_code == 200 and "<html" not in fragment.text
        assert server.reads(username)[before:] == [("/me/advice", "advice")]
        advice = _get(c, f"/api/me/advice?period={period}").json()
        assert advice["person_id"] == person
        for a in advice["advice"]:  # the fragment shows this person's own advice
            assert str(markupsafe.escape(a["title"])) in fragment.text
            shown += 1
        # The advice is known now: the page shows it in place (or no panel when there is none).
        again = _get(c, f"/me?period={period}")
        assert 'data-testid="advice-pending"' not in again.text
        assert ('data-testid="advice"' in again.text) == bool(advice["advice"])
        assert _get(c, f"/me?period={period}").content == again.content
        # Without htmx, a page of its own (a link for browsers without JavaScript).
        full = _get(c, url)
        assert full.status_code == 200 and "<html" in full.text.lower()
    assert shown > 0
    assert server.session("root").get("/me/advice").status_code == 403


def test_if_none_match_is_answered_304_and_the_read_is_still_logged(server: Server):
    c = server.session("ada")
    for path in ("/api/me/metrics?peer_group=company", "/me"):
        etag = _get(c, path).headers["etag"]
        before = len(server.reads("ada"))
        r = _get(c, path, **{"If-None-Match": etag})
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
        assert len(server.reads("ada")) > before, "a 304 is a read of personal data: it is logged"
        assert _get(c, path, **{"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
        assert _get(c, path, **{"If-None-Match": '"stale"'}).status_code == 200


def test_one_persons_cached_response_is_never_served_to_another(server: Server):
    ada, liam = server.session("ada"), server.session("liam")
    for path in PERSONAL:
        _get(ada, path)
        _get(ada, path)  # cached now
    me_ada = _get(ada, "/api/me").json()
    me_liam = _get(liam, "/api/me").json()
    assert me_ada["person"]["person_id"] == "hr:E03" and me_liam["person"]["person_id"] == "hr:E04"
    evidence = "/api/me/evidence?metric=reaction&period=2026-01&page_size=5"
    assert _get(ada, evidence).json()["items"], "Ada has evidence to show (Liam none: never hers)"
    for path in ("/api/me/metrics?peer_group=role", evidence, "/me"):
        a, b = _get(ada, path), _get(liam, path)
        assert a.content != b.content and a.headers["etag"] != b.headers["etag"], path
        # Ada's ETag does not make Liam's request a 304 either.
        assert _get(liam, path, **{"If-None-Match": a.headers["etag"]}).status_code == 200
    assert "Liam Okafor" in _get(liam, "/me").text and "Ada Brook" in _get(ada, "/me").text
    # A second session of the same person gets a page with its own CSRF token, not the first session's.
    tokens = [re.search(r'"X-CSRF-Token": "([^"]+)"', _get(c, "/me").text.replace("&#34;", '"')).group(1)
              for c in (ada, server.session("ada"))]
    assert tokens[0] != tokens[1]
    # The same request from an admin (no personal data) or from nobody is refused, cached answers or not.
    assert server.api("root").get("/api/me/metrics?peer_group=role").status_code == 403
    assert httpx.get(server.base + "/api/me/metrics?peer_group=role").status_code == 401
    # An API token of the same person has its own entries (no session), with the same figures.
    assert server.api("ada").get("/api/me/metrics?peer_group=role").json() == _get(
        ada, "/api/me/metrics?peer_group=role").json()


def test_a_kudos_shows_on_the_next_request(server: Server):
    ada = server.session("ada")
    before = _get(ada, "/api/me/kudos?page_size=5").json()
    assert _get(ada, "/api/me/kudos?page_size=5").json() == before  # served from memory
    page = _get(ada, "/me").text
    assert "for the cache test" not in page
    r = server.api("liam").post("/api/kudos", json={"receiver": "hr:E03", "message": "Thanks for the cache test",
                                                     "values": ["teamwork"]})
    assert r.status_code == 201, r.text
    after = _get(ada, "/api/me/kudos?page_size=5").json()
    assert after["total"] == before["total"] + 1
    assert after["items"][0]["message"] == "Thanks for the cache test"
    assert "Thanks for the cache test" in _get(ada, "/me").text


def test_a_consent_change_and_a_finished_compute_show_on_the_next_request(server: Server):
    ada = server.api("ada")
    path = "/api/me/metrics?peer_group=company"
    shown = ada.get(path).json()
    assert shown["computed"] and not shown["opted_out"]
    assert ada.get(path).json() == shown
    # Consent: opting out shows at once, and so does opting back in.
    for opted_out in (True, False):
        r = ada.put("/api/me/settings", json={"opted_out": opted_out})
        assert r.status_code == 200, r.text
        assert ada.get(path).json()["opted_out"] is opted_out

    # New posts by Ada in the period shown: her figures change when a compute has finished, not before.
    label = shown["period"]["label"]
    start = date.fromisoformat(shown["period"]["start"][:10])
    b = BatchBuilder("social")
    for n in range(3):
        created = datetime.combine(start + timedelta(days=2 + n), datetime.min.time()) + timedelta(hours=10)
        b.item(native_id=f"cache{n}", item_id=f"social:cache{n}", kind="post", author=email("E03"),
               title=f"Cache note {n}", text="<p>notes</p>", tags=["python"], created=created,
               container="eng-forum", file="social.ndjson", line=n + 1)
        b.event(native_id=f"cachecreate{n}", time=created, actor=email("E03"), verb="Create",
                object=f"social:cache{n}", object_type="item", file="social.ndjson", line=n + 1)
    _load(server.store.con, "social", b)
    before = shown["metrics"]["activity"]["value"]
    assert ada.get(path).json()["metrics"]["activity"]["value"] == before, "not computed yet"
    assert compute_metrics(server.store)
    now = ada.get(path).json()
    assert now["period"]["label"] == label and now["metrics"]["activity"]["value"] > before
    assert ada.get(path).json() == now


def test_the_evidence_behind_the_dashboard_is_read_ahead_for_its_person_only(server: Server):
    from resonance.web.cache import READS
    from resonance.web.prefetch import PREFETCH

    ada, liam = server.session("ada"), server.session("liam")
    READS.clear()
    RESPONSES.clear()
    page = _get(ada, "/me?peer_group=department").text
    label = re.search(r"/me/evidence\?metric=activity&amp;period=([^\"&]+)", page).group(1)
    assert PREFETCH.wait(30)
    for metric in ("activity", "reaction", "eminence", "network", "knowledge_value"):
        path = f"/api/me/evidence?metric={metric}&page_size=20&period={label}"
        misses = READS.misses
        _get(ada, path)
        assert READS.misses == misses, f"{metric}: the evidence was read ahead"
        # What was read ahead for Ada is hers: Liam's same request reads his own.
        _get(liam, path)
        assert READS.misses == misses + 1, metric
