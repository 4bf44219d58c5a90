"""The privacy guard, opt-out, consent audit and data export."""

from __future__ import annotations

import json

import pytest
from tests.web.conftest import Web

from resonance.privacy.consent import consent_granted, opted_out_people, set_consent
from resonance.privacy.guard import (
    AccessDenied,
    GroupTooSmall,
    NotAuthenticated,
    Principal,
    manager_subtree,
    require_aggregate_access,
    require_individual_access,
)

pytestmark = pytest.mark.xdist_group("web")

TEAM = {"hr:E03", "hr:E04", "hr:E05", "hr:E06", "hr:E07", "hr:E08"}


def principal(role: str, person: str | None) -> Principal:
    return Principal(user_id=0, username=f"t-{role}", role=role, person_id=person)


def test_individual_access_is_the_person_alone(web: Web):
    cur = web.store.cursor()
    require_individual_access(cur, principal("employee", "hr:E03"), "hr:E03", "/t", "test")
    for who, subject in (
        (principal("employee", "hr:E04"), "hr:E03"),
        (principal("manager", "hr:E02"), "hr:E03"),
        (principal("analyst", "hr:E11"), "hr:E03"),
        (principal("admin", None), "hr:E03"),
    ):
        with pytest.raises(AccessDenied):
            require_individual_access(cur, who, subject, "/t", "test")
    with pytest.raises(NotAuthenticated):
        require_individual_access(cur, None, "hr:E03", "/t", "test")
    logged = cur.execute("SELECT count(*) FROM access_log WHERE endpoint = '/t'").fetchall()[0][0]
    assert logged == 1  # the one granted read


def test_aggregates_need_the_role_the_scope_and_the_group_size(web: Web):
    cur = web.store.cursor()
    assert manager_subtree(cur, "hr:E02") == TEAM
    assert manager_subtree(cur, "hr:E01") >= TEAM | {"hr:E02", "hr:E09", "hr:E12"}
    mara = principal("manager", "hr:E02")
    assert require_aggregate_access(cur, mara, TEAM, 5, "/org") == TEAM
    with pytest.raises(GroupTooSmall):
        require_aggregate_access(cur, mara, TEAM, 7, "/org")
    with pytest.raises(GroupTooSmall):  # the floor: never below 3, whatever the setting
        require_aggregate_access(cur, mara, {"hr:E03", "hr:E04"}, 1, "/org")
    with pytest.raises(AccessDenied):  # outside her subtree
        require_aggregate_access(cur, mara, TEAM | {"hr:E09"}, 5, "/org")
    with pytest.raises(AccessDenied):
        require_aggregate_access(cur, principal("employee", "hr:E03"), TEAM, 5, "/org")
    with pytest.raises(AccessDenied):
        require_aggregate_access(cur, principal("admin", None), TEAM, 5, "/org")
    everyone = {r[0] for r in cur.execute("SELECT person_id FROM people").fetchall()}
    counted = require_aggregate_access(cur, principal("analyst", "hr:E11"), everyone, 5, "/org")
    assert counted == everyone - opted_out_people(cur)  # other tests may have opted someone out
    # Opted-out people do not count towards the group size.
    set_consent(cur, "hr:E08", "analytics", False, "tests", "test")
    try:
        assert require_aggregate_access(cur, mara, TEAM, 5, "/org") == TEAM - {"hr:E08"}
        with pytest.raises(GroupTooSmall):
            require_aggregate_access(cur, mara, TEAM, 6, "/org")
    finally:
        set_consent(cur, "hr:E08", "analytics", True, "tests", "test")


def test_opting_out_hides_the_person_from_everyone_else(web: Web):
    ravi, ada = web.client("optout"), web.client("employee")
    csrf = web.csrf(ravi)
    before = ada.get("/api/me/kudos?page_size=50").json()["items"]
    assert any(k["giver_id"] == "hr:E12" and k["giver_name"] == "Ravi Kumar" for k in before)
    r = ravi.put("/api/me/settings", json={"opted_out": True}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["opted_out"] is True
    try:
        after = ada.get("/api/me/kudos?page_size=50").json()["items"]
        assert len(after) == len(before)  # the kudos still count for Ada ...
        assert not any(
            k["giver_id"] == "hr:E12" or k["giver_name"] == "Ravi Kumar" for k in after
        )  # ... anonymously
        item = ada.get("/api/me/item", params={"item_id": web.ids["xss_item"]}).json()
        assert all(x["actor_name"] != "Ravi Kumar" and x["actor_id"] != "hr:E12" for x in item["reactions"])
        export = ada.get("/api/me/export").text
        assert "Ravi Kumar" not in export
        # His own dashboard says so, and he still sees his own data.
        page = ravi.get("/me").text
        assert "You have opted out of analytics" in page
        assert ravi.get("/api/me").json()["opted_out"] is True
    finally:
        ravi.put("/api/me/settings", json={"opted_out": False}, headers={"X-CSRF-Token": csrf})
    history = web.rows(
        "SELECT granted, changed_by, via FROM consent_log WHERE person_id = 'hr:E12' ORDER BY change_id"
    )
    assert history[-2:] == [(False, "ravi", "api"), (True, "ravi", "api")]


def test_consent_form_records_every_choice(web: Web):
    hana = web.client("analyst")
    csrf = web.csrf(hana)
    r = hana.post(
        "/me/settings", data={"csrf_token": csrf, "consent_analytics": "on", "consent_expert_finding": "on"}
    )
    assert r.status_code == 303
    cur = web.store.cursor()
    assert consent_granted(cur, "hr:E11", "expert_finding") is True
    assert consent_granted(cur, "hr:E11", "kudos") is False  # unchecked box = refused
    settings = hana.get("/api/me/settings").json()
    assert {c["purpose"]: c["granted"] for c in settings["consents"]} == {
        "analytics": True,
        "kudos": False,
        "expert_finding": True,
    }
    bad = hana.put(
        "/api/me/settings", json={"consents": {"sell_my_data": True}}, headers={"X-CSRF-Token": csrf}
    )
    assert bad.status_code == 422


def test_export_holds_my_data_and_no_secrets(web: Web):
    ada = web.client("employee")
    r = ada.get("/me/export")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    doc = json.loads(r.text)
    assert doc["person"]["display_name"] == "Ada Brook"
    assert {"hr:E03", "email:ada.brook@acme.example"} <= {i["identity"] for i in doc["identities"]}
    assert len(doc["items"]) >= 8 and all("item_id" in i for i in doc["items"])
    assert len(doc["kudos_received"]) == 12
    assert doc["consents"]["analytics"] is True
    assert doc["accounts"][0]["username"] == "ada"
    text = r.text
    assert "argon2" not in text and "token_hash" not in text and "password" not in text


def test_the_api_offers_a_choice_for_every_purpose():
    from resonance.privacy.consent import PURPOSES
    from resonance.web.schemas import ConsentChoices

    assert set(ConsentChoices.model_fields) == set(PURPOSES)
