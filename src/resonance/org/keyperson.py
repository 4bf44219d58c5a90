"""Key-person risk: topics whose knowledge value is held by one or two people.

Topics are the tags of shared items (`items.tags`); a topic's value in a period is the knowledge
value (`item_value`) of the items with that tag authored by people of the viewer's scope (opted-out
people excluded). A topic is at risk when one person holds at least `CONCENTRATION` of its value,
or two people together do. Only the topic is shown, with how many people hold it (one or two),
the concentration rounded down to 5 % and the topic's rank by value in the scope: never who
holds it, and never a value (one person's value would be shown).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb

from resonance.org.periods import default_period
from resonance.org.protect import Cell, protect
from resonance.org.schema import ensure_org_schema
from resonance.org.units import CLI_PRINCIPAL, population, scope_for
from resonance.privacy.guard import Principal, effective_min_group_size, require_aggregate_access

CONCENTRATION = 0.8
TOP_TOPICS = 30
"""Only the scope's most valuable topics are examined: a rare topic held by one person is no risk."""


def key_person_risk(
    con: duckdb.DuckDBPyConnection,
    period: str | None = None,
    principal: Principal | None = None,
    min_group_size: int = 5,
    endpoint: str = "cli:org-key-person",
    filters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """{"period", "scope", "topics": [{"topic", "held_by", "concentration", "rank"}], "examined", "shown"}
    (`shown` false, and no topic, when the scope itself may not be shown)."""
    ensure_org_schema(con)
    principal = principal or CLI_PRINCIPAL
    k = effective_min_group_size(min_group_size)
    p = default_period(con, period)
    scope = scope_for(con, principal)
    pop = population(con, scope, filters)
    cell = Cell("*", scope.label, pop, role="population")
    protect(con, [cell], p, k, viewer=principal.username)
    if not cell.shown:
        # Too small, or it would differ by fewer than k people from a figure shown before: say nothing.
        return {
            "period": p.label,
            "scope": scope.label,
            "min_group_size": k,
            "topics": [],
            "examined": 0,
            "shown": False,
        }
    require_aggregate_access(con, principal, pop, k, endpoint)
    rows = con.execute(
        """
        WITH v AS (
            SELECT iv.author_id, iv.value, unnest(it.tags) AS topic
            FROM item_value iv JOIN items it USING (item_id)
            WHERE iv.period = ? AND iv.value > 0 AND iv.author_id IN (SELECT unnest(?::VARCHAR[]))
        ),
        t AS (SELECT lower(topic) AS topic, author_id, sum(value) AS value FROM v GROUP BY ALL),
        r AS (
            SELECT topic, value, row_number() OVER (PARTITION BY topic ORDER BY value DESC, author_id) AS rk,
                   sum(value) OVER (PARTITION BY topic) AS total
            FROM t
        ),
        s AS (
            SELECT topic, any_value(total) AS total,
                   sum(value) FILTER (WHERE rk = 1) / any_value(total) AS top1,
                   sum(value) FILTER (WHERE rk <= 2) / any_value(total) AS top2
            FROM r GROUP BY topic
        )
        SELECT topic, top1, top2, row_number() OVER (ORDER BY total DESC, topic) AS rank FROM s
        ORDER BY rank LIMIT ?
        """,
        [p.label, sorted(pop), TOP_TOPICS],
    ).fetchall()
    topics = []
    for topic, top1, top2, rank in rows:
        held_by = 1 if top1 >= CONCENTRATION else 2 if top2 >= CONCENTRATION else 0
        if held_by:
            share = top1 if held_by == 1 else top2
            topics.append({"topic": topic, "held_by": held_by, "concentration": int(share * 20) * 5, "rank": int(rank)})
    return {
        "period": p.label,
        "scope": scope.label,
        "min_group_size": k,
        "topics": topics,
        "examined": len(rows),
        "shown": True,
    }
