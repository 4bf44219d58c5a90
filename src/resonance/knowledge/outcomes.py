"""Credit for business outcomes: who helped win which deal (business influence).

For every won opportunity (closed on or before "as of"), people outside the
deal team (owner and team members) earn credit through three kinds of evidence:

| how | evidence | weight |
|---|---|---|
- **content**: an item of theirs read, liked, bookmarked or shared by a deal-team member
  before the close, the reaction carrying the opportunity (or only its account) as
  context; weight 1 per (reader, item, verb), bookmarks and shares 2;
- **kudos**: kudos to them with the opportunity as context (before or after the close); 3;
- **introduction**: they introduced one of the account's contacts to the deal team before
  the close: an `Invite` of the contact to a team member (3), or an e-mail (2) or a
  meeting (1) they started with both a contact and a team member.

Evidence that names another opportunity never counts for this one; evidence that names
only the account (or nothing, for e-mails and meetings) counts for the account's won
deal that closed next after it.

Only evidence inside the window before the close (`window_days`, default 365) counts
for content and introductions; a read after the close cannot have helped. A
person's credit in a deal is their share of all helpers' weights; "influenced"
counts the whole amount of each deal they helped, "attributed" their share of it.
Everything is one DuckDB query over the events; the method is documented in
docs/metrics.md ("Business influence").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from resonance.knowledge.accounts import opportunities
from resonance.knowledge.corpus import resolve_as_of

WEIGHTS = {"content_read": 1.0, "content_reuse": 2.0, "kudos": 3.0, "invite": 3.0, "email": 2.0, "meeting": 1.0}
DEFAULT_WINDOW_DAYS = 365

CREDIT_SQL = """
WITH won AS (
    SELECT item_id AS opp, account_id, account_name, amount, close_date, team, name
    FROM _k_opps WHERE is_won AND close_date IS NOT NULL AND close_date <= CAST(? AS DATE)
),
team AS (SELECT opp, unnest(team) AS member FROM won),
contacts AS (
    SELECT won.opp, p.person_id AS contact
    FROM won JOIN people p ON p.is_external AND lower(p.organization) = lower(won.account_name)
),
ev AS (
    SELECT e.*, a.person_id AS actor_pid,
           (e.source || ':' || e.native_id) AS event_id
    FROM events e LEFT JOIN identities a ON a.identity = e.actor
),
content_events AS (
    SELECT won.opp, au.person_id AS helper, 'content' AS how,
           CASE WHEN ev.verb IN ('Add', 'Announce') THEN {content_reuse} ELSE {content_read} END AS weight,
           ev.time, ev.event_id, ev.verb, ev.actor_pid AS other, i.item_id AS item, i.title AS item_title
    FROM won
    JOIN ev ON (ev.ctx_opportunity = won.opp OR (ev.ctx_opportunity IS NULL AND ev.ctx_account = won.account_id))
    JOIN team ON team.opp = won.opp AND team.member = ev.actor_pid
    JOIN items i ON i.item_id = ev.object
    JOIN identities au ON au.identity = i.author
    WHERE ev.verb IN ('View', 'Like', 'Add', 'Announce')
      AND ev.time <= won.close_date + INTERVAL 1 DAY
      AND ev.time > won.close_date - INTERVAL {window} DAY
      AND i.kind NOT IN ('opportunity', 'account', 'meeting')
    -- an event with only the account as context helps the deal closing next after it
    QUALIFY row_number() OVER (PARTITION BY ev.event_id ORDER BY won.close_date, won.opp) = 1
),
content AS (
    SELECT * FROM content_events
    QUALIFY row_number() OVER (PARTITION BY opp, other, item, verb ORDER BY time) = 1
),
kudos AS (
    SELECT won.opp, r.person_id AS helper, 'kudos' AS how, {kudos} AS weight,
           ev.time, ev.event_id, ev.verb, ev.actor_pid AS other, NULL AS item, NULL AS item_title
    FROM won JOIN ev ON ev.ctx_opportunity = won.opp AND ev.verb = 'Kudos'
    JOIN identities r ON r.identity = ev.object
    WHERE ev.time <= ?
),
invites AS (
    SELECT won.opp, ev.actor_pid AS helper, 'introduction' AS how, {invite} AS weight,
           ev.time, ev.event_id, ev.verb, c.contact AS other, NULL AS item, NULL AS item_title
    FROM won JOIN ev ON ev.verb = 'Invite' AND ev.object_type = 'person'
    JOIN identities o ON o.identity = ev.object
    JOIN contacts c ON c.opp = won.opp AND c.contact = o.person_id
    JOIN identities t ON t.identity = ev.target
    JOIN team ON team.opp = won.opp AND team.member = t.person_id
    WHERE ev.time <= won.close_date + INTERVAL 1 DAY AND ev.time > won.close_date - INTERVAL {window} DAY
      AND (ev.ctx_opportunity IS NULL OR ev.ctx_opportunity = won.opp)
    QUALIFY row_number() OVER (PARTITION BY ev.event_id ORDER BY won.close_date, won.opp) = 1
),
participants AS (
    -- who took part in each e-mail (its recipients) and each meeting (invited or attending)
    SELECT e.source || ':' || e.native_id AS event_id, r.person_id
    FROM events e, unnest(e.recipients) AS u(rcpt) JOIN identities r ON r.identity = u.rcpt
    WHERE e.verb = 'Create' AND len(e.recipients) BETWEEN 1 AND 20
    UNION ALL
    SELECT cr.source || ':' || cr.native_id, p.person_id
    FROM events cr
    JOIN events att ON att.object = cr.object AND att.source = 'calendar' AND att.verb IN ('Attend', 'Invite')
    JOIN identities p ON p.identity = CASE WHEN att.verb = 'Invite' THEN att.target ELSE att.actor END
    WHERE cr.verb = 'Create' AND cr.source = 'calendar'
),
comm_time AS (SELECT DISTINCT p.event_id, e.time FROM participants p
              JOIN events e ON e.source || ':' || e.native_id = p.event_id),
comm_actor AS (SELECT DISTINCT ev.event_id, ev.actor_pid AS person_id FROM ev
               WHERE ev.event_id IN (SELECT event_id FROM participants)),
mails AS (
    -- an e-mail or a meeting the helper started with a contact of the account and a team member
    SELECT won.opp, ev.actor_pid AS helper, 'introduction' AS how,
           CASE WHEN ev.source = 'calendar' THEN {meeting} ELSE {email} END AS weight,
           ev.time, ev.event_id, ev.verb, min(c.contact) AS other, ev.object AS item, NULL AS item_title
    FROM won
    JOIN ev ON ev.verb = 'Create' AND ev.time <= won.close_date + INTERVAL 1 DAY
           AND ev.time > won.close_date - INTERVAL {window} DAY
    JOIN participants pc ON pc.event_id = ev.event_id
    JOIN contacts c ON c.opp = won.opp AND c.contact = pc.person_id
    WHERE EXISTS (SELECT 1 FROM participants pt JOIN team tm ON tm.member = pt.person_id
                  WHERE pt.event_id = ev.event_id AND tm.opp = won.opp)
      AND (ev.ctx_opportunity IS NULL OR ev.ctx_opportunity = won.opp)
      -- an introduction is a first contact: the team had not been in an e-mail or meeting with them before
      AND NOT EXISTS (SELECT 1 FROM participants pa JOIN participants pb ON pb.event_id = pa.event_id
                      JOIN team tm ON tm.opp = won.opp AND tm.member = pb.person_id
                      JOIN comm_time ct ON ct.event_id = pa.event_id
                      WHERE pa.person_id = c.contact AND ct.time < ev.time)
      -- and a warm one: the helper already knew the contact
      AND EXISTS (SELECT 1 FROM participants pa JOIN comm_time ct ON ct.event_id = pa.event_id
                  JOIN comm_actor ca ON ca.event_id = pa.event_id
                  JOIN participants ph ON ph.event_id = pa.event_id
                  WHERE pa.person_id = c.contact AND ct.time < ev.time
                    AND (ca.person_id = ev.actor_pid OR ph.person_id = ev.actor_pid))
      -- an e-mail or meeting that comes with an explicit introduction (Invite) is part of it
      AND NOT EXISTS (SELECT 1 FROM ev iv JOIN identities io ON io.identity = iv.object
                      WHERE iv.verb = 'Invite' AND iv.object_type = 'person' AND iv.actor_pid = ev.actor_pid
                        AND io.person_id = c.contact AND abs(epoch(iv.time) - epoch(ev.time)) < 2 * 86400)
    GROUP BY won.opp, ev.actor_pid, ev.source, ev.time, ev.event_id, ev.verb, ev.object, won.close_date
    QUALIFY row_number() OVER (PARTITION BY ev.event_id ORDER BY won.close_date, won.opp) = 1
),
credit AS (
    SELECT * FROM content UNION ALL SELECT * FROM kudos UNION ALL SELECT * FROM invites UNION ALL SELECT * FROM mails
)
SELECT credit.*, won.name AS opportunity, won.account_id, won.account_name, won.amount, won.close_date
FROM credit JOIN won USING (opp)
WHERE helper IS NOT NULL
  AND helper NOT IN (SELECT member FROM team WHERE team.opp = credit.opp)  -- the team's own deal
  AND helper NOT IN (SELECT person_id FROM people WHERE is_external)      -- customers do not earn credit
ORDER BY opp, helper, time
"""


def deal_credit(
    con: duckdb.DuckDBPyConnection, as_of: datetime | str | None = None, window_days: int = DEFAULT_WINDOW_DAYS
) -> pa.Table:
    """Every piece of evidence that someone outside the team helped a won deal (one row each):
    opp, helper, how, weight, time, event_id, verb, other (reader, giver or contact), item, ..."""
    now = resolve_as_of(con, as_of)
    con.register("_k_opps", opportunities(con, now))
    try:
        sql = CREDIT_SQL.format(window=int(window_days), **{k: float(v) for k, v in WEIGHTS.items()})
        return con.sql(sql, params=[now, now]).to_arrow_table()
    finally:
        con.unregister("_k_opps")


def deal_helpers(con: duckdb.DuckDBPyConnection, as_of: datetime | str | None = None,
                 window_days: int = DEFAULT_WINDOW_DAYS, evidence: pa.Table | None = None) -> pa.Table:
    """Per (won deal, helper): credit weight, share of the deal, how they helped, evidence count.
    Pass `evidence` (from `deal_credit`) to reuse it."""
    evidence = evidence if evidence is not None else deal_credit(con, as_of, window_days)
    con.register("_k_credit", evidence)
    try:
        return con.sql(
            """
            WITH per AS (
                SELECT opp, helper, any_value(opportunity) AS opportunity, any_value(account_name) AS account,
                       any_value(amount) AS amount, any_value(close_date) AS close_date,
                       sum(weight) AS weight, list_distinct(list(how ORDER BY how)) AS how, count(*) AS evidence
                FROM _k_credit GROUP BY opp, helper
            )
            SELECT *, weight / sum(weight) OVER (PARTITION BY opp) AS share FROM per ORDER BY opp, weight DESC
            """
        ).to_arrow_table()
    finally:
        con.unregister("_k_credit")


def business_influence(
    con: duckdb.DuckDBPyConnection, person_id: str, as_of: datetime | str | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS, evidence_per_deal: int = 10, evidence: pa.Table | None = None,
) -> dict[str, Any]:
    """A person's business influence: the won deals they helped, how, their share, and the evidence.
    Pass `evidence` (from `deal_credit` as of the same date) to reuse it."""
    now = resolve_as_of(con, as_of)
    evidence = evidence if evidence is not None else deal_credit(con, now, window_days)
    helpers = deal_helpers(con, now, window_days, evidence=evidence).to_pylist()
    mine = [h for h in helpers if h["helper"] == person_id]
    con.register("_k_ev", evidence)
    try:
        rows = con.sql("SELECT * FROM _k_ev WHERE helper = ?", params=[person_id]).to_arrow_table().to_pylist()
    finally:
        con.unregister("_k_ev")
    others = {r["other"] for r in rows if r["other"]}
    names = dict(con.execute(
        "SELECT person_id, display_name FROM people WHERE person_id IN (SELECT unnest(?))", [sorted(others)]
    ).fetchall()) if others else {}
    deals = []
    for h in mine:
        ev = [r for r in rows if r["opp"] == h["opp"]]
        deals.append({
            "opportunity_id": h["opp"], "opportunity": h["opportunity"], "account": h["account"],
            "amount": h["amount"], "close_date": h["close_date"], "how": h["how"],
            "share": round(float(h["share"]), 4), "attributed": round(float(h["share"]) * float(h["amount"] or 0), 2),
            "evidence": [_evidence_row(r, names) for r in ev[:evidence_per_deal]],
            "evidence_total": len(ev),
        })
    deals.sort(key=lambda d: (-(d["amount"] or 0), d["opportunity_id"]))
    return {
        "person_id": person_id,
        "as_of": now,
        "deals": deals,
        "summary": {
            "deals_helped": len(deals),
            "influenced_amount": round(sum(d["amount"] or 0 for d in deals), 2),
            "attributed_amount": round(sum(d["attributed"] for d in deals), 2),
            "by_how": {how: sum(1 for d in deals if how in d["how"]) for how in ("content", "introduction", "kudos")},
            "won_deals_in_store": _won_count(con, now),
        },
        "method": "docs/metrics.md#business-influence",
    }


def _evidence_row(r: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    other = names.get(r["other"], r["other"])
    verb = {"View": "read", "Like": "liked", "Add": "bookmarked", "Announce": "shared"}.get(r["verb"], r["verb"])
    text = {
        "content": f"{other} {verb} your “{r['item_title'] or 'item'}”",
        "kudos": f"kudos from {other}",
        "introduction": f"you introduced {other}" + (" by e-mail" if r["verb"] == "Create" else ""),
    }[r["how"]]
    return {"how": r["how"], "time": r["time"], "event_id": r["event_id"], "item_id": r["item"],
            "other": r["other"], "text": text, "weight": r["weight"]}


def _won_count(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    opps = opportunities(con, now)
    return sum(1 for o in opps.to_pylist() if o["is_won"] and o["close_date"] and o["close_date"] <= now.date())

