"""Activity: what a person contributes, weighted by kind.

    Activity(p, P) = sum over p's contributions c in P of weight(kind(c))

Kinds are item kinds (question, answer, post, comment, message, file, wiki, ...)
plus edits, kudos given, replies recorded as events, and creations of items
the store does not hold (`other`). Weights: `[activity.weights]` in rules.toml.
"""

from __future__ import annotations

from typing import Any

import ibis


def activity(contributions_p: ibis.Table, rules: dict[str, Any]) -> ibis.Table:
    """Breakdown (period, person_id, kind, value) of Activity."""
    c = contributions_p.filter(contributions_p.weight != 0)
    return c.group_by(["period", "person_id", "kind"]).aggregate(value=c.weight.sum())
