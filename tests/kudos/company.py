"""The web tests' small company (tests/web/company.py) plus what kudos need: meetings with
organisers, attendees and invitees, a customer account with a deal, a customer contact, and
Slack accounts. Deterministic.

- `ical:globex-review`: a customer meeting (Globex Industries) organised by Chloe Martin
  (hr:E09, Sales); Omar Farouk (E10) and Ada Brook (E03) attended, Liam Okafor (E04) was
  invited, Jane Doe of Globex (external) attended.
- `ical:eng-weekly/20260105T090000Z`: an internal recurring meeting of Mara Quinn (E02)
  with Ada (E03), Liam (E04) and Sofia (E05).
- Slack: Ada is `slack:U0ADA` (handle `ada.brook`), Chloe `slack:U0CHLOE` (handle `chloe`).
"""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
from tests.web.company import _load, build_company, email

from resonance.sources.base import BatchBuilder

CUSTOMER_MEETING = "ical:globex-review"
TEAM_MEETING = "ical:eng-weekly/20260105T090000Z"
ACCOUNT = "crm-account:A1"
OPPORTUNITY = "crm-opportunity:O1"
CUSTOMER_CONTACT = "email:jane.doe@globex.example"
WHEN = datetime(2026, 1, 12, 15, 0)


def build_kudos_company(con: duckdb.DuckDBPyConnection) -> dict:
    ids = build_company(con)
    crm = BatchBuilder("crm")
    crm.item(native_id="Account/A1", item_id=ACCOUNT, kind="account", title="Globex Industries",
             created=datetime(2025, 1, 1), file="Account.csv", line=2)
    crm.item(native_id="Opportunity/O1", item_id=OPPORTUNITY, kind="opportunity", title="Globex - Platform renewal",
             author=email("E09"), created=datetime(2025, 11, 1), extra=json.dumps({"account": ACCOUNT}),
             file="Opportunity.csv", line=2)
    crm.profile(native_id="Contact/C1", identities=[CUSTOMER_CONTACT], display_name="Jane Doe",
                emails=["jane.doe@globex.example"], is_external=True, organization="Globex Industries",
                file="Contact.csv", line=2)
    _load(con, "crm", crm)

    cal = BatchBuilder("calendar")
    meetings = [
        (CUSTOMER_MEETING, "E09", "Globex Industries: quarterly review", {"account": ACCOUNT, "recurring": False},
         ["E10", "E03"], ["E04"], [CUSTOMER_CONTACT]),
        (TEAM_MEETING, "E02", "Engineering weekly", {"recurring": True}, ["E03", "E04", "E05"], [], []),
    ]
    for n, (item_id, organizer, title, extra, attend, invite, external) in enumerate(meetings):
        native = item_id.removeprefix("ical:")
        cal.item(native_id=native, item_id=item_id, kind="meeting", author=email(organizer), title=title,
                 created=WHEN, extra=json.dumps(extra), file="cal.ics", line=10 * n + 1)
        common = {"object": item_id, "object_type": "item", "ctx_meeting": item_id, "time": WHEN,
                  "ctx_account": extra.get("account"), "file": "cal.ics", "line": 10 * n + 1}
        cal.event(native_id=f"{native}#create", actor=email(organizer), verb="Create", **common)
        for who in attend:
            cal.event(native_id=f"{native}#attend:{who}", actor=email(who), verb="Attend", **common)
        for who in external:
            cal.event(native_id=f"{native}#attend:{who}", actor=who, verb="Attend", **common)
        for who in invite:
            cal.event(native_id=f"{native}#invite:{who}", actor=email(organizer), verb="Invite", target=email(who),
                      **common)
    _load(con, "calendar", cal)

    slack = BatchBuilder("slack")
    for pid, user, handle in (("E03", "U0ADA", "ada.brook"), ("E09", "U0CHLOE", "chloe")):
        slack.profile(native_id=user, identities=[f"slack:{user}", email(pid)], handles=[handle],
                      file="users.json", line=1)
    _load(con, "slack", slack)
    return {**ids, "customer_meeting": CUSTOMER_MEETING, "team_meeting": TEAM_MEETING, "account": ACCOUNT,
            "opportunity": OPPORTUNITY, "customer_contact": CUSTOMER_CONTACT}
