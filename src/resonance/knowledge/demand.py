"""Who needs what I know, and when: demand matched to a person's expertise and contacts.

Demand (as of a date):
- **open questions**: asked in the last `question_days`, with no accepted answer yet,
  not by the person; matched to the person's expertise with the expert finder (the
  person must rank among the top few for the question);
- **open opportunities**: not closed, closing within `horizon_days`, where the person
  is neither owner nor on the deal team; matched to the person's *contacts* at the
  account (people they met or wrote to) and to their expertise on the deal's topic;
- **upcoming customer meetings**: in the next `meeting_days`, with contacts the person
  knows, that the person is not attending.

Supply: the person's expertise (experts.py) and external contacts (graph.py ties
to external people, counted by meetings and messages, grouped by account).

**Only what the person may already see in the source systems** is shown (`DemandPolicy`):
questions are visible to every employee (they were asked in company communities);
opportunities follow the CRM's sharing model (`crm_visibility`: "public-read", every
employee may read open opportunities, Salesforce's "Public Read Only" default;
"crm-users", only people with a CRM account; "team", only owners and team members,
which leaves nothing to offer); colleagues' meetings are shown only as the CRM shows
them (date and account of a meeting linked to a visible opportunity), never their
invitations or subjects unless the person is invited.

Each opportunity to help carries why, when, what to do, and its evidence; the list is
ranked by fit x urgency x value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np

from resonance.knowledge.accounts import opportunities
from resonance.knowledge.corpus import resolve_as_of
from resonance.knowledge.experts import ExpertFinder, Question
from resonance.knowledge.graph import PersonGraph, build_graph
from resonance.knowledge.index import KnowledgeIndex, build_index
from resonance.knowledge.people import names_of


@dataclass(frozen=True, slots=True)
class DemandPolicy:
    """What counts as demand and what the person may see."""

    crm_visibility: str = "public-read"  # public-read | crm-users | team
    horizon_days: int = 90               # opportunities closing within this
    question_days: int = 60              # open questions asked within this
    meeting_days: int = 14               # upcoming meetings within this
    contact_days: int = 365              # contacts met or written to within this
    max_expert_rank: int = 3             # a question is for you if you rank this high for it
    min_fit: float = 0.15                # weaker matches are left out
    min_topic_fit: float = 0.5           # a deal needs a strong topical match when you know nobody there
    shortlist: int = 40                  # open questions closest to the person's profile, ranked in full


def _money(amount: float | None) -> str:
    if amount is None:
        return "amount unknown"
    if amount >= 1e6:
        return f"${amount / 1e6:.1f}M"
    if amount >= 1e3:
        return f"${amount / 1e3:.0f}k"
    return f"${amount:.0f}"


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _days(n: int) -> str:
    if n == 0:
        return "today"
    if n == 1:
        return "tomorrow"
    return f"in {n} days"


def person_contacts(graph: PersonGraph, con: duckdb.DuckDBPyConnection, person_id: str) -> list[dict[str, Any]]:
    """External people the person has met or written to (graph ties), with the account they belong to."""
    e = graph.edges
    a, b = e.column("a").to_pylist(), e.column("b").to_pylist()
    others = {(y if x == person_id else x): i for i, (x, y) in enumerate(zip(a, b, strict=True))
              if person_id in (x, y)}
    if not others:
        return []
    rows = con.execute(
        """SELECT p.person_id, p.display_name, p.title, p.organization, acc.item_id
           FROM people p LEFT JOIN items acc ON acc.kind = 'account' AND lower(acc.title) = lower(p.organization)
           WHERE p.is_external AND p.person_id IN (SELECT unnest(?))""",
        [sorted(others)],
    ).fetchall()
    meetings, messages = e.column("meetings").to_pylist(), e.column("messages").to_pylist()
    intros, strength = e.column("introductions").to_pylist(), e.column("strength").to_pylist()
    out = []
    for pid, name, title, org, account in rows:
        i = others[pid]
        out.append({"person": pid, "display_name": name, "title": title, "organization": org, "account_id": account,
                    "meetings": int(meetings[i]), "messages": int(messages[i]), "introductions": int(intros[i]),
                    "strength": float(strength[i])})
    out.sort(key=lambda c: (-c["strength"], c["person"]))
    return out


def can_see_opportunities(con: duckdb.DuckDBPyConnection, person_id: str, policy: DemandPolicy) -> bool:
    """Whether the CRM would show this person opportunities they are not on (see DemandPolicy)."""
    if policy.crm_visibility == "public-read":
        return True
    if policy.crm_visibility == "crm-users":
        rows = con.execute(
            "SELECT count(*) FROM identities WHERE person_id = ? AND identity LIKE 'crm:005%'", [person_id]
        ).fetchall()
        return bool(rows[0][0])
    return False


def opportunities_to_help(
    con: duckdb.DuckDBPyConnection,
    person_id: str,
    as_of: datetime | str | None = None,
    policy: DemandPolicy | None = None,
    index: KnowledgeIndex | None = None,
    graph: PersonGraph | None = None,
    top: int = 20,
) -> dict[str, Any]:
    """Ranked opportunities for `person_id` to help, each with why, when, action and evidence."""
    policy = policy or DemandPolicy()
    now = resolve_as_of(con, as_of)
    index = index or build_index(con, as_of=now)
    graph = graph or build_graph(con, as_of=now, window_days=policy.contact_days)
    contacts = person_contacts(graph, con, person_id)
    by_account: dict[str, list[dict]] = {}
    for c in contacts:
        if c["account_id"]:
            by_account.setdefault(c["account_id"], []).append(c)

    items: list[dict[str, Any]] = []
    items += _question_demand(con, person_id, now, policy, index)
    visible = can_see_opportunities(con, person_id, policy)
    if visible:
        items += _opportunity_demand(con, person_id, now, policy, index, by_account)
    items += _meeting_demand(con, person_id, now, policy, by_account, visible)
    items.sort(key=lambda x: (-x["score"], x["kind"], x["id"]))
    return {
        "person_id": person_id,
        "as_of": now,
        "policy": {"crm_visibility": policy.crm_visibility, "horizon_days": policy.horizon_days,
                   "question_days": policy.question_days, "meeting_days": policy.meeting_days},
        "contacts": {"people": len(contacts), "accounts": len(by_account)},
        "opportunities": items[:top],
        "total": len(items),
    }


# --- open questions -----------------------------------------------------------------------
def _question_demand(
    con: duckdb.DuckDBPyConnection, person_id: str, now: datetime, policy: DemandPolicy, index: KnowledgeIndex
) -> list[dict[str, Any]]:
    if person_id not in set(index.persons):
        return []
    rows = con.execute(
        """
        WITH q AS (
            SELECT i.item_id, i.title, i.text, i.tags, i.created, a.person_id AS asker
            FROM items i LEFT JOIN identities a ON a.identity = i.author
            WHERE i.kind = 'question' AND i.created <= ? AND i.created > ?
        ),
        answers AS (
            SELECT parent_id, count(*) AS n FROM items WHERE kind = 'answer' AND created <= ? GROUP BY parent_id
        ),
        accepted AS (
            SELECT DISTINCT coalesce(e.ctx_item, ans.parent_id) AS question
            FROM events e LEFT JOIN items ans ON ans.item_id = e.object
            WHERE e.verb = 'Accept' AND e.time <= ?
        ),
        mine AS (  -- questions the person already answered
            SELECT DISTINCT i.parent_id FROM items i JOIN identities p ON p.identity = i.author
            WHERE p.person_id = ? AND i.kind = 'answer'
        )
        SELECT q.item_id, q.title, q.text, q.tags, q.created, q.asker, coalesce(answers.n, 0)
        FROM q LEFT JOIN answers ON answers.parent_id = q.item_id
        WHERE q.item_id NOT IN (SELECT question FROM accepted WHERE question IS NOT NULL)
          AND q.item_id NOT IN (SELECT parent_id FROM mine WHERE parent_id IS NOT NULL)
          AND q.asker IS DISTINCT FROM ?
        ORDER BY q.created DESC, q.item_id
        LIMIT 2000
        """,
        [now, now - timedelta(days=policy.question_days), now, now, person_id, person_id],
    ).fetchall()
    if not rows:
        return []
    questions = [Question(text=f"{r[1] or ''} {r[1] or ''} {r[2] or ''}", tags=list(r[3] or []), id=r[0],
                          asker=r[5]) for r in rows]
    # Shortlist by the person's own profile first (one sparse product), so that ranking everyone
    # runs on a few dozen questions, not thousands.
    keep = _shortlist(index, person_id, questions, policy.shortlist)
    rows, questions = [rows[k] for k in keep], [questions[k] for k in keep]
    finder = ExpertFinder(index, prior_weight=0.0)  # what you know, not how active you are
    scores, contrib = finder.scores(questions)
    me = index.persons.index(person_id)
    askers = names_of(con, {r[5] for r in rows if r[5]})
    out = []
    for k, r in enumerate(rows):
        s = scores[k]
        mine = s[me]
        if not np.isfinite(mine) or mine <= 0:
            continue
        rank = int((s > mine).sum()) + 1
        fit = float(mine / np.nanmax(np.where(np.isfinite(s), s, np.nan)))
        if rank > policy.max_expert_rank or fit < policy.min_fit:
            continue
        age = max((now - r[4]).days, 0)
        urgency = math.exp(-age / 14)
        expert = finder.explain(person_id, questions[k], contrib[k], float(mine))
        topics = ", ".join((expert.matched_tags if expert else [])[:3]) or ", ".join(expert.terms[:3] if expert else [])
        state = "unanswered" if r[6] == 0 else f"{r[6]} answer{'s' if r[6] != 1 else ''}, none accepted"
        asker = askers.get(r[5], "a colleague") if r[5] else "a colleague"
        out.append({
            "kind": "question",
            "id": r[0],
            "title": r[1],
            "score": round(0.8 * fit * (0.5 + 0.5 * urgency), 4),
            "when": f"asked {age} day{'s' if age != 1 else ''} ago; {state}",
            "why": f"{asker} asked “{r[1]}”; you rank #{rank} among the people who could answer"
                   + (f" (you know {topics})" if topics else ""),
            "action": "answer it, or point the asker to your earlier answer",
            "evidence": expert.evidence if expert else [],
            "facts": {"asked": r[4], "answers": r[6], "rank": rank, "fit": round(fit, 3), "asker": r[5],
                      "asker_name": asker, "tags": list(r[3] or [])},
        })
    return out


def _shortlist(index: KnowledgeIndex, person_id: str, questions: list[Question], n: int) -> list[int]:
    """The questions closest to the person's weighted contributions (indices, best first)."""
    if len(questions) <= n:
        return list(range(len(questions)))
    from resonance.knowledge.corpus import to_micros
    from resonance.knowledge.experts import query_text

    me = index.persons.index(person_id)
    rows = np.flatnonzero(index.person_of == me)
    weights = index.weights_as_of(to_micros(index.corpus.as_of) + 1)[rows]
    profile = np.asarray(index.docs[rows].T @ weights).ravel()
    q = index.query_vectors([query_text(x, index.model.tags_in_text) for x in questions])
    sims = q @ profile
    return [int(k) for k in np.argsort(-sims, kind="stable")[:n] if sims[k] > 0]


# --- open opportunities -----------------------------------------------------------------
def _opportunity_demand(
    con: duckdb.DuckDBPyConnection, person_id: str, now: datetime, policy: DemandPolicy,
    index: KnowledgeIndex, by_account: dict[str, list[dict]],
) -> list[dict[str, Any]]:
    opps = [o for o in opportunities(con, now).to_pylist()
            if not o["is_closed"] and o["close_date"] is not None
            and now.date() <= o["close_date"] <= (now + timedelta(days=policy.horizon_days)).date()
            and person_id not in (o["team"] or [])]
    if not opps:
        return []
    # Expertise on what the deal is about: its name, products and the customer's industry.
    topics = [deal_topic(o) for o in opps]
    deals = [Question(text=t, id=o["item_id"]) for t, o in zip(topics, opps, strict=True)]
    fit = _expertise_fit(index, person_id, deals, policy.max_expert_rank)
    names = names_of(con, {o["owner"] for o in opps if o["owner"]})
    out = []
    for o, topic_fit, topic in zip(opps, fit, topics, strict=True):
        known = by_account.get(o["account_id"] or "", [])
        contact_fit = min(1.0, sum(c["strength"] for c in known) / 6.0)
        if topic_fit < policy.min_topic_fit:
            topic_fit = 0.0
        if contact_fit == 0 and topic_fit == 0:
            continue
        days = (o["close_date"] - now.date()).days
        urgency = math.exp(-days / 30)
        value = min(1.0, math.log10(max(o["amount"] or 1.0, 1.0)) / 7.0)
        score = max(contact_fit, topic_fit) * (0.5 + 0.5 * urgency) * (0.5 + 0.5 * value)
        owner = names.get(o["owner"], "its owner") if o["owner"] else "its owner"
        account = o["account_name"] or "the customer"
        reasons = []
        if known:
            best = known[0]
            contact = best["display_name"] + (f", their {best['title']}" if best.get("title") else "")
            met = []
            if best["meetings"]:
                met.append(f"met {contact} {_times(best['meetings'])}")
            if best["messages"]:
                met.append(f"wrote to {contact} {_times(best['messages'])}" if not met
                           else f"exchanged {best['messages']} messages")
            if not met:
                met.append(f"know {contact}")
            reasons.append("you " + " and ".join(met) + " this year")
            if len(known) > 1:
                reasons.append(f"you know {len(known) - 1} more of their people")
        if topic_fit:
            terms = _topic_words(index, person_id, topic)
            reasons.append(f"you are among the colleagues who know {', '.join(terms) or 'its topic'} best")
        action = "offer an introduction" if known else "offer your know-how"
        out.append({
            "kind": "opportunity",
            "id": o["item_id"],
            "title": o["name"],
            "score": round(score, 4),
            "when": f"closes {_days(days)} ({o['close_date']:%Y-%m-%d}), stage {o['stage'] or 'unknown'}",
            "why": f"{account}'s {o['name'].split(' - ')[-1] if o['name'] else 'deal'} ({_money(o['amount'])}) "
                   f"closes {_days(days)}; " + "; ".join(reasons) + f"; the owner is {owner} — {action}",
            "action": action,
            "evidence": [{"contact": c["person"], "display_name": c["display_name"], "title": c["title"],
                          "meetings": c["meetings"], "messages": c["messages"]} for c in known[:5]],
            "facts": {"account_id": o["account_id"], "account": account, "industry": o["industry"],
                      "amount": o["amount"], "stage": o["stage"], "close_date": o["close_date"],
                      "owner": o["owner"], "owner_name": owner, "team": o["team"], "products": o["products"],
                      "contact_fit": round(contact_fit, 3), "topic_fit": round(topic_fit, 3)},
        })
    return out


DEAL_TYPE_WORDS = frozenset({"new", "business", "renewal", "expansion", "pilot", "upsell", "add", "on", "add-on"})
"""Words of a deal's name that say what kind of deal it is, not what it is about."""


def deal_topic(o: dict[str, Any]) -> str:
    """What a deal is about: its name without the account's name and deal-type words, its products, the
    customer's industry."""
    name = o["name"] or ""
    account = o.get("account_name") or ""
    if account and name.lower().startswith(account.lower()):
        name = name[len(account):]
    words = [w for w in re.split(r"[\s\-–—:,/]+", name) if w and w.lower() not in DEAL_TYPE_WORDS]
    return " ".join([*words, *(x for x in (o.get("products"), o.get("industry")) if x)])


def _topic_words(index: KnowledgeIndex, person_id: str, text: str) -> list[str]:
    """The deal's distinctive words that weigh most in the person's contributions."""
    rows = np.flatnonzero(index.person_of == index.persons.index(person_id))
    return ExpertFinder(index)._shared_terms(text, rows, n=3)


def _expertise_fit(
    index: KnowledgeIndex, person_id: str, questions: list[Question], max_rank: int = 3
) -> list[float]:
    """How well the person's expertise matches each text, relative to the best match in the company (0..1);
    0 unless the person is among the `max_rank` best matches."""
    if person_id not in set(index.persons) or not questions:
        return [0.0] * len(questions)
    me = index.persons.index(person_id)
    scores, _ = ExpertFinder(index, prior_weight=0.0).scores(questions)  # topical fit only
    scores = np.where(np.isfinite(scores), scores, 0.0)
    best = scores.max(axis=1)
    rank = (scores > scores[:, [me]]).sum(axis=1) + 1
    return [float(scores[i, me] / best[i]) if best[i] > 0 and rank[i] <= max_rank else 0.0
            for i in range(len(questions))]


# --- upcoming customer meetings ---------------------------------------------------------
def _meeting_demand(
    con: duckdb.DuckDBPyConnection, person_id: str, now: datetime, policy: DemandPolicy,
    by_account: dict[str, list[dict]], crm_visible: bool,
) -> list[dict[str, Any]]:
    if not by_account:
        return []
    contact_ids = sorted({c["person"] for cs in by_account.values() for c in cs})
    rows = con.execute(
        """
        WITH m AS (
            SELECT DISTINCT e.object AS meeting, e.ctx_account AS account_id, min(e.time) AS starts
            FROM events e WHERE e.verb IN ('Attend', 'Invite', 'Create') AND e.ctx_account IS NOT NULL
              AND e.time > ? AND e.time <= ?
            GROUP BY ALL
        ),
        who AS (
            SELECT e.object AS meeting, list_distinct(list(p.person_id)) AS people
            FROM events e JOIN identities p ON p.identity = coalesce(CASE WHEN e.verb = 'Invite' THEN e.target END,
                                                                    e.actor)
            WHERE e.verb IN ('Attend', 'Invite', 'Create') AND e.object IN (SELECT meeting FROM m)
            GROUP BY ALL
        )
        SELECT m.meeting, m.account_id, m.starts, i.title, who.people
        FROM m JOIN who USING (meeting) LEFT JOIN items i ON i.item_id = m.meeting
        WHERE list_has_any(who.people, ?) AND NOT list_contains(who.people, ?)
        ORDER BY m.starts, m.meeting
        """,
        [now, now + timedelta(days=policy.meeting_days), contact_ids, person_id],
    ).fetchall()
    if not rows or not crm_visible:
        return []  # a colleague's meeting is visible only as a CRM activity on a visible account
    accounts = dict(con.execute(
        "SELECT item_id, title FROM items WHERE kind = 'account' AND item_id IN (SELECT unnest(?))",
        [sorted({r[1] for r in rows})]).fetchall())
    out = []
    for meeting, account_id, starts, _title, people in rows:
        known = [c for c in by_account.get(account_id, []) if c["person"] in set(people)]
        if not known:
            continue
        days = max((starts.date() - now.date()).days, 0)
        fit = min(1.0, sum(c["strength"] for c in known) / 6.0)
        urgency = math.exp(-days / 7)
        account = accounts.get(account_id, "a customer")
        names = ", ".join(c["display_name"] + (f" ({c['title']})" if c.get("title") else "") for c in known[:3])
        out.append({
            "kind": "meeting",
            "id": meeting,
            "title": f"Meeting with {account}",
            "score": round(0.7 * fit * (0.5 + 0.5 * urgency), 4),
            "when": f"{_days(days)} ({starts:%a %Y-%m-%d %H:%M} UTC)",
            "why": f"colleagues meet {account} {_days(days)}; you know {names} — brief the team before",
            "action": "brief the team on the people you know",
            "evidence": [{"contact": c["person"], "display_name": c["display_name"], "title": c["title"],
                          "meetings": c["meetings"], "messages": c["messages"]} for c in known[:5]],
            "facts": {"account_id": account_id, "account": account, "starts": starts},
        })
    return out
