"""Knowledge on the web: expert finding honours consent and opt-out; personal knowledge endpoints
answer only the caller, through the privacy guard, and are in the access log; the dashboard shows
the knowledge panels."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from tests.web.conftest import Web

from resonance.privacy.consent import set_consent

pytestmark = pytest.mark.xdist_group("web")


@contextmanager
def consents(web: Web, choices: dict[tuple[str, str], bool]):
    """Set consent choices through the consent module (audited), and restore them afterwards."""
    cur = web.store.cursor()
    before = {
        key: cur.execute("SELECT granted FROM consent WHERE person_id = ? AND purpose = ?", list(key)).fetchall()
        for key in choices
    }
    try:
        for (person, purpose), granted in choices.items():
            set_consent(cur, person, purpose, granted, changed_by="tests", via="tests")
        yield
    finally:
        for (person, purpose), rows in before.items():
            set_consent(cur, person, purpose, rows[0][0] if rows else purpose == "analytics", changed_by="tests",
                        via="tests")
        cur.close()


def test_experts_suggest_only_people_who_opted_in(web: Web):
    ada = web.client("employee")
    params = {"q": "Notes on topic details", "tags": "kubernetes,python"}
    # Other tests in this group share the store and may have opted someone in (the API fuzzer signs in
    # as hr:E10 and can post consent): start from the default, everyone off, for this check.
    cur = web.store.cursor()
    granted = cur.execute("SELECT person_id FROM consent WHERE purpose = 'expert_finding' AND granted").fetchall()
    cur.close()
    with consents(web, {(person, "expert_finding"): False for (person,) in granted}):
        nobody = ada.get("/api/experts", params=params).json()
    assert nobody["experts"] == [] and nobody["not_suggested"] > 0  # "Suggest me as an expert" is off by default

    opted_in = {f"hr:E{n:02d}" for n in (4, 5, 6, 7, 9, 10)}
    with consents(web, {(p, "expert_finding"): True for p in opted_in} | {("hr:E05", "analytics"): False}):
        result = ada.get("/api/experts", params=params).json()
        people = [e["person"] for e in result["experts"]]
        assert people and set(people) <= opted_in - {"hr:E05"}  # E05 opted out of analytics: never shown
        assert [e["rank"] for e in result["experts"]] == list(range(1, len(people) + 1))
        assert all(e["why"] and e["evidence"] for e in result["experts"])
        for e in result["experts"]:
            assert "hr:E05" not in {step["person"] for step in e["path"] or []}
        page = ada.get("/experts", params=params)
        assert page.status_code == 200 and page.text.count('data-testid="expert"') == len(people)

    admin = web.client("admin")
    assert admin.get("/api/experts", params=params).status_code == 403


def test_personal_knowledge_is_the_callers_own_and_logged(web: Web):
    ada, liam = web.client("employee"), web.client("other")
    with consents(web, {("hr:E03", "expert_finding"): False}):  # other tests may have turned it on
        mine = ada.get("/api/me/expertise", params={"person_id": "hr:E04"}).json()
    assert mine["person_id"] == "hr:E03" and mine["contributions"] > 0 and mine["tags"]
    assert mine["suggested_as_expert"] is False
    assert liam.get("/api/me/expertise").json()["person_id"] == "hr:E04"
    for path in ("/api/me/opportunities", "/api/me/influence"):
        body = ada.get(path).json()
        assert body["person_id"] == "hr:E03"
    rows = web.rows(
        """SELECT endpoint FROM access_log WHERE subject_person_id = 'hr:E03' AND username = 'ada'
           ORDER BY access_id DESC LIMIT 3"""
    )
    assert {r[0] for r in rows} == {"/api/me/expertise", "/api/me/opportunities", "/api/me/influence"}
    assert ada.get("/api/me/introductions", params={"to": "no such customer"}).status_code == 404


def test_dashboard_shows_the_knowledge_panels(web: Web):
    ada = web.client("employee")
    page = ada.get("/me")
    assert page.status_code == 200
    for panel in ("opportunities", "influence", "expertise"):
        assert f'data-testid="panel-{panel}"' in page.text  # rendered with the page, no extra request
    assert "Your expertise" in page.text and "Business influence" in page.text
    expertise = ada.get("/me/panels/expertise")
    assert expertise.status_code == 200 and "Your expertise" in expertise.text and "rank" in expertise.text
    assert "Business influence" in ada.get("/me/panels/influence").text
    assert "Opportunities to help" in ada.get("/me/panels/opportunities").text
