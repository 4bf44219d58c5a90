"""The kudos API and pages on the real server: who may give, the rules as HTTP answers, CSRF,
meeting links for organisers only, votes, the widget's framing policy, the pages."""

from __future__ import annotations

import re
import time

from tests.kudos.conftest import CRM_ORIGIN

from resonance.kudos.links import KudosLink, link_key, sign_link


def test_give_through_the_api(kserver, ids):
    c = kserver.client()
    omar = kserver.bearer("omar")
    body = {"receiver": "ada.brook@acme.example", "item": "social:item002", "message": "Thanks!",
            "values": ["#Teamwork"]}
    r = c.post("/api/kudos", json=body, headers=omar)
    assert r.status_code == 201, r.text
    k = r.json()
    assert k["created"] and k["giver_id"] == "hr:E10" and k["receiver_id"] == "hr:E03" and k["channel"] == "api"
    assert k["values"] == ["teamwork"] and k["item"] == "social:item002" and k["given_at"].endswith("Z")
    again = c.post("/api/kudos", json={**body, "message": "changed"}, headers=omar)
    assert again.status_code == 200 and not again.json()["created"] and again.json()["message"] == "Thanks!"
    assert again.json()["kudos_id"] == k["kudos_id"]

    problems = [
        ({"receiver": "hr:E10"}, omar, 409, "kudos-self"),
        ({"receiver": "nobody@acme.example"}, omar, 404, "kudos-person"),
        ({"receiver": "hr:E03", "values": ["synergy"]}, omar, 409, "kudos-values"),
        ({"receiver": "hr:E03", "meeting": "ical:none"}, omar, 404, "kudos-context"),
        ({"receiver": ids["customer_contact"]}, omar, 409, "kudos-external"),
        ({"receiver": "hr:E03"}, kserver.bearer("root"), 403, "forbidden"),
        ({"receiver": "hr:E03"}, {}, 401, "not-authenticated"),
        ({"receiver": ""}, omar, 422, "validation"),
    ]
    for payload, headers, status, kind in problems:
        r = c.post("/api/kudos", json=payload, headers=headers)
        assert r.status_code == status, (payload, r.text)
        assert r.headers["content-type"] == "application/problem+json" and r.json()["type"].endswith(kind), r.text
    assert kserver.rows("SELECT count(*) FROM kudos WHERE giver_id = 'hr:E10' AND channel = 'api'")[0][0] == 1

    given = c.get("/api/kudos/given", headers=omar).json()
    assert given["total"] >= 1 and given["budget"] == 20 and given["budget_left"] == 20 - given["total"]


def test_session_writes_need_the_csrf_token(kserver):
    c = kserver.client("priya")
    r = c.post("/api/kudos", json={"receiver": "hr:E05"})
    assert r.status_code == 403 and "security token" in r.json()["detail"]
    r = c.post("/api/kudos", json={"receiver": "hr:E05"}, headers={"X-CSRF-Token": kserver.csrf(c)})
    assert r.status_code == 201 and r.json()["channel"] == "web"


def test_meeting_links_are_for_the_organiser(kserver, ids):
    c = kserver.client()
    r = c.get("/api/kudos/links", params={"meeting": ids["customer_meeting"]}, headers=kserver.bearer("chloe"))
    assert r.status_code == 200, r.text
    links = r.json()
    assert links["account_name"] == "Globex Industries" and links["giver_id"] == "hr:E09"
    assert sorted(x["receiver_id"] for x in links["links"]) == ["hr:E03", "hr:E04", "hr:E10"]
    assert all(x["url"].startswith(kserver.base + "/k/") for x in links["links"])
    r = c.get("/api/kudos/links", params={"meeting": ids["customer_meeting"]}, headers=kserver.bearer("omar"))
    assert r.status_code == 403 and "organiser" in r.json()["detail"]
    r = c.get("/api/kudos/links", params={"meeting": ids["customer_meeting"]}, headers=kserver.bearer("sofia"))
    assert r.status_code == 404  # not in the meeting: its existence is not confirmed
    assert c.get("/api/kudos/links", params={"meeting": "x"}, headers=kserver.bearer("root")).status_code == 403


def test_votes_through_the_api(kserver, ids):
    c = kserver.client()
    item = "social:item003"
    author = kserver.rows("SELECT i.person_id FROM items it JOIN identities i ON i.identity = it.author "
                          "WHERE item_id = ?", [item])[0][0]
    voter = "mara" if author != "hr:E02" else "jonas"
    h = kserver.bearer(voter)
    r = c.post(f"/api/items/{item}/vote", json={"value": 1}, headers=h)
    assert r.status_code == 200 and r.json() == {"item_id": item, "value": 1, "previous": None, "changed": True,
                                                 "useful": 1, "not_useful": 0}
    r = c.post(f"/api/items/{item}/vote", json={"value": -1}, headers=h)
    assert r.json()["previous"] == 1 and (r.json()["useful"], r.json()["not_useful"]) == (0, 1)
    assert c.post(f"/api/items/{item}/vote", json={"value": 2}, headers=h).status_code == 422
    assert c.post(f"/api/items/{ids['customer_meeting']}/vote", json={"value": 1}, headers=h).status_code == 409
    assert c.post("/api/items/social:none/vote", json={"value": 1}, headers=h).status_code == 404
    own = next(u for u, p in (("ada", "hr:E03"), ("liam", "hr:E04"), ("mara", "hr:E02")) if p == author) \
        if author in ("hr:E03", "hr:E04", "hr:E02") else None
    if own:
        assert c.post(f"/api/items/{item}/vote", json={"value": 1}, headers=kserver.bearer(own)).status_code == 409


def test_widget_may_be_framed_and_nothing_else(kserver):
    c = kserver.client()
    w = c.get("/kudos/widget", params={"to": "hr:E03", "meeting": "ical:globex-review"})
    assert w.status_code == 200 and "Sign in to Resonance" in w.text  # no session in the frame: sign in first
    csp = w.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {CRM_ORIGIN}" in csp and "script-src 'self'" in csp
    assert "x-frame-options" not in w.headers and w.headers["cross-origin-resource-policy"] == "cross-origin"
    page = c.get("/rules")
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers[
        "content-security-policy"]
    assert c.get("/kudos/widget", params={"to": "nobody@acme.example"}).status_code == 404
    # Signed in (same site), the widget thanks with one button.
    jonas = kserver.client("jonas")
    form = jonas.get("/kudos/widget", params={"to": "hr:E05"})
    assert 'data-testid="thank"' in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    r = jonas.post("/kudos/widget", data={"csrf_token": token, "receiver": "hr:E05", "message": "from the CRM"})
    assert r.status_code == 200 and "Thanked Sofia Reyes" in r.text
    assert kserver.rows("SELECT channel FROM kudos WHERE giver_id = 'hr:E06' AND receiver_id = 'hr:E05'") == [
        ("widget",)]


def test_pages(kserver, ids):
    chloe = kserver.client("chloe")
    page = chloe.get("/kudos")
    assert page.status_code == 200 and "Globex Industries: quarterly review" in page.text
    meeting = chloe.get("/kudos/meeting", params={"id": ids["customer_meeting"]})
    assert meeting.status_code == 200 and meeting.text.count('data-testid="one-click-link"') == 3
    assert "Jane Doe" in meeting.text  # the customer is listed, without a Thank button
    assert kserver.client("sofia").get("/kudos/meeting", params={"id": ids["customer_meeting"]}).status_code == 404
    found = chloe.get("/kudos/search", params={"q": "sofia"}, headers={"HX-Request": "true"})
    assert "Sofia Reyes" in found.text and "Thank Sofia" in found.text
    csrf = kserver.csrf(chloe)
    # htmx: the Thank button is replaced by the confirmation.
    r = chloe.post("/kudos/give", data={"receiver": "hr:E10", "meeting": ids["customer_meeting"]},
                   headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert r.status_code == 200 and 'data-testid="thanked"' in r.text and "Globex Industries" in r.text
    r = chloe.post("/kudos/give", data={"receiver": "hr:E09"}, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert r.status_code == 200 and 'role="alert"' in r.text and "yourself" in r.text
    # Without JavaScript: a full page.
    r = chloe.post("/kudos/give", data={"receiver": "hr:E11", "csrf_token": csrf, "values": ["teamwork", "craft"]})
    assert r.status_code == 200 and "Thank-you sent" in r.text and "#craft" in r.text
    theirs, mine = (kserver.rows(
        "SELECT min(item_id) FROM items it JOIN identities i ON i.identity = it.author "
        f"WHERE it.kind IN ('post', 'answer') AND i.person_id {op} 'hr:E09'")[0][0] for op in ("<>", "="))
    item = chloe.get("/kudos/item", params={"id": theirs})
    assert item.status_code == 200 and 'data-testid="vote-box"' in item.text and "Thank the author" in item.text
    r = chloe.post("/kudos/vote", data={"item": theirs, "value": "1", "csrf_token": csrf})
    assert r.status_code == 303  # without JavaScript, back to the item
    assert 'aria-pressed="true" data-testid="vote-up"' in chloe.get("/kudos/item", params={"id": theirs}).text
    own = chloe.get("/kudos/item", params={"id": mine})
    assert own.status_code == 200 and "vote-box" not in own.text and "colleagues vote on it" in own.text
    assert chloe.get("/kudos/item", params={"id": ids["customer_meeting"]}).status_code == 404
    assert chloe.get("/kudos/colleague", params={"id": "hr:E05"}).status_code == 200
    assert chloe.get("/kudos/colleague", params={"id": ids["customer_contact"]}).status_code == 404
    ada = kserver.client("ada")
    me = ada.get("/me")
    assert me.status_code == 200 and "Where you shine" in me.text
    shine = ada.get("/me/shine")
    assert shine.status_code == 200 and "Kudos by customer" in shine.text and "Acme Corp" in shine.text
    # Admins give nothing and see no one's shine; anonymous visitors are sent to sign in.
    root = kserver.client("root")
    assert root.get("/kudos").status_code == 403 and root.get("/me/shine").status_code == 403
    assert kserver.client().get("/kudos").status_code == 303


def test_links_with_confirmation(kserver, ids, tmp_path):
    pair = "SELECT count(*) FROM kudos WHERE giver_id = 'hr:E02' AND receiver_id = 'hr:E05'"
    rules = tmp_path / "rules.toml"
    rules.write_text("[kudos]\nlink_confirm = true\n")
    key = link_key(kserver.store.con, None)
    token = sign_link(key, KudosLink("hr:E02", "hr:E05", ids["team_meeting"], None, None, None,
                                     int(time.time()) + 600))
    kserver.settings.rules_path = rules
    try:
        c = kserver.client()
        page = c.get(f"/k/{token}")
        assert page.status_code == 200 and 'data-testid="confirm"' in page.text  # a scanner's GET records nothing
        assert kserver.rows(pair)[0][0] == 0
        done = c.post(f"/k/{token}")
        assert done.status_code == 200 and "Thank-you sent" in done.text
        assert kserver.rows(pair)[0][0] == 1
    finally:
        kserver.settings.rules_path = None


def test_rules_page_states_the_kudos_rules(kserver, tmp_path):
    page = kserver.client().get("/rules")
    assert page.status_code == 200
    section = page.text.split('data-testid="kudos-rules"')[1].split("</section>")[0]
    for text in ("No self-kudos", "<code>20</code> kudos per week", "<code>10</code> kudos and <code>30</code>",
                 "Counted once", "the same giver, receiver and context", "#customer-first",
                 "valid <code>30</code> days", "one per person per item", "Kudos rings", "weighs <code>3.0</code>"):
        assert text in section, text
    # The page shows the rules in force, not the defaults.
    rules = tmp_path / "rules.toml"
    rules.write_text('[kudos]\nbudget = 5\nbudget_period = "month"\nvalues = ["courage"]\n')
    kserver.settings.rules_path = rules
    try:
        section = kserver.client().get("/rules").text.split('data-testid="kudos-rules"')[1]
        assert "<code>5</code> kudos per month" in section and "#courage" in section
        assert "#customer-first" not in section.split("</section>")[0]
    finally:
        kserver.settings.rules_path = None
