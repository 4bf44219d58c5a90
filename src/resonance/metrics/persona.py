"""Persona: how a person takes part, with the rule that decided it.

Per period, with
  contributions = contributions other than kudos given (activity.py),
  given    = reaction points the person gave others (reads excluded, kudos included),
  received = reaction points others gave the person (reads excluded, anonymous included),
the first rule that holds names the persona:

  Observer     contributions = 0 and given < observer_max_given           (reads only)
  Catalyst     received >= catalyst_ratio * max(given, 1)
               and received >= catalyst_min_received                       (sparks responses)
  Responder    given >= responder_ratio * max(received, 1)
               and given >= responder_min_given                            (gives far more than receives)
  Broadcaster  contributions > 0
               and given < broadcaster_given_per_contribution * contributions  (posts, rarely engages)
  Engager      otherwise                                                   (gives and receives in balance)

A person with no row in a period did nothing recorded: Observer.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.selectors as s

from resonance.metrics.relations import rounded

PERSONAS = ("Observer", "Catalyst", "Responder", "Broadcaster", "Engager")


def persona_rules(rules: dict[str, Any]) -> dict[str, str]:
    """The rule of each persona in words, with the thresholds in force."""
    r = rules["persona"]
    return {
        "Observer": f"no contributions and fewer than {r['observer_max_given']:g} reaction points given "
        "(reads only)",
        "Catalyst": f"received at least {r['catalyst_ratio']:g} times the reaction points given, "
        "and at least "
        f"{r['catalyst_min_received']:g}",
        "Responder": f"gave at least {r['responder_ratio']:g} times the reaction points received, "
        "and at least "
        f"{r['responder_min_given']:g}",
        "Broadcaster": "contributes but gives fewer than "
        f"{r['broadcaster_given_per_contribution']:g} reaction points per contribution",
        "Engager": "gives and receives in balance (none of the other rules holds)",
    }


def personas(contributions_p: ibis.Table, reactions_p: ibis.Table, rules: dict[str, Any]) -> ibis.Table:
    """(period, person_id, persona, contributions, given, received, reads)."""
    r = rules["persona"]
    c = contributions_p.filter((contributions_p.kind != "kudos_given") & (contributions_p.weight > 0))
    contrib = c.group_by(["period", "person_id"]).aggregate(contributions=c.count())
    rx = reactions_p.filter(reactions_p.weight > 0)
    not_read = rx.filter(rx.kind != "read")
    named = not_read.filter(not_read.reactor_id.notnull())
    given = named.group_by(["period", named.reactor_id.name("person_id")]).aggregate(given=named.weight.sum())
    received = not_read.group_by(["period", not_read.author_id.name("person_id")]).aggregate(
        received=not_read.weight.sum()
    )
    reads_t = rx.filter((rx.kind == "read") & rx.reactor_id.notnull())
    reads = reads_t.group_by(["period", reads_t.reactor_id.name("person_id")]).aggregate(
        reads=reads_t.count()
    )
    keys = (
        contrib.select("period", "person_id")
        .union(given.select("period", "person_id"), distinct=True)
        .union(received.select("period", "person_id"), distinct=True)
        .union(reads.select("period", "person_id"), distinct=True)
    )
    t = (
        keys.left_join(contrib, ["period", "person_id"])
        .select(~s.endswith("_right"))
        .left_join(given, ["period", "person_id"])
        .select(~s.endswith("_right"))
        .left_join(received, ["period", "person_id"])
        .select(~s.endswith("_right"))
        .left_join(reads, ["period", "person_id"])
        .select(~s.endswith("_right"))
    )
    n = t.contributions.fill_null(0)
    g = t.given.fill_null(0.0)
    rec = t.received.fill_null(0.0)
    persona = ibis.cases(
        ((n == 0) & (g < float(r["observer_max_given"])), "Observer"),
        (
            (rec >= float(r["catalyst_ratio"]) * ibis.greatest(g, 1.0))
            & (rec >= float(r["catalyst_min_received"])),
            "Catalyst",
        ),
        (
            (g >= float(r["responder_ratio"]) * ibis.greatest(rec, 1.0))
            & (g >= float(r["responder_min_given"])),
            "Responder",
        ),
        ((n > 0) & (g < float(r["broadcaster_given_per_contribution"]) * n), "Broadcaster"),
        else_="Engager",
    )
    return t.select(
        "period",
        "person_id",
        persona=persona,
        contributions=n.cast("int64"),
        given=rounded(g),
        received=rounded(rec),
        reads=t.reads.fill_null(0).cast("int64"),
    )
