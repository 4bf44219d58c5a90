"""Anti-gaming: reciprocal exchanges far above their base rate are damped.

Self-reactions never reach the metrics (they are dropped when reactions are
resolved). Reaction and kudos rings show up as pairs of people who exchange
reactions, both ways, far more than the rest of their activity predicts. Per
period, with S(r, a) the named reaction points r gave a:

    mutual(r, a)    = min(S(r, a), S(a, r))                 the reciprocated part
    one-way points  = S(r, a) - mutual(r, a)                 the rest
    base(r, a)      = out1(r) * in1(a) / T1                  what r and a would exchange if r's
                                                            one-way giving went to people in
                                                            proportion to the one-way recognition
                                                            they get (out1, in1, T1: sums of one-way
                                                            points; base = 0 when T1 = 0)
    allowance(r, a) = max(min_volume, ratio * base(r, a))
    counted(r, a)   = S(r, a) - mutual + min(mutual, allowance)
                      + excess_weight * max(mutual - allowance, 0)

so one-way fans and ordinary give-and-take count in full, while the reciprocated
part of an exchange beyond the allowance counts only `excess_weight`. The base
rate leaves reciprocated points out on purpose: a ring inflates its members'
totals with its own exchanges, which would otherwise excuse it. Cliques are
caught pair by pair (every pair of a clique exchanges both ways).

Adding a reaction to a person never lowers what they are counted (a property
test checks it): one-way points of the new pair grow by w - dm (dm <= w the
growth of its mutual part), T1 by w - 2 dm, so in1(a) / T1 never falls (T1 >=
in1(a)), allowances towards a only grow, and counted grows with S(r, a).
"""

from __future__ import annotations

from typing import Any

import ibis

from resonance.metrics.relations import dbl, rounded


def pairs(reactions_p: ibis.Table, rules: dict[str, Any]) -> ibis.Table:
    """Per named pair: (period, reactor_id, author_id, volume, reciprocal_volume, allowance, counted,
    damped)."""
    cfg = rules["antigaming"]
    named = reactions_p.filter(reactions_p.reactor_id.notnull() & (reactions_p.weight > 0))
    s = named.group_by(["period", "reactor_id", "author_id"]).aggregate(volume=named.weight.sum())
    rev = s.select(_p=s.period, _r=s.reactor_id, _a=s.author_id, reciprocal_volume=s.volume)
    s = s.left_join(rev, (s.period == rev._p) & (s.reactor_id == rev._a) & (s.author_id == rev._r))
    s = s.select("period", "reactor_id", "author_id", "volume",
                 reciprocal_volume=s.reciprocal_volume.fill_null(0.0))
    s = s.mutate(_one_way=s.volume - ibis.least(s.volume, s.reciprocal_volume))
    out1 = s.group_by(["period", "reactor_id"]).aggregate(_out1=s._one_way.sum())
    in1 = s.group_by(["period", "author_id"]).aggregate(_in1=s._one_way.sum())
    t1 = s.group_by("period").aggregate(_t1=s._one_way.sum())
    j = s.join(out1, ["period", "reactor_id"]).join(in1, ["period", "author_id"]).join(t1, "period")
    recip = j.reciprocal_volume
    if not cfg["enabled"]:
        return j.select(
            "period",
            "reactor_id",
            "author_id",
            "volume",
            reciprocal_volume=recip,
            allowance=ibis.literal(None, "float64"),
            counted=j.volume,
            damped=ibis.literal(False),
        )
    base = ibis.ifelse(j._t1 > 0, j._out1 * j._in1 / j._t1, dbl(0.0))
    allowance = ibis.greatest(dbl(cfg["min_volume"]), dbl(cfg["ratio"]) * base)
    mutual = ibis.least(j.volume, recip)
    excess = ibis.greatest(mutual - allowance, dbl(0.0))
    counted = j.volume - mutual + ibis.least(mutual, allowance) + dbl(cfg["excess_weight"]) * excess
    return j.select(
        "period",
        "reactor_id",
        "author_id",
        "volume",
        reciprocal_volume=recip,
        allowance=rounded(allowance),
        counted=counted,
        damped=mutual > allowance,
    )
