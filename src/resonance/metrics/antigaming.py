"""Anti-gaming: reciprocal exchanges far above their base rate are damped.

Self-reactions never reach the metrics (they are dropped when reactions are
resolved). Reaction and kudos rings show up as pairs of people who exchange
reactions, both ways, far more than their overall activity predicts. Per period,
with S(r, a) the named reaction points r gave a:

    base(r, a)      = out(r) * in(a) / T           (what r and a would exchange at random)
    allowance(r, a) = max(min_volume, ratio * base(r, a))
    mutual(r, a)    = min(S(r, a), S(a, r))         (the reciprocated part)
    counted(r, a)   = S(r, a) - mutual + min(mutual, allowance)
                      + excess_weight * max(mutual - allowance, 0)

so one-way fans and ordinary give-and-take count in full, while the reciprocated
part of an exchange beyond the allowance counts only `excess_weight`. Cliques
are caught pair by pair (every pair of a clique exchanges both ways). Adding a
reaction to a person never lowers what they are counted: allowance only grows
with in(a) (T >= in(a)), and counted grows with S(r, a).
"""

from __future__ import annotations

from typing import Any

import ibis


def pairs(reactions_p: ibis.Table, rules: dict[str, Any]) -> ibis.Table:
    """Per named pair: (period, reactor_id, author_id, volume, reciprocal_volume, allowance, counted,
    damped)."""
    cfg = rules["antigaming"]
    named = reactions_p.filter(reactions_p.reactor_id.notnull() & (reactions_p.weight > 0))
    s = named.group_by(["period", "reactor_id", "author_id"]).aggregate(volume=named.weight.sum())
    out = s.group_by(["period", "reactor_id"]).aggregate(_out=s.volume.sum())
    inn = s.group_by(["period", "author_id"]).aggregate(_in=s.volume.sum())
    tot = s.group_by("period").aggregate(_total=s.volume.sum())
    rev = s.select(_p=s.period, _r=s.reactor_id, _a=s.author_id, reciprocal_volume=s.volume)
    j = s.join(out, ["period", "reactor_id"]).join(inn, ["period", "author_id"]).join(tot, "period")
    j = j.left_join(rev, (j.period == rev._p) & (j.reactor_id == rev._a) & (j.author_id == rev._r))
    recip = j.reciprocal_volume.fill_null(0.0)
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
    allowance = ibis.greatest(float(cfg["min_volume"]), float(cfg["ratio"]) * j._out * j._in / j._total)
    mutual = ibis.least(j.volume, recip)
    excess = ibis.greatest(mutual - allowance, 0.0)
    counted = j.volume - mutual + ibis.least(mutual, allowance) + float(cfg["excess_weight"]) * excess
    return j.select(
        "period",
        "reactor_id",
        "author_id",
        "volume",
        reciprocal_volume=recip,
        allowance=allowance.round(6),
        counted=counted,
        damped=mutual > allowance,
    )
