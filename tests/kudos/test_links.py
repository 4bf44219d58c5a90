"""Signed one-click links: forged, altered, expired, malformed and replayed links, in the module
and through the real server (no sign-in, no JavaScript)."""

from __future__ import annotations

import base64
import json
import time

import pytest

from resonance.kudos.links import KudosLink, LinkError, link_key, meeting_links, sign_link, verify_link

KEY = b"k" * 32
LINK = KudosLink("hr:E09", "hr:E10", "ical:globex-review", "crm-account:A1", None, None, int(time.time()) + 3600)


def tamper(token: str, **changes: object) -> str:
    """The same signature over a payload with some fields changed."""
    body, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(changes)
    new = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{new}.{sig}"


def test_round_trip_and_refusals():
    token = sign_link(KEY, LINK)
    assert verify_link(KEY, token) == LINK
    cases = {
        "forged": [sign_link(b"x" * 32, LINK), tamper(token, r="hr:E03"), tamper(token, x=LINK.expires + 10**6),
                   token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "!!." + token.split(".")[1]],
        "malformed": ["", "abc", token.replace(".", ""), token + ".x",
                      token.split(".")[0] + ".%%%", "a" * 5000],
    }
    for reason, tokens in cases.items():
        for bad in tokens:
            with pytest.raises(LinkError) as exc:
                verify_link(KEY, bad)
            assert exc.value.reason == reason, (bad[:40], exc.value.reason)
    with pytest.raises(LinkError) as exc:
        verify_link(KEY, token, now=LINK.expires + 1)
    assert exc.value.reason == "expired" and "expired on" in str(exc.value)


def test_meeting_links_for_the_organiser(kstore, ids, rules):
    key = link_key(kstore.con, None)
    assert key == link_key(kstore.con, None)  # generated once, kept in the store
    assert key != link_key(kstore.con, "a-configured-secret-of-some-length")
    found = meeting_links(kstore.con, key, ids["customer_meeting"], "https://resonance.example/", rules)
    assert found["giver_id"] == "hr:E09" and found["account_name"] == "Globex Industries"
    # Colleagues only: not the organiser, not the customer's attendee.
    assert sorted((x["receiver_id"], x["role"]) for x in found["links"]) == [
        ("hr:E03", "attendee"), ("hr:E04", "invited"), ("hr:E10", "attendee")]
    link = verify_link(key, found["links"][0]["url"].removeprefix("https://resonance.example/k/"))
    assert (link.giver_id, link.meeting, link.account) == ("hr:E09", ids["customer_meeting"], ids["account"])
    assert link.expires - time.time() == pytest.approx(rules.link_days * 86400, abs=60)


def test_one_click_through_the_server(kserver, ids):
    anon = kserver.client()
    cur = kserver.store.cursor()
    key = link_key(cur, None)
    cur.close()
    urls = {x["receiver_id"]: x["url"] for x in meeting_links(
        kserver.store.con, key, ids["customer_meeting"], kserver.base, _rules(kserver))["links"]}
    url = urls["hr:E04"]
    count = "SELECT count(*) FROM kudos WHERE giver_id = 'hr:E09' AND receiver_id = 'hr:E04' AND channel = 'link'"
    first = anon.get(url)
    assert first.status_code == 200 and "Thank-you sent" in first.text and "Globex Industries" in first.text
    assert kserver.rows(count)[0][0] == 1
    again = anon.get(url)  # replayed: nothing changes
    assert again.status_code == 200 and "Already thanked" in again.text and "nothing changed" in again.text
    assert kserver.rows(count)[0][0] == 1
    token = url.split("/k/")[1]
    refused = {
        tamper(token, r="hr:E03"): (403, "not valid"),
        sign_link(b"y" * 32, verify_link(key, token)): (403, "not valid"),
        sign_link(key, KudosLink("hr:E09", "hr:E03", ids["customer_meeting"], None, None, None,
                                 int(time.time()) - 5)): (410, "expired"),
        token[:20]: (400, "damaged"),
    }
    for bad, (status, text) in refused.items():
        r = anon.get(f"/k/{bad}")
        assert r.status_code == status and text in r.text and "Nothing was recorded" in r.text, (status, r.text[:300])
        assert "text/html" in r.headers["content-type"]
    assert kserver.rows("SELECT count(*) FROM kudos WHERE channel = 'link' AND giver_id = 'hr:E09'")[0][0] == 1
    # A signed link still obeys the rules: a kudos to oneself is refused with a page saying why.
    selfie = sign_link(key, KudosLink("hr:E09", "hr:E09", None, None, None, None, int(time.time()) + 60))
    r = anon.get(f"/k/{selfie}")
    assert r.status_code == 409 and "yourself" in r.text


def _rules(server):
    from resonance.kudos.rules import kudos_rules

    return kudos_rules(server.settings.rules_path)


def test_every_altered_character_is_refused():
    """Changing any one character of a link, the signature's last included (whose low bits base64
    decoders ignore), never yields an accepted link."""
    token = sign_link(KEY, LINK)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    accepted = []
    for i, original in enumerate(token):
        for c in alphabet:
            if c != original:
                try:
                    verify_link(KEY, token[:i] + c + token[i + 1:])
                    accepted.append((i, c))
                except LinkError:
                    pass
    assert accepted == []
