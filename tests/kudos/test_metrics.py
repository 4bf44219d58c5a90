"""Kudos and votes in the metrics, through the real pipeline: kudos feed Reaction and Eminence, a
planted kudos ring is damped like a reaction ring, and a changed vote counts only as its latest; votes feed
knowledge value and Reaction with the weights of the rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from tests.web.company import _load, email

from resonance.kudos.operations import give_kudos, vote
from resonance.metrics.pipeline import run_pipeline
from resonance.metrics.rules import load_rules
from resonance.sources.base import BatchBuilder

NOW = datetime(2026, 3, 11, 10, 0)
PERIOD = "2026-03"
RING = ("hr:E06", "hr:E07", "hr:E08")
FANS = ("hr:E01", "hr:E02")
FAN_TARGET = "hr:E05"


def q(store, sql, params=None):
    return store.con.execute(sql, params or []).fetchall()


def metric(store, person, name):
    found = q(store, "SELECT value FROM person_metrics WHERE period = ? AND person_id = ? AND metric = ?",
              [PERIOD, person, name])
    return found[0][0] if found else 0.0


def background(store, n: int = 200) -> None:
    """The rest of the company's month: shares among people outside the ring (the base rate)."""
    rows = q(store, """SELECT it.item_id, i.person_id FROM items it JOIN identities i ON i.identity = it.author
                       WHERE it.kind IN ('post', 'answer', 'question') ORDER BY it.item_id""")
    items = [(item, author) for item, author in rows if author not in RING]
    others = [f"E{k:02d}" for k in (1, 2, 3, 4, 9, 10, 11, 12)]
    b = BatchBuilder("as2")
    for k in range(n):
        item, author = items[k % len(items)]
        actor = next(p for p in others[k % 8:] + others if f"hr:{p}" != author)
        b.event(native_id=f"bg{k}", time=NOW - timedelta(days=5, minutes=k), actor=email(actor), verb="Announce",
                object=item, object_type="item", file="bg.ndjson", line=k + 1)
    _load(store.con, "as2", b)


def test_kudos_ring_damped_and_latest_vote_wins(kstore, rules):
    con = kstore.con
    background(kstore)
    loose = replace(rules, budget=0, rate_limit_per_minute=0, vote_rate_limit_per_minute=0)
    items = [f"social:item{n:03d}" for n in range(1, 7)]
    t = NOW
    # A ring: each member thanks each other member 6 times (6 contexts). A fan-out of the same
    # volume: two colleagues thank FAN_TARGET 6 times each, and get nothing back.
    for giver in RING:
        for receiver in RING:
            if giver != receiver:
                for item in items:
                    t += timedelta(minutes=1)
                    assert give_kudos(con, giver, receiver, loose, item=item, now=t).created
    for fan in FANS:
        for item in items:
            t += timedelta(minutes=1)
            assert give_kudos(con, fan, FAN_TARGET, loose, item=item, now=t).created

    # Votes: one voter changes their mind (up, then down), another stays up.
    item = "social:item007"
    author = q(kstore, "SELECT i.person_id FROM items it JOIN identities i ON i.identity = it.author "
                       "WHERE it.item_id = ?", [item])[0][0]
    changer, steady = [p for p in ("hr:E11", "hr:E12", "hr:E01") if p != author][:2]
    vote(con, changer, item, 1, loose, now=NOW)
    vote(con, steady, item, 1, loose, now=NOW + timedelta(minutes=2))
    vote(con, changer, item, -1, loose, now=NOW + timedelta(minutes=5))

    run_pipeline(con, periods=[PERIOD])

    # Kudos are reactions (kind `kudos`) and endorsements in Eminence.
    kinds = dict(q(kstore, "SELECT metric, sum(value) FROM person_breakdown WHERE period = ? AND person_id = ? "
                           "AND kind = 'kudos' GROUP BY metric", [PERIOD, FAN_TARGET]))
    assert kinds.get("reaction", 0) > 0 and kinds.get("eminence", 0) > 0
    # The ring's pairs are damped, the fans' are not.
    pairs = {(r, a): d for r, a, d in q(kstore, "SELECT reactor_id, author_id, damped FROM reaction_pairs "
                                                "WHERE period = ?", [PERIOD])}
    assert all(pairs[(g, r)] for g in RING for r in RING if g != r)
    assert not any(pairs[(f, FAN_TARGET)] for f in FANS)
    # Damped: the reciprocated kudos beyond the allowance count a tenth; the fans' count in full.
    counted = {(r, a): (v, c) for r, a, v, c in q(kstore, "SELECT reactor_id, author_id, volume, counted "
                                                          "FROM reaction_pairs WHERE period = ?", [PERIOD])}
    assert all(counted[(g, r)][1] < 0.75 * counted[(g, r)][0] for g in RING for r in RING if g != r)
    assert all(counted[(f, FAN_TARGET)][1] == counted[(f, FAN_TARGET)][0] for f in FANS)

    votes = q(kstore, """SELECT reactor_id, kind FROM metric_reactions
                         WHERE event_id LIKE 'resonance:vote:%' ORDER BY reactor_id""")
    assert sorted(votes) == sorted([(changer, "vote_down"), (steady, "vote_up")])
    # Votes feed the item's knowledge value (up adds, down subtracts) and its author's Reaction (up only).
    parts = vote_parts(kstore, author)
    assert parts[("knowledge_value", "vote_up")] > 0 > parts[("knowledge_value", "vote_down")]
    assert parts[("reaction", "vote_up")] > 0 and parts.get(("reaction", "vote_down"), 0) == 0
    before = item_value(kstore, item)

    # Withdrawing the vote removes it from the metrics altogether.
    vote(con, changer, item, 0, loose, now=NOW + timedelta(minutes=9))
    run_pipeline(con, periods=[PERIOD])
    votes = q(kstore, "SELECT reactor_id, kind FROM metric_reactions WHERE event_id LIKE 'resonance:vote:%'")
    assert votes == [(steady, "vote_up")]
    assert q(kstore, "SELECT count(*) FROM events WHERE verb = 'Vote' AND source = 'resonance'")[0][0] == 4
    assert ("knowledge_value", "vote_down") not in vote_parts(kstore, author)
    assert item_value(kstore, item) > before

    # The weights come from the rules: a useful vote weighing 0 in Reaction counts nothing there.
    rules_now = load_rules()
    rules_now["reaction"]["weights"]["vote_up"] = 0.0
    rules_now["knowledge"]["weights"]["vote_up"] = 2.0 * rules_now["knowledge"]["weights"]["vote_up"]
    weighed = vote_parts(kstore, author)
    run_pipeline(con, periods=[PERIOD], rules=rules_now)
    reweighed = vote_parts(kstore, author)
    assert reweighed.get(("reaction", "vote_up"), 0) == 0
    assert reweighed[("knowledge_value", "vote_up")] == pytest.approx(2 * weighed[("knowledge_value", "vote_up")],
                                                                      rel=1e-3)


def vote_parts(store, person) -> dict:
    return {(m, k): v for m, k, v in q(store, """SELECT metric, kind, sum(value) FROM person_breakdown
                                                 WHERE period = ? AND person_id = ? AND kind LIKE 'vote_%'
                                                 GROUP BY ALL""", [PERIOD, person])}


def item_value(store, item) -> float:
    found = q(store, "SELECT value FROM item_value WHERE period = ? AND item_id = ?", [PERIOD, item])
    return found[0][0] if found else 0.0
