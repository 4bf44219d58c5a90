"""Security checks that walk every route the app has (`app.routes`), so a new endpoint is
covered the day it is added: who may call it, CSRF on every state-changing route, CSRF
tokens in every form, no inline script or event handler in any page, framing refused,
session cookies Secure over TLS. Complements test_authorization.py (the expected status
of each endpoint per role) and test_auth.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route
from tests.web.conftest import PASSWORD, Web
from tests.web.test_authorization import ENDPOINTS

from resonance.config import Settings
from resonance.web.app import create_app

pytestmark = pytest.mark.xdist_group("web")

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
PUBLIC = {
    # (method, route path): anyone may call it.
    ("GET", "/health"), ("GET", "/login"), ("POST", "/login"), ("GET", "/rules"), ("GET", "/api/rules"),
    ("GET", "/api/docs"), ("GET", "/openapi.json"), ("GET", "/fragments/empty"),
    ("GET", "/kudos/widget"),  # the embeddable button: shows a colleague's name and asks to sign in
}
CAPABILITY = {
    ("GET", "/k/{token}"), ("POST", "/k/{token}"),  # a signed one-click kudos link (tests/kudos/test_links*.py)
    ("POST", "/api/integrations/slack/kudos"), ("POST", "/api/integrations/mattermost/kudos"),  # signed requests
}
"""Reached with a secret in the URL or a signature instead of a session: a forged one is refused.
(A shared review link also needs the manager to sign in, so it is an ordinary page here.)"""
CHECKED_ELSEWHERE = {("GET", "/api/me/item")}  # test_authorization: another person's item is a 404
LOCAL_TOKEN = {("GET", "/api/admin/jobs"), ("POST", "/api/admin/jobs"), ("GET", "/api/admin/jobs/{job_id}")}
CSRF_EXEMPT = {("POST", "/login")}  # checks its own pre-session token (test_auth.py)
FRAMEABLE: set[str] = set()  # pages a business app may embed (the kudos widget, when it exists)
PARAMS = {"q": "kafka", "question": "kafka", "to": "acme", "item_id": "social:item001", "id": "social:item001",
          "metric": "reaction", "by": "department", "period": "2025-08"}
"""Query parameters some routes require, so that the anonymous check reaches authentication."""
DUMMY = {"username": "nobody-here", "token_id": "999999", "share_id": "999999", "token": "forged-token",
         "job_id": "1"}


def routes() -> list[tuple[str, str]]:
    """Every (method, path template) the app answers, HTML pages and hidden routes included."""
    app = create_app(Settings())
    out = set()
    try:  # FastAPI >= 0.16x keeps included routers as branches: walk them with their prefixes
        from fastapi.routing import iter_route_contexts

        contexts = [(c.path, c.methods) for c in iter_route_contexts(app.routes)]
    except ImportError:
        contexts = [(r.path, r.methods) for r in app.routes if isinstance(r, APIRoute | Route)]
    for path, methods in contexts:
        for method in (methods or set()) - {"HEAD", "OPTIONS"}:
            out.add((method, path))
    assert len(out) > 20, "the route walk found too few routes"
    return sorted(out)


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: DUMMY.get(m.group(1), "x"), path)


def test_every_route_has_an_access_rule():
    """Each route is in the role matrix, public on purpose, or gated by a capability or the local token."""
    covered = set()
    for method, path, _, _ in ENDPOINTS:
        for m, template in routes():
            if m == method and re.fullmatch(re.sub(r"\{\w+(:\w+)?\}", r"[^/]+", template), path.split("?")[0]):
                covered.add((m, template))
    missing = [r for r in routes() if r not in covered | PUBLIC | CAPABILITY | LOCAL_TOKEN | CHECKED_ELSEWHERE]
    # Pages (include_in_schema=False) are checked below for anonymous and wrong-role access.
    missing = [r for r in missing if r[1].startswith("/api/")]
    assert not missing, f"API routes without an access rule: {missing}"


def test_anonymous_callers_get_nothing_but_public_routes(web: Web):
    c = web.client()
    for method, template in routes():
        # Required parameters are given, so that the check reaches authentication.
        r = c.request(method, concrete(template), params=PARAMS, json={} if method in STATE_CHANGING else None)
        where = f"{method} {template} -> {r.status_code}"
        assert r.status_code < 500, where
        if (method, template) in PUBLIC:
            continue
        if (method, template) in CAPABILITY:
            assert r.status_code in (400, 401, 403, 404, 410), where
        elif template.startswith("/api/"):
            # A write with an empty body may be refused as invalid (422) before the caller is
            # checked: nothing is done or answered either way.
            assert r.status_code == 401 or (method in STATE_CHANGING and r.status_code == 422), where
        elif method == "GET":
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), where
        else:
            assert r.status_code in (401, 403, 303, 422), where


def test_employees_reach_no_admin_route(web: Web):
    c = web.client("employee")
    for method, template in routes():
        if "/admin" not in template or (method, template) in LOCAL_TOKEN | PUBLIC:
            continue
        if method in STATE_CHANGING:
            continue  # refused by CSRF first without a token (next test); the matrix covers them with one
        r = c.request(method, concrete(template))
        assert r.status_code == 403, f"{method} {template} -> {r.status_code}"


@pytest.mark.parametrize("role", ["employee", "admin"])
def test_every_state_changing_route_needs_the_csrf_token(web: Web, role: str):
    c = web.client(role)
    csrf = web.csrf(c)
    for method, template in routes():
        if method not in STATE_CHANGING or (method, template) in CSRF_EXEMPT:
            continue
        path = concrete(template)
        for headers, why in (({}, "no token"), ({"X-CSRF-Token": "forged"}, "forged token"),
                             ({"X-CSRF-Token": csrf, "Origin": "https://evil.example"}, "other origin")):
            r = c.request(method, path, json={}, headers=headers)
            assert r.status_code == 403, f"{role}: {method} {template} ({why}) -> {r.status_code}"
            assert "CSRF" in r.text or "another site" in r.text, f"{method} {template}: {r.text[:200]}"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.inline_scripts = 0
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.handlers += [f"<{tag} {k}>" for k in a if k.startswith("on")]
        if any((v or "").strip().lower().startswith("javascript:") for k, v in a.items() if k in ("href", "src",
                                                                                                  "action")):
            self.handlers.append(f"<{tag}> javascript: URL")
        if tag == "form":
            self.forms.append({"method": (a.get("method") or "get").lower(), "action": a.get("action"),
                               "csrf": False})
        if tag == "input" and a.get("name") == "csrf_token" and self.forms:
            self.forms[-1]["csrf"] = bool(a.get("value"))
        if tag == "script":
            self._in_script = "src" not in a
            if a.get("type") == "application/json":
                self._in_script = False  # data, not code (the CSP would not run it anyway)

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


@pytest.mark.parametrize("role", ["employee", "manager", "analyst", "admin"])
def test_pages_have_csrf_in_every_form_no_inline_script_and_refuse_framing(web: Web, role: str):
    c = web.client(role)
    seen = 0
    for method, template in routes():
        if method != "GET" or template.startswith(("/api/", "/static")) or "{" in template:
            continue
        r = c.get(template)
        if r.status_code != 200 or not r.headers.get("content-type", "").startswith("text/html"):
            continue
        seen += 1
        page = _Page()
        page.feed(r.text)
        assert page.inline_scripts == 0 and not page.handlers, f"{template}: inline script {page.handlers}"
        for form in page.forms:
            if form["method"] == "post":
                assert form["csrf"], f"{role}: a POST form on {template} (action {form['action']}) has no CSRF token"
        csp = r.headers["content-security-policy"]
        script_src = csp.split("script-src")[1].split(";")[0]
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, template
        if template not in FRAMEABLE:
            assert "frame-ancestors 'none'" in csp and r.headers["x-frame-options"] == "DENY", template
    assert seen >= 5, f"only {seen} pages rendered for {role}"


def test_session_cookie_is_secure_over_tls_and_hsts_is_sent(web: Web):
    app = create_app(Settings.from_args(db=web.store.path), store=web.store)
    with TestClient(app, base_url="https://resonance.example") as c:
        form = c.get("/login")
        assert form.headers["strict-transport-security"].startswith("max-age=")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        r = c.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token},
                   follow_redirects=False)
        assert r.status_code == 303
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and "resonance_session" in v)
        assert "Secure" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
