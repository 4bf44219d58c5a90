"""The authorization matrix: every endpoint × every role against the expected status, and no
personal endpoint ever answers another person's data."""

from __future__ import annotations

import itertools

import pytest
from tests.web.conftest import Web

pytestmark = pytest.mark.xdist_group("web")

ROLES = ("anonymous", "employee", "other", "manager", "analyst", "admin")
PERSONAL_ROLES = ("employee", "other", "manager", "analyst")
_seq = itertools.count()

# Expected status per role for each kind of endpoint.
PERSONAL_API = {"anonymous": 401, "employee": 200, "other": 200, "manager": 200, "analyst": 200, "admin": 403}
PERSONAL_PAGE = {"anonymous": 303, "employee": 200, "other": 200, "manager": 200, "analyst": 200, "admin": 403}
ACCOUNT_API = {"anonymous": 401, "employee": 200, "other": 200, "manager": 200, "analyst": 200, "admin": 200}
ACCOUNT_PAGE = {"anonymous": 303, "employee": 200, "other": 200, "manager": 200, "analyst": 200, "admin": 200}
ADMIN_API = {"anonymous": 401, "employee": 403, "other": 403, "manager": 403, "analyst": 403, "admin": 200}
ADMIN_PAGE = {"anonymous": 303, "employee": 403, "other": 403, "manager": 403, "analyst": 403, "admin": 200}
ORG_API = {"anonymous": 401, "employee": 403, "other": 403, "manager": 200, "analyst": 200, "admin": 403}
"""Org roll-ups: managers (their subtree) and analysts (the company) only."""
ORG_PAGE = {"anonymous": 303, "employee": 403, "other": 403, "manager": 200, "analyst": 200, "admin": 403}
NOT_FOUND_SIGNED_IN = {"anonymous": 401, "employee": 404, "other": 404, "manager": 404, "analyst": 404, "admin": 403}
SHARED_PAGE = {"anonymous": 303, "employee": 404, "other": 404, "manager": 404, "analyst": 404, "admin": 404}
"""A shared review's address that is not yours (or does not exist) is 'not found' for everyone."""
PUBLIC = dict.fromkeys(ROLES, 200)
LOCAL_TOKEN = dict.fromkeys(ROLES, 401)
"""Forwarded CLI jobs: only the local admin token of <db>.server.json, never a session or API token."""


def _created(expected: dict[str, int]) -> dict[str, int]:
    return {k: 201 if v == 200 else v for k, v in expected.items()}


ENDPOINTS: list[tuple[str, str, object, dict[str, int]]] = [
    ("GET", "/health", None, PUBLIC),
    ("GET", "/login", None, {**PUBLIC, **{r: 303 for r in ROLES if r != "anonymous"}}),
    ("GET", "/rules", None, PUBLIC),
    ("GET", "/api/me", None, ACCOUNT_API),
    ("GET", "/api/me/periods", None, ACCOUNT_API),
    ("GET", "/api/me/metrics", None, PERSONAL_API),
    ("GET", "/api/me/metrics?peer_group=department", None, PERSONAL_API),
    ("GET", "/api/me/evidence?metric=reaction", None, PERSONAL_API),
    ("GET", "/api/me/items", None, PERSONAL_API),
    ("GET", "/api/me/kudos", None, PERSONAL_API),
    ("GET", "/api/me/settings", None, PERSONAL_API),
    ("PUT", "/api/me/settings", {"consents": {"expert_finding": False}}, PERSONAL_API),
    ("GET", "/api/me/export", None, PERSONAL_API),
    ("GET", "/api/me/access-log", None, PERSONAL_API),
    ("GET", "/api/me/tokens", None, ACCOUNT_API),
    ("POST", "/api/me/tokens", {"name": "matrix"}, _created(ACCOUNT_API)),
    ("DELETE", "/api/me/tokens/999999", None, {**ACCOUNT_API, **{r: 404 for r in ROLES if r != "anonymous"}}),
    ("GET", "/me", None, PERSONAL_PAGE),
    ("GET", "/me/evidence?metric=activity", None, PERSONAL_PAGE),
    ("GET", "/me/advice", None, PERSONAL_PAGE),
    ("GET", "/me/items", None, PERSONAL_PAGE),
    ("GET", "/me/kudos", None, PERSONAL_PAGE),
    ("GET", "/me/export", None, PERSONAL_PAGE),
    ("GET", "/me/settings", None, ACCOUNT_PAGE),
    ("GET", "/api/experts?q=kubernetes", None, PERSONAL_API),
    ("GET", "/api/me/expertise", None, PERSONAL_API),
    ("GET", "/api/me/opportunities", None, PERSONAL_API),
    ("GET", "/api/me/influence", None, PERSONAL_API),
    ("GET", "/api/me/introductions?to=Acme%20Corp", None, PERSONAL_API),
    ("GET", "/experts?q=kubernetes", None, PERSONAL_PAGE),
    ("GET", "/me/panels/expertise", None, PERSONAL_PAGE),
    ("GET", "/me/panels/opportunities", None, PERSONAL_PAGE),
    ("GET", "/me/panels/influence", None, PERSONAL_PAGE),
    ("GET", "/api/me/advice", None, PERSONAL_API),
    ("GET", "/api/me/advice?peer_group=department", None, PERSONAL_API),
    ("GET", "/api/me/review", None, PERSONAL_API),
    ("GET", "/api/me/review/report?period=2025-09&format=html", None, PERSONAL_API),
    ("GET", "/api/me/review/shares", None, PERSONAL_API),
    ("POST", "/api/me/review/shares", {"period": "2025-09"}, _created(PERSONAL_API)),
    ("DELETE", "/api/me/review/shares/999999", None, NOT_FOUND_SIGNED_IN),
    ("GET", "/api/shared/reviews", None, ACCOUNT_API),
    ("GET", "/me/review", None, PERSONAL_PAGE),
    ("GET", "/shared/review/not-a-real-token", None, SHARED_PAGE),
    ("GET", "/api/org/rollup", None, ORG_API),
    ("GET", "/api/org/rollup?by=manager", None, ORG_API),
    ("GET", "/api/org/flow", None, ORG_API),
    ("GET", "/api/org/key-person", None, ORG_API),
    ("GET", "/api/org/trends", None, ORG_API),
    ("GET", "/api/org/export?by=department&format=csv", None, ORG_API),
    ("GET", "/api/org/export?by=manager&format=parquet", None, ORG_API),
    ("GET", "/api/org/flow?by=location", None, ORG_API),
    ("GET", "/api/org/rollup?by=role&location=Berlin", None, ORG_API),
    ("GET", "/org?by=location&flow_by=location", None, ORG_PAGE),
    ("GET", "/org", None, ORG_PAGE),
    ("GET", "/admin", None, ADMIN_PAGE),
    ("GET", "/admin/quarantine", None, ADMIN_PAGE),
    ("GET", "/admin/users", None, ADMIN_PAGE),
    ("GET", "/store", None, ADMIN_PAGE),
    ("GET", "/api/store", None, ADMIN_API),
    ("GET", "/api/admin/sources", None, ADMIN_API),
    ("GET", "/api/admin/ingests", None, ADMIN_API),
    ("GET", "/api/admin/quarantine", None, ADMIN_API),
    ("GET", "/api/admin/quarantine/reasons", None, ADMIN_API),
    ("GET", "/api/admin/users", None, ADMIN_API),
    ("GET", "/api/admin/auth-log", None, ADMIN_API),
    ("POST", "/api/admin/users", "new-user", _created(ADMIN_API)),
    ("PATCH", "/api/admin/users/liam", {"disabled": False}, ADMIN_API),
    ("POST", "/api/kudos", {"receiver": "hr:E05"}, {**_created(PERSONAL_API)}),
    ("GET", "/api/kudos/given", None, PERSONAL_API),
    # Organiser only; the matrix's people were not in cal:meet1, so it is not found for them.
    ("GET", "/api/kudos/links?meeting=cal:meet1", None, {**PERSONAL_API, **dict.fromkeys(PERSONAL_ROLES, 404)}),
    # Voting 0 (no vote) changes nothing; social:item000 is the employee's own item: they may not vote on it.
    ("POST", "/api/items/social:item000/vote", {"value": 0}, {**PERSONAL_API, "employee": 409}),
    # Chat endpoints exist only when configured (a signing secret, a token); this test server has neither.
    ("POST", "/api/integrations/slack/kudos", None, dict.fromkeys(ROLES, 404)),
    ("POST", "/api/integrations/mattermost/kudos", None, dict.fromkeys(ROLES, 404)),
    ("GET", "/api/admin/jobs", None, LOCAL_TOKEN),
    ("POST", "/api/admin/jobs", {"argv": ["status"], "read_only": True}, LOCAL_TOKEN),
    ("GET", "/api/admin/jobs/1", None, LOCAL_TOKEN),
]


@pytest.fixture(scope="module")
def clients(web: Web):
    out = {}
    for role in ROLES:
        c = web.client(None if role == "anonymous" else role)
        csrf = web.csrf(c) if role != "anonymous" else ""
        out[role] = (c, csrf)
    return out


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS]
)
def test_matrix(web: Web, clients, method: str, path: str, body: object, expected: dict[str, int]):
    for role in ROLES:
        client, csrf = clients[role]
        payload = body
        if body == "new-user":
            payload = {
                "username": f"matrix{next(_seq)}",
                "password": "a-long-enough-password",
                "role": "analyst",
            }
        r = client.request(method, path, json=payload, headers={"X-CSRF-Token": csrf} if csrf else {})
        assert r.status_code == expected[role], f"{role}: {method} {path} -> {r.status_code} {r.text[:200]}"
        if r.status_code >= 400 and path.startswith("/api/"):
            assert r.headers["content-type"] == "application/problem+json"


def test_every_api_route_is_in_the_matrix(web: Web):
    """A new endpoint must be added to the matrix (with its expected statuses)."""
    spec = web.client().get("/openapi.json").json()
    covered = {(m, p.split("?")[0]) for m, p, _, _ in ENDPOINTS}
    covered |= {("GET", "/api/me/item"), ("GET", "/api/rules")}  # checked in the tests below
    declared = {
        (m.upper(), p.replace("{token_id}", "999999").replace("{username}", "liam").replace("{job_id}", "1")
         .replace("{share_id}", "999999").replace("{item_id}", "social:item000"))
        for p, ops in spec["paths"].items()
        for m in ops
    }
    assert declared - covered == set()


def test_personal_endpoints_answer_only_the_callers_data(web: Web, clients):
    """Each person gets their own record whatever they ask for; no endpoint takes a person id."""
    expect = {"employee": "hr:E03", "other": "hr:E04", "manager": "hr:E02"}
    for role, person in expect.items():
        client, _ = clients[role]
        for attempt in ("", "?person_id=hr:E03", "?person=hr:E03&subject=hr:E03"):
            me = client.get("/api/me" + attempt).json()
            assert me["person"]["person_id"] == person
            export = client.get("/api/me/export" + attempt).json()
            assert export["person_id"] == person and export["person"]["person_id"] == person
            kudos = client.get("/api/me/kudos" + attempt).json()
            if role != "employee":
                assert kudos["total"] == 0  # all kudos in the company go to hr:E03
            else:
                assert kudos["total"] == 12
    # Another person's item is not found, not forbidden: its existence is not confirmed.
    other, _ = clients["other"]
    assert other.get("/api/me/item", params={"item_id": web.ids["xss_item"]}).status_code == 404
    mine, _ = clients["employee"]
    assert mine.get("/api/me/item", params={"item_id": web.ids["xss_item"]}).status_code == 200
    for spec in web.client().get("/openapi.json").json()["paths"].values():
        for op in spec.values():
            names = {p["name"] for p in op.get("parameters", [])}
            assert not names & {"person", "person_id", "subject"}, op.get("operationId")


def test_admin_cannot_read_personal_data_even_with_a_token(web: Web):
    c = web.client()
    auth = {"Authorization": f"Bearer {web.tokens['admin']}"}
    for path in ("/api/me/metrics", "/api/me/kudos", "/api/me/export", "/api/me/items", "/api/me/settings"):
        r = c.get(path, headers=auth)
        assert r.status_code == 403 and "never read" in r.json()["detail"]
    assert c.get("/api/me", headers=auth).json()["person"] is None


def test_every_read_of_individual_data_is_in_the_access_log(web: Web):
    c = web.client()
    auth = {"Authorization": f"Bearer {web.tokens['other']}"}
    before = web.rows("SELECT count(*) FROM access_log WHERE subject_person_id = 'hr:E04'")[0][0]
    for path in ("/api/me/metrics", "/api/me/kudos", "/api/me/items", "/api/me/export"):
        assert c.get(path, headers=auth).status_code == 200
    rows = web.rows(
        """SELECT username, role, endpoint, purpose FROM access_log WHERE subject_person_id = 'hr:E04'
           ORDER BY access_id DESC LIMIT 4"""
    )
    assert (
        len(rows) == 4
        and before + 4 == web.rows("SELECT count(*) FROM access_log WHERE subject_person_id = 'hr:E04'")[0][0]
    )
    assert {r[2] for r in rows} == {"/api/me/metrics", "/api/me/kudos", "/api/me/items", "/api/me/export"}
    assert {r[0] for r in rows} == {"liam"} and {r[1] for r in rows} == {"employee"}
    # Refused reads are not logged as reads.
    admin = {"Authorization": f"Bearer {web.tokens['admin']}"}
    c.get("/api/me/metrics", headers=admin)
    assert web.rows("SELECT count(*) FROM access_log WHERE username = 'root'")[0][0] == 0
