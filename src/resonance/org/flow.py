"""Knowledge flow between departments or locations, and silos.

A flow goes from the person whose knowledge was used to the person who used it: the author of
an item that someone liked, shared, bookmarked, replied to, voted up, accepted or thanked with
kudos flows *to* that reactor; an answer flows from the answerer to the asker. Reads, dislikes
and down votes are left out. The event-level rows are the metrics engine's `metric_reactions`
(self-reactions already removed, people already resolved), taken in the period's time window.

Units are cells like any other figure (k, complementary suppression, the release log): an
analyst sees the company's units; a manager sees the units inside their own subtree, and the
rest of the company per unit (outside units, named only as flow endpoints). Flows of opted-out
people, and flows between two outside units, are not counted.

A **silo** is a shown unit whose knowledge rarely crosses its boundary:
openness = (flow in + flow out) / (flow in + flow out + flow inside) below `SILO_OPENNESS`
(or no flow at all). Krackhardt and Stern's E-I index, (E - I) / (E + I), is reported too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa

from resonance.org.periods import default_period
from resonance.org.protect import Cell, protect
from resonance.org.schema import ensure_org_schema
from resonance.org.units import CLI_PRINCIPAL, population, scope_for, units
from resonance.privacy.guard import Principal, effective_min_group_size, require_aggregate_access

FLOW_DIMENSIONS = ("department", "location")
SILO_OPENNESS = 0.25
"""A unit with less than this share of its knowledge flow crossing its boundary is a silo."""
NOT_FLOW = ("read", "dislike", "vote_down")
OUTSIDE = "outside:"


def knowledge_flow(
    con: duckdb.DuckDBPyConnection,
    by: str = "department",
    period: str | None = None,
    principal: Principal | None = None,
    min_group_size: int = 5,
    endpoint: str = "cli:org-flow",
    filters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The flow matrix between the shown units of `by` in the viewer's scope, with silos."""
    if by not in FLOW_DIMENSIONS:
        raise ValueError(f"knowledge flow is by department or location, not {by!r}")
    ensure_org_schema(con)
    principal = principal or CLI_PRINCIPAL
    k = effective_min_group_size(min_group_size)
    p = default_period(con, period)
    scope = scope_for(con, principal)
    pop = population(con, scope, filters)
    cells = [Cell("*", scope.label, pop, role="population")]
    cells += [Cell(key, u["label"], u["members"]) for key, u in sorted(units(con, by, pop).items())]
    if scope.kind == "subtree":
        everyone = population(con, scope_for(con, CLI_PRINCIPAL), filters)
        rest = everyone - scope.members
        cells += [
            Cell(OUTSIDE + key, f"{u['label']} (rest of the company)", u["members"], role="counterpart")
            for key, u in sorted(units(con, by, frozenset(rest)).items())
        ]
    protect(con, cells, p, k, viewer=principal.username)
    inside = [c for c in cells[1:] if c.shown and c.role == "group"]
    for c in inside:
        require_aggregate_access(con, principal, c.members, k, endpoint)
    shown = [c for c in cells[1:] if c.shown]
    matrix = _matrix(con, shown, p.start, p.end)
    unit_rows = [{"unit": c.key, "label": c.label, "size": c.size, "inside": c.role == "group"} for c in shown]
    return {
        "by": by,
        "period": p.label,
        "min_group_size": k,
        "scope": scope.label,
        "units": unit_rows,
        "matrix": matrix,
        "silos": silos(unit_rows, matrix),
        "suppressed": sum(1 for c in cells[1:] if not c.shown),
    }


def _matrix(con: duckdb.DuckDBPyConnection, shown: list[Cell], start: Any, end: Any) -> list[dict[str, Any]]:
    if not shown:
        return []
    table = pa.table(
        {
            "unit": [c.key for c in shown for _ in c.members],
            "person_id": [p for c in shown for p in sorted(c.members)],
            "outside": [c.role == "counterpart" for c in shown for _ in c.members],
        }
    )
    cur = con.cursor()
    try:
        cur.register("_flow_units", table)
        rows = cur.execute(
            """
            WITH r AS (
                SELECT CASE WHEN kind = 'answer' THEN reactor_id ELSE author_id END AS provider,
                       CASE WHEN kind = 'answer' THEN author_id ELSE reactor_id END AS recipient,
                       weight
                FROM metric_reactions
                WHERE time >= ? AND time < ? AND reactor_id IS NOT NULL
                  AND kind NOT IN (SELECT unnest(?::VARCHAR[]))
            )
            SELECT a.unit, b.unit, count(*), round(sum(r.weight), 4)
            FROM r JOIN _flow_units a ON a.person_id = r.provider JOIN _flow_units b ON b.person_id = r.recipient
            WHERE NOT (a.outside AND b.outside)
            GROUP BY ALL ORDER BY 1, 2
            """,
            [start, end, list(NOT_FLOW)],
        ).fetchall()
        cur.unregister("_flow_units")
    finally:
        cur.close()
    return [{"from": a, "to": b, "interactions": int(n), "points": float(w or 0)} for a, b, n, w in rows]


def silos(unit_rows: list[dict[str, Any]], matrix: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per inside unit: flow in, out and inside, openness, E-I index, and whether it is a silo."""
    out = []
    for u in unit_rows:
        if not u["inside"]:
            continue
        key = u["unit"]
        internal = sum(m["interactions"] for m in matrix if m["from"] == key and m["to"] == key)
        flow_out = sum(m["interactions"] for m in matrix if m["from"] == key and m["to"] != key)
        flow_in = sum(m["interactions"] for m in matrix if m["to"] == key and m["from"] != key)
        crossing = flow_in + flow_out
        total = crossing + internal
        openness = crossing / total if total else None
        out.append(
            {
                "unit": key,
                "label": u["label"],
                "size": u["size"],
                "inside": internal,
                "in": flow_in,
                "out": flow_out,
                "openness": round(openness, 4) if openness is not None else None,
                "ei_index": round((crossing - internal) / total, 4) if total else None,
                "silo": openness is None or openness < SILO_OPENNESS,
            }
        )
    out.sort(key=lambda s: (s["openness"] if s["openness"] is not None else -1.0, s["unit"]))
    return out
