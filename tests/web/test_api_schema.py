"""schemathesis against the OpenAPI schema of the real server: no 5xx, no schema violations.

Signed in through the real sign-in form (session cookie + CSRF header), as an employee for the
personal API and as an admin for the admin API, on accounts no other test depends on.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from tests.web.conftest import PASSWORD, Web, login

from resonance.web.accounts import create_user

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("web")]


@pytest.fixture(scope="module")
def sessions(web: Web) -> dict[str, dict[str, str]]:
    cur = web.store.cursor()
    create_user(cur, "fuzz-employee", PASSWORD, "employee", "hr:E10", actor="tests")  # not in TEAM
    create_user(cur, "fuzz-admin", PASSWORD, "admin", None, actor="tests")
    cur.close()
    out = {}
    for role, user in (("employee", "fuzz-employee"), ("admin", "fuzz-admin")):
        c = web.client()
        login(c, user, PASSWORD)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/me/settings").text).group(1)
        out[role] = {"Cookie": f"resonance_session={c.cookies.get('resonance_session')}", "X-CSRF-Token": csrf}
    return out


def test_api_conforms_to_its_schema(web: Web, sessions: dict[str, dict[str, str]]):
    # schemathesis' own pytest plugin does not load under pytest 9: drive its strategies with hypothesis.
    schema = schemathesis.openapi.from_url(f"{web.base}/openapi.json")
    failures: list[str] = []
    calls: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        role = "admin" if operation.path.startswith(("/api/admin", "/api/store")) else "employee"

        headers = sessions[role]

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            # A generous timeout: a PDF review renders in seconds, many more on a loaded 2-core machine.
            calls.append(case.call_and_validate(base_url=web.base, headers=headers, timeout=90).status_code)  # noqa: B023

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:800]}")
    assert not failures, "\n\n".join(failures)
    assert operations >= 25 and len(calls) >= 10 * operations
    # About half the calls carry a bearer token schemathesis invents (401 by design); of the rest, the
    # share that succeeds shows the fuzzer gets past auth, CSRF and validation into the handlers.
    authenticated = [c for c in calls if c != 401]
    assert 500 not in calls and sum(200 <= c < 300 for c in calls) > len(authenticated) // 4
