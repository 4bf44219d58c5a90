"""Sign-in, sessions, CSRF, API tokens, throttling, headers, size limits and problem details
against the real server."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from tests.web.conftest import ACCOUNTS, PASSWORD, Web, login

pytestmark = pytest.mark.xdist_group("web")


def test_sign_in_sets_a_hardened_session_cookie_and_sign_out_ends_it(web: Web):
    c = web.client()
    r = login(c, "ada", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/me"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; set over TLS
    token = c.cookies.get("resonance_session")
    assert c.get("/me").status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/me").text).group(1)
    out = c.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    # The old cookie is dead server-side, not only deleted in the browser.
    replay = web.client()
    replay.cookies.set("resonance_session", token)
    assert replay.get("/me").status_code == 303
    assert replay.get("/api/me").status_code == 401


def test_wrong_password_unknown_user_and_disabled_account_are_refused_alike(web: Web):
    assert login(web.client(), "ada", PASSWORD).status_code == 303
    for user, pw in (("ada", "wrong-password-123"), ("nobody-here", PASSWORD)):
        r = login(web.client(), user, pw)
        assert r.status_code == 401
        assert "do not match an active account" in r.text
        assert "resonance_session" not in r.headers.get("set-cookie", "")
    kinds = {
        row[0] for row in web.rows("SELECT action FROM auth_log WHERE username IN ('ada', 'nobody-here')")
    }
    assert {"login_ok", "login_failed"} <= kinds


def test_sign_in_form_needs_its_csrf_token(web: Web):
    c = web.client()
    c.get("/login")
    r = c.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403
    assert "resonance_session" not in c.cookies


def test_next_parameter_only_goes_to_this_site(web: Web):
    assert login(web.client(), "ada", PASSWORD, next_="/me/kudos").headers["location"] == "/me/kudos"
    assert login(web.client(), "ada", PASSWORD, next_="//evil.example/x").headers["location"] == "/me"
    assert login(web.client(), "ada", PASSWORD, next_="https://evil.example").headers["location"] == "/me"


def test_login_is_rate_limited_per_username(web: Web):
    from resonance.web.accounts import create_user

    create_user(web.store.cursor(), "throttled", PASSWORD, "analyst", None, actor="tests")
    c = web.client()
    for _ in range(5):
        assert login(c, "throttled", "not-the-password").status_code == 401
    blocked = login(c, "throttled", PASSWORD)  # even the right password waits
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert web.rows(
        "SELECT count(*) FROM auth_log WHERE action = 'login_throttled' AND username = 'throttled'"
    )[0][0]


def test_state_changing_requests_need_the_csrf_token(web: Web):
    c = web.client("employee")
    body = {"consents": {"expert_finding": True}}
    missing = c.put("/api/me/settings", json=body)
    assert missing.status_code == 403
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["title"] == "CSRF check failed"
    csrf = web.csrf(c)
    assert c.put("/api/me/settings", json=body, headers={"X-CSRF-Token": "x" + csrf}).status_code == 403
    cross = c.put(
        "/api/me/settings", json=body, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    ok = c.put("/api/me/settings", json=body, headers={"X-CSRF-Token": csrf, "Origin": web.base})
    assert ok.status_code == 200 and ok.json()["consents"][2]["granted"] is True
    # Forms carry the token as a field.
    assert c.post("/me/tokens", data={"name": "no token"}).status_code == 403
    assert c.post("/me/tokens", data={"name": "with token", "csrf_token": csrf}).status_code == 200


def test_api_tokens_authenticate_without_cookies_and_can_be_revoked(web: Web):
    c = web.client()
    token = web.tokens["other"]
    me = c.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["person"]["person_id"] == "hr:E04"
    # A bearer-authenticated write needs no CSRF token (no ambient credential to abuse).
    made = c.post(
        "/api/me/tokens", json={"name": "short-lived"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert made.status_code == 201
    new = made.json()
    assert new["token"].startswith("rs_") and new["prefix"] == new["token"][:10]
    stored = web.rows("SELECT token_hash FROM api_tokens WHERE token_id = ?", [new["token_id"]])[0][0]
    assert new["token"] not in stored  # only the hash is kept
    auth = {"Authorization": f"Bearer {new['token']}"}
    assert c.get("/api/me", headers=auth).status_code == 200
    assert c.delete(f"/api/me/tokens/{new['token_id']}", headers=auth).status_code == 204
    assert c.get("/api/me", headers=auth).status_code == 401
    assert c.get("/api/me", headers={"Authorization": "Bearer rs_forged"}).status_code == 401


def test_security_headers_on_pages_api_and_errors(web: Web):
    c = web.client("employee")
    for path in ("/me", "/api/me", "/api/does-not-exist", "/login", "/static/app.css"):
        r = c.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
        if not path.startswith("/static/"):
            assert r.headers["cache-control"] == "no-store"
    page = c.get("/me").text
    assert "<script>" not in page and " style=" not in page and "onclick" not in page


def test_request_bodies_are_limited(web: Web):
    c = web.client()
    big = c.post(
        "/login", content=b"x" * (2 << 20), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert big.status_code == 413
    api = c.put(
        "/api/me/settings",
        content=b"{" + b" " * (2 << 20) + b"}",
        headers={"content-type": "application/json", "Authorization": f"Bearer {web.tokens['employee']}"},
    )
    assert api.status_code == 413
    assert api.headers["content-type"] == "application/problem+json"


def test_errors_are_problem_details(web: Web):
    c = web.client()
    auth = {"Authorization": f"Bearer {web.tokens['employee']}"}
    cases = [
        (c.get("/api/me"), 401),
        (c.get("/api/nope"), 404),
        (c.get("/api/me/evidence?metric=popularity", headers=auth), 422),
        (c.get("/api/me/items?page=0", headers=auth), 422),
        (c.put("/api/me/settings", json={"bogus": 1}, headers=auth), 422),
        (c.post("/api/me", headers=auth), 405),
        (c.get("/api/admin/users", headers=auth), 403),
        (c.get("/api/me/metrics?period=1999-01", headers=auth), 404),
    ]
    for r, status in cases:
        assert r.status_code == status, (r.request.url, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert {"type", "title", "status", "detail", "instance"} <= body.keys()
        assert body["status"] == status and body["instance"] == r.request.url.path
    validation = cases[2][0].json()
    assert validation["errors"][0]["loc"][-1] == "metric"
    assert cases[0][0].headers["www-authenticate"].startswith("Bearer")


def test_pages_send_anonymous_visitors_to_sign_in(web: Web):
    r = web.client().get("/me/kudos?page=2")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fme%2Fkudos%3Fpage%3D2"


def test_api_docs_work_without_inline_script(web: Web):
    c = web.client()
    docs = c.get("/api/docs")
    assert docs.status_code == 200
    assert not re.search(r"<script>(?!</script>)", docs.text.replace("<script src", "")), "inline script"
    for src in re.findall(r'src="([^"]+)"', docs.text):
        assert c.get(src).status_code == 200
    spec = c.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "Problem" in spec["components"]["schemas"]


def test_users_cli(tmp_path):
    db = str(tmp_path / "cli.duckdb")

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "resonance", "users", *args, "--db", db],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    made = run("add", "boss", "--role", "admin", "--password-stdin", stdin="a-long-enough-password\n")
    assert made.returncode == 0, made.stderr
    refused = run("add", "eve", "--role", "employee", "--password-stdin", stdin="a-long-enough-password\n")
    assert refused.returncode != 0 and "must belong to a person" in refused.stderr
    short = run("add", "tiny", "--role", "admin", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "12 characters" in short.stderr
    token = run("token", "boss", "--name", "ci")
    assert token.returncode == 0 and token.stdout.strip().startswith("rs_")
    listed = run("list", "--json")
    assert '"username": "boss"' in listed.stdout


def test_accounts_for_every_role_exist(web: Web):
    roles = dict(web.rows("SELECT username, role FROM users"))
    for username, role, _ in ACCOUNTS.values():
        assert roles[username] == role
