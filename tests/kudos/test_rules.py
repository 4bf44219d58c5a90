"""The kudos rules and operations on a real store: self-kudos, budget, rate limit, counted once,
value tags, context resolution, the directory, meetings, votes, and the audit trail."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from resonance.kudos.context import guess_account, resolve_context, resolve_person
from resonance.kudos.directory import shared_meetings
from resonance.kudos.operations import budget_left, give_kudos, list_kudos, vote
from resonance.kudos.rules import KudosError, check_values, kudos_key, normalise_tag, period_bounds, vote_value
from resonance.metrics.rules import describe_rules

NOW = datetime(2026, 3, 11, 10, 0)  # a Wednesday


def rows(store, sql, params=None):
    return store.con.execute(sql, params or []).fetchall()


def test_period_bounds_and_key():
    assert period_bounds(NOW, "week") == (datetime(2026, 3, 9), datetime(2026, 3, 16))
    assert period_bounds(NOW, "month") == (datetime(2026, 3, 1), datetime(2026, 4, 1))
    assert period_bounds(datetime(2026, 12, 31, 23), "month") == (datetime(2026, 12, 1), datetime(2027, 1, 1))
    assert period_bounds(NOW, "day") == (datetime(2026, 3, 11), datetime(2026, 3, 12))
    a = kudos_key("g", "r", "m", None, None, None, NOW.date())
    assert a == kudos_key("g", "r", "m", None, None, None, NOW.date() + timedelta(days=3))  # context: day ignored
    assert a != kudos_key("g", "r", "m2", None, None, None, NOW.date())
    assert a != kudos_key("r", "g", "m", None, None, None, NOW.date())
    bare = kudos_key("g", "r", None, None, None, None, NOW.date())
    assert bare != kudos_key("g", "r", None, None, None, None, NOW.date() + timedelta(days=1))  # no context: per day
    assert normalise_tag("#Customer First") == "customer-first" and normalise_tag("team_work") == "team-work"
    assert [vote_value(v) for v in ("up", "useful", -1, "none", 0, "1")] == [1, 1, -1, 0, 0, 1]
    with pytest.raises(KudosError):
        vote_value(2)


def test_value_tags(rules):
    assert check_values(["#Teamwork", "teamwork", "Customer First"], rules) == ["teamwork", "customer-first"]
    with pytest.raises(KudosError, match="Unknown value tag 'synergy'"):
        check_values(["synergy"], rules)
    with pytest.raises(KudosError, match="At most 3"):
        check_values(list(rules.values[:4]), rules)


def test_rules_are_on_the_rules_page():
    keys = {r["key"]: r for r in describe_rules()}
    for key in ("kudos.budget", "kudos.budget_period", "kudos.rate_limit_per_minute", "kudos.values",
                "kudos.link_days", "kudos.link_confirm", "kudos.votable_kinds"):
        assert keys[key]["description"], key


def test_give_records_table_event_and_audit_once(kstore, ids, rules):
    con = kstore.con
    first = give_kudos(con, "hr:E09", "omar.farouk@acme.example", rules, meeting=ids["customer_meeting"],
                       message="  Great demo prep ", values=["#Customer-First"], channel="cli", actor="cli", now=NOW)
    assert first.created
    k = first.kudos
    assert (k["giver_id"], k["receiver_id"], k["account"], k["account_name"]) == (
        "hr:E09", "hr:E10", ids["account"], "Globex Industries")  # the account comes with the meeting
    assert k["message"] == "Great demo prep" and k["values"] == ["customer-first"]
    again = give_kudos(con, "hr:E09", "hr:E10", rules, meeting=ids["customer_meeting"], message="other", now=NOW)
    assert not again.created and again.kudos["kudos_id"] == k["kudos_id"] and again.kudos["message"] == k["message"]
    events = rows(kstore, """SELECT source, actor, verb, object, object_type, ctx_meeting, ctx_account, extra
                             FROM events WHERE source = 'resonance'""")
    assert len(events) == 1
    source, actor, verb, obj, otype, m, a, extra = events[0]
    assert (source, verb, otype, m, a) == ("resonance", "Kudos", "person", ids["customer_meeting"], ids["account"])
    assert rows(kstore, "SELECT person_id FROM identities WHERE identity IN (?, ?) ORDER BY 1", [actor, obj]) == [
        ("hr:E09",), ("hr:E10",)]
    assert json.loads(extra)["tags"] == ["customer-first"] and json.loads(extra)["message"] == "Great demo prep"
    audit = rows(kstore, "SELECT action, actor, channel, person_id, subject FROM kudos_audit")
    assert audit == [("kudos", "cli", "cli", "hr:E09", k["kudos_id"])]


def test_refusals(kstore, ids, rules):
    con = kstore.con
    cases = [
        (("hr:E03", "ada.brook@acme.example"), {}, 409, "yourself"),
        (("hr:E03", "nobody@acme.example"), {}, 404, "No one in the directory"),
        (("hr:E03", ids["customer_contact"]), {}, 409, "external contact"),
        (("hr:E03", "hr:E04"), {"meeting": "ical:nope"}, 404, "No meeting"),
        (("hr:E03", "hr:E04"), {"account": "Initech"}, 404, "No customer account"),
        (("hr:E03", "hr:E04"), {"item": "social:nothing"}, 404, "No item"),
        (("hr:E03", "hr:E04"), {"message": "x" * 501}, 409, "500 characters"),
        (("hr:E03", "hr:E04"), {"values": ["synergy"]}, 409, "Unknown value tag"),
        # Ada and Sofia were not both in the customer meeting.
        (("hr:E03", "hr:E05"), {"meeting": ids["customer_meeting"]}, 409, "was not in the meeting"),
        (("hr:E05", "hr:E03"), {"meeting": ids["customer_meeting"]}, 409, "You were not in the meeting"),
    ]
    for (giver, receiver), kwargs, status, text in cases:
        with pytest.raises(KudosError) as exc:
            give_kudos(con, giver, receiver, rules, now=NOW, **kwargs)
        assert exc.value.status == status and text in str(exc.value), (giver, receiver, kwargs, str(exc.value))
    assert rows(kstore, "SELECT count(*) FROM kudos")[0][0] == 0
    assert rows(kstore, "SELECT count(*) FROM events WHERE source = 'resonance'")[0][0] == 0
    # An invitee counts as in the meeting; with the rule off, anyone may name it.
    assert give_kudos(con, "hr:E09", "hr:E04", rules, meeting=ids["customer_meeting"], now=NOW).created
    loose = replace(rules, meeting_participants_only=False)
    assert give_kudos(con, "hr:E03", "hr:E05", loose, meeting=ids["customer_meeting"], now=NOW).created


def test_budget_and_rate_limit(kstore, rules):
    con = kstore.con
    tight = replace(rules, budget=3, budget_period="week", rate_limit_per_minute=2)
    receivers = ["hr:E01", "hr:E02", "hr:E04", "hr:E05", "hr:E06"]
    assert give_kudos(con, "hr:E03", receivers[0], tight, now=NOW).created
    assert give_kudos(con, "hr:E03", receivers[1], tight, now=NOW + timedelta(seconds=10)).created
    with pytest.raises(KudosError) as exc:
        give_kudos(con, "hr:E03", receivers[2], tight, now=NOW + timedelta(seconds=20))
    assert exc.value.status == 429 and exc.value.code == "rate" and 0 < exc.value.retry_after <= 60
    # A repeat is not a new kudos: neither the rate limit nor the budget refuse it.
    assert not give_kudos(con, "hr:E03", receivers[0], tight, now=NOW + timedelta(seconds=21)).created
    assert give_kudos(con, "hr:E03", receivers[2], tight, now=NOW + timedelta(minutes=2)).created
    with pytest.raises(KudosError) as exc:
        give_kudos(con, "hr:E03", receivers[3], tight, now=NOW + timedelta(minutes=5))
    assert exc.value.code == "budget" and "2026-03-16" in str(exc.value)
    assert budget_left(con, "hr:E03", tight, now=NOW)["left"] == 0
    # Next week, a fresh budget; other givers have their own.
    assert give_kudos(con, "hr:E03", receivers[3], tight, now=NOW + timedelta(days=7)).created
    assert give_kudos(con, "hr:E04", receivers[4], tight, now=NOW + timedelta(minutes=5)).created
    assert list_kudos(con, giver_id="hr:E03")["total"] == 4


def test_people_and_context_resolution(kstore, ids):
    con = kstore.con
    for ref in ("hr:E03", "email:ada.brook@acme.example", "Ada.Brook@acme.example", "slack:U0ADA", "<@U0ADA|ada>",
                "@ada.brook", "ada.brook", "ada"):  # the last one: the web account's username
        assert resolve_person(con, ref).person_id == "hr:E03", ref
    assert resolve_person(con, "hr:E03").identity == "hr:E03"
    ctx = resolve_context(con, opportunity="O1")
    assert (ctx.opportunity, ctx.account, ctx.account_name) == (ids["opportunity"], ids["account"], "Globex Industries")
    assert resolve_context(con, account="globex industries").account == ids["account"]
    assert resolve_context(con, meeting="globex-review").meeting == ids["customer_meeting"]
    assert guess_account(con, "for the Globex review") == ids["account"]
    assert guess_account(con, "thanks for the help") is None
    # The meetings two people were both in (the colleague card's context choice).
    assert [m["meeting"] for m in shared_meetings(con, "hr:E09", "hr:E10")] == [ids["customer_meeting"]]
    assert [m["meeting"] for m in shared_meetings(con, "hr:E03", "hr:E04")] == [ids["team_meeting"],
                                                                                ids["customer_meeting"]]
    assert shared_meetings(con, "hr:E09", "hr:E05") == []


def test_votes_latest_wins_and_rules(kstore, ids, rules):
    con = kstore.con
    item = "social:item001"
    author = rows(kstore, "SELECT i.person_id FROM items it JOIN identities i ON i.identity = it.author "
                          "WHERE item_id = ?", [item])[0][0]
    voter = "hr:E11" if author != "hr:E11" else "hr:E01"
    assert vote(con, voter, item, "up", rules, now=NOW).changed
    assert not vote(con, voter, item, 1, rules, now=NOW).changed  # same vote again: nothing
    down = vote(con, voter, item, -1, rules, now=NOW + timedelta(minutes=1))
    assert down.changed and down.previous == 1 and down.version == 2
    assert rows(kstore, "SELECT value, version FROM item_votes WHERE item_id = ? AND voter_id = ?", [item, voter]) == [
        (-1, 2)]
    assert [r[0] for r in rows(kstore, "SELECT value FROM events WHERE verb = 'Vote' AND source = 'resonance' "
                                       "ORDER BY native_id")] == [1.0, -1.0]
    with pytest.raises(KudosError, match="own item"):
        vote(con, author, item, 1, rules)
    with pytest.raises(KudosError, match="take no helpfulness votes"):
        vote(con, voter, ids["customer_meeting"], 1, rules)
    with pytest.raises(KudosError) as exc:
        vote(con, voter, "social:none", 1, rules)
    assert exc.value.status == 404
    assert rows(kstore, "SELECT count(*) FROM kudos_audit WHERE action = 'vote'")[0][0] == 2


def test_declined_consent_and_forget(kstore, ids, rules):
    from resonance.privacy.consent import set_consent
    from resonance.privacy.forget import forget_person

    con = kstore.con
    set_consent(con, "hr:E04", "kudos", False, changed_by="liam", via="tests")
    with pytest.raises(KudosError, match="chosen not to receive kudos"):
        give_kudos(con, "hr:E09", "hr:E04", rules, now=NOW)
    from resonance.kudos.links import link_key, meeting_links

    found = meeting_links(con, link_key(con, None), ids["customer_meeting"], "https://r.example", rules)
    assert "hr:E04" not in {x["receiver_id"] for x in found["links"]}
    # The right to be forgotten reaches the kudos tables: messages gone, people pseudonymised.
    give_kudos(con, "hr:E09", "hr:E10", rules, message="Omar saved the Globex call", now=NOW)
    vote(con, "hr:E10", "social:item000", 1, rules, now=NOW)
    forget_person(con, "hr:E10", done_by="tests", recompute=False)
    assert rows(kstore, "SELECT message, receiver_id LIKE 'forgotten:%' FROM kudos") == [(None, True)]
    assert rows(kstore, "SELECT count(*) FROM item_votes WHERE voter_id = 'hr:E10'") == [(0,)]
    assert rows(kstore, "SELECT count(*) FROM kudos_audit WHERE detail::VARCHAR LIKE '%E10%'") == [(0,)]


def test_dashboard_counts_a_giver_once_whatever_alias(kstore, rules):
    from resonance.web.dashboard import kudos_summary

    before = kudos_summary(kstore.con, "hr:E03")
    # Chloe already thanked Ada through AS2 (as email:...); Resonance names her hr:E09.
    give_kudos(kstore.con, "hr:E09", "hr:E03", rules, now=NOW)
    after = kudos_summary(kstore.con, "hr:E03")
    assert after["total"] == before["total"] + 1 and after["givers"] == before["givers"]
