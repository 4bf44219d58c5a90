"""Roll-ups by manager subtree, department, location or role: distributions, never individuals.

`rollup` is the one function the CLI, the API, the web dashboard and the exports call. It
takes the viewer (a `Principal`; the command line acts as an analyst), builds the viewer's
population and the units, lets `protect` decide what may be shown (k and complementary
suppression against the release log), asks the privacy guard for every shown cell, and
computes the figures in DuckDB.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb

from resonance.org.figures import cell_figures
from resonance.org.periods import default_period
from resonance.org.protect import Cell, protect
from resonance.org.schema import ensure_org_schema
from resonance.org.units import CLI_PRINCIPAL, population, scope_for, units
from resonance.privacy.guard import Principal, effective_min_group_size, require_aggregate_access

POPULATION_KEY = "*"


def rollup(
    con: duckdb.DuckDBPyConnection,
    by: str,
    period: str | None = None,
    unit: str | None = None,
    filters: Mapping[str, str] | None = None,
    principal: Principal | None = None,
    min_group_size: int = 5,
    endpoint: str = "cli:org",
    record: bool = True,
) -> dict[str, Any]:
    """The roll-up of the viewer's population by `by` for `period` (None = the latest month).

    Returns {"by", "period", "min_group_size", "groups": [{"unit", "label", "size", "metrics"}],
    "suppressed", "scope": {"label", "size", "metrics"} or None, "suppressed_reasons"}; see
    `contract` for the exact JSON of `resonance org --json`.
    """
    principal = principal or CLI_PRINCIPAL
    k = effective_min_group_size(min_group_size)
    ensure_org_schema(con)
    p = default_period(con, period)
    scope = scope_for(con, principal)
    pop = population(con, scope, filters)
    found = units(con, by, pop, unit, scope=scope)
    cells = [Cell(POPULATION_KEY, scope.label, pop, role="population")]
    cells += [Cell(key, u["label"], u["members"]) for key, u in sorted(found.items())]
    protect(con, cells, p, k, viewer=principal.username, record=record)
    shown = [c for c in cells if c.shown]
    for c in shown:
        require_aggregate_access(con, principal, c.members, k, endpoint)
    figures = cell_figures(con, [(c.key, c.members) for c in shown], p.label)
    groups = [
        {"unit": c.key, "label": c.label, "size": c.size, "metrics": figures[c.key]} for c in cells[1:] if c.shown
    ]
    groups.sort(key=lambda g: (-g["size"], g["unit"]))
    scope_cell = cells[0]
    return {
        "by": by,
        "period": p.label,
        "min_group_size": k,
        "groups": groups,
        "suppressed": sum(1 for c in cells[1:] if not c.shown),
        "suppressed_reasons": sorted({c.reason for c in cells[1:] if c.reason}),
        "scope": (
            {"label": scope_cell.label, "size": scope_cell.size, "metrics": figures[POPULATION_KEY]}
            if scope_cell.shown
            else None
        ),
        "scope_reason": scope_cell.reason,
        "filters": dict(filters or {}),
    }


def contract(result: Mapping[str, Any]) -> dict[str, Any]:
    """Exactly the JSON of `resonance org --json` (docs/org.md)."""
    return {
        "by": result["by"],
        "period": result["period"],
        "min_group_size": result["min_group_size"],
        "groups": [{"unit": g["unit"], "size": g["size"], "metrics": g["metrics"]} for g in result["groups"]],
        "suppressed": result["suppressed"],
    }
