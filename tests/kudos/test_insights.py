"""Where you shine: kudos received by customer, kind of meeting, value, colleague and month, from
kudos given through every path (meeting, deal, none), on a real store."""

from __future__ import annotations

from datetime import datetime

from resonance.kudos.insights import where_you_shine
from resonance.kudos.operations import give_kudos
from resonance.privacy.consent import set_consent
from resonance.privacy.guard import HIDDEN_NAME

LIAM = "hr:E04"  # no kudos in the test company: everything below is what these tests gave


def test_where_you_shine_by_context_and_over_time(kstore, ids, rules):
    con = kstore.con
    assert where_you_shine(con, LIAM)["total"] == 0
    # A customer meeting (Liam was invited), a recurring team meeting, a deal, and no context at all.
    give_kudos(con, "hr:E09", LIAM, rules, meeting=ids["customer_meeting"], values=["teamwork", "customer-first"],
               now=datetime(2026, 1, 12, 16, 0))
    give_kudos(con, "hr:E02", LIAM, rules, meeting=ids["team_meeting"], values=["teamwork"],
               now=datetime(2026, 2, 3, 9, 0))
    give_kudos(con, "hr:E10", LIAM, rules, opportunity="O1", now=datetime(2026, 3, 2, 9, 0))
    give_kudos(con, "hr:E03", LIAM, rules, message="thanks", now=datetime(2026, 3, 20, 9, 0))

    shine = where_you_shine(con, LIAM)
    assert (shine["total"], shine["with_context"]) == (4, 3)
    assert shine["customers"] == [("Globex Industries", 2)]  # the meeting's and the deal's customer
    assert shine["meeting_kinds"] == [("Customer", 1), ("Recurring", 1)]
    assert shine["values"] == [("teamwork", 2), ("customer-first", 1)]
    assert shine["colleagues"] == [("Ada Brook", 1), ("Chloe Martin", 1), ("Mara Quinn", 1), ("Omar Farouk", 1)]
    assert shine["contexts"] == [("Meetings", 2), ("Customers", 2), ("Deals", 1)]  # ties: in this order
    assert len(shine["months"]) == 12 and shine["months"][-3:] == [("2026-01", 1), ("2026-02", 1), ("2026-03", 2)]
    assert shine["months"][0] == ("2025-04", 0)

    # A giver who opted out of analytics is not named.
    set_consent(con, "hr:E03", "analytics", False, changed_by="ada", via="tests")
    colleagues = where_you_shine(con, LIAM)["colleagues"]
    assert ("Ada Brook", 1) not in colleagues and (HIDDEN_NAME, 1) in colleagues
