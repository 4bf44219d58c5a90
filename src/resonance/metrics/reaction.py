"""Reaction: how others respond to a person's contributions.

Reactions are likes, shares, bookmarks, reads, tags, replies and answers, up
votes, accepted answers and kudos received, each with a weight
(`[reaction.weights]`). Self-reactions are excluded. Diminishing returns per
reactor: with S'(r, a) the points r gave a in the period after anti-gaming
damping (see antigaming.py),

    g(x) = x                if x <= c
           sqrt(c * x)      otherwise          (c = full_credit_per_reactor)

    Reaction(a, P) = sum over reactors r of g(S'(r, a))
                   + sum over anonymous reactions e of g(weight(e))

An anonymous reaction (a Stack Exchange vote) is its own reactor. The breakdown
by kind splits each reactor's credit in proportion to the points of each kind.
"""

from __future__ import annotations

from typing import Any

import ibis


def diminish(x: ibis.NumericValue, c: float) -> ibis.NumericValue:
    """g(x): full credit up to c points, then the square root."""
    return ibis.ifelse(x <= c, x, (x * c).sqrt())


def reaction(reactions_p: ibis.Table, pairs_t: ibis.Table, rules: dict[str, Any]) -> ibis.Table:
    """Breakdown (period, person_id, kind, value) of Reaction."""
    c = float(rules["reaction"]["full_credit_per_reactor"])
    pos = reactions_p.filter(reactions_p.weight > 0)
    named = pos.filter(pos.reactor_id.notnull())
    by_kind = named.group_by(["period", "reactor_id", "author_id", "kind"]).aggregate(
        points=named.weight.sum()
    )
    p = pairs_t.select("period", "reactor_id", "author_id", "volume", "counted")
    j = by_kind.join(p, ["period", "reactor_id", "author_id"])
    named_credit = j.select(
        "period", person_id=j.author_id, kind=j.kind, credit=diminish(j.counted, c) * j.points / j.volume
    )
    anon = pos.filter(pos.reactor_id.isnull())
    anon_credit = anon.select(
        "period", person_id=anon.author_id, kind=anon.kind, credit=diminish(anon.weight, c)
    )
    both = named_credit.union(anon_credit, distinct=False)
    return both.group_by(["period", "person_id", "kind"]).aggregate(value=both.credit.sum())
