"""Adoption and value trends of the viewer's organisation over the last periods of a type.

Per period (the same population each time; each point is a cell protected like any figure, so a
period whose point would differ from an earlier release by fewer than k people is left out):
adoption (share of people who contributed anything), reached (share whose work drew a reaction),
engaged (share of Engagers, Catalysts and Responders), and the median and mean knowledge value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb

from resonance.org.figures import cell_figures
from resonance.org.periods import default_period, trend_periods
from resonance.org.protect import Cell, protect
from resonance.org.schema import ensure_org_schema
from resonance.org.units import CLI_PRINCIPAL, population, scope_for
from resonance.privacy.guard import Principal, effective_min_group_size, require_aggregate_access


def org_trends(
    con: duckdb.DuckDBPyConnection,
    period: str | None = None,
    principal: Principal | None = None,
    min_group_size: int = 5,
    length: int = 12,
    endpoint: str = "cli:org-trends",
    filters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """{"period", "scope", "size", "points": [{"period", "adoption", "reached", "engaged", "kv_median",
    "kv_mean"}], "suppressed"} for the `length` periods of `period`'s type up to it."""
    ensure_org_schema(con)
    principal = principal or CLI_PRINCIPAL
    k = effective_min_group_size(min_group_size)
    p = default_period(con, period)
    scope = scope_for(con, principal)
    pop = population(con, scope, filters)
    points, suppressed = [], 0
    for q in trend_periods(con, p, length):
        cell = Cell("*", scope.label, pop, role="population")
        protect(con, [cell], q, k, viewer=principal.username)
        if not cell.shown:
            suppressed += 1
            continue
        require_aggregate_access(con, principal, pop, k, endpoint)
        f = cell_figures(con, [("*", pop)], q.label)["*"]
        persona = f["persona"]
        points.append(
            {
                "period": q.label,
                "adoption": f["activity"]["active_share"],
                "reached": f["reaction"]["active_share"],
                "engaged": min(1.0, round(persona["Engager"] + persona["Catalyst"] + persona["Responder"], 4)),
                "kv_median": f["knowledge_value"]["median"],
                "kv_mean": f["knowledge_value"]["mean"],
            }
        )
    return {
        "period": p.label,
        "period_type": p.type,
        "scope": scope.label,
        "size": len(pop),
        "min_group_size": k,
        "points": points,
        "suppressed": suppressed,
    }
