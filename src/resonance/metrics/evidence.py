"""The events and items behind a figure, paged: one click from a number to why.

    evidence(con, person, metric, period=None, page=1, page_size=50)
      -> {"metric", "period", "items": [...], "total", "page", "page_size"}

- activity: the person's contributions (kind, weight, item);
- reaction: reactions received (who, or "anonymous"; kind, weight; whether the
  pair was damped by anti-gaming and the share of it that counted);
- eminence: who endorsed the person (per endorser: reactions, points, their own
  eminence), anonymous reactions as one row;
- network: the people interacted with (department, location, external, count);
- knowledge_value: the person's items by value (reactions, reuse).
"""

from __future__ import annotations

from typing import Any

import duckdb

from resonance.metrics.report import resolve_period, resolve_person

METRICS = ("activity", "reaction", "eminence", "network", "knowledge_value")


TOTAL = "count(*) OVER () AS _total"
"""In each query's select list: the number of rows before LIMIT, read with the page (one scan, not two)."""


def _page(
    con: duckdb.DuckDBPyConnection, sql: str, params: list, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    cur = con.execute(f"{sql} LIMIT ? OFFSET ?", [*params, page_size, (page - 1) * page_size])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    if rows:
        total = int(rows[0][names.index("_total")])
    elif page > 1:  # past the last page: count on its own
        total = int(con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0])
    else:
        total = 0
    items = []
    for row in rows:
        item = dict(zip(names, row, strict=True))
        del item["_total"]
        for key, value in item.items():
            if hasattr(value, "isoformat"):
                item[key] = value.isoformat()
        items.append(item)
    return items, total


QUERIES = {
    "activity": f"""
        SELECT c.event_id, c.time, c.kind, c.weight, c.item_id, coalesce(i.title, 'Re: ' || pi.title) AS title,
               {TOTAL}
        FROM metric_contributions c
        LEFT JOIN items i ON i.item_id = c.item_id
        LEFT JOIN items pi ON pi.item_id = i.parent_id
        WHERE c.person_id = ? AND c.time >= ? AND c.time < ?
        ORDER BY c.time DESC, c.event_id""",
    "reaction": f"""
        SELECT r.event_id, r.time, r.kind, r.weight,
               r.reactor_id,
               CASE WHEN r.reactor_id IS NULL THEN 'anonymous' ELSE pr.display_name END AS reactor,
               r.item_id, coalesce(i.title, 'Re: ' || pi.title) AS title,
               coalesce(pa.damped, false) AS damped,
               CASE WHEN pa.volume > 0 THEN round(pa.counted / pa.volume, 4) ELSE 1.0 END AS counted_share,
               r.ctx_meeting, r.ctx_account, r.ctx_opportunity, {TOTAL}
        FROM metric_reactions r
        LEFT JOIN people pr ON pr.person_id = r.reactor_id
        LEFT JOIN items i ON i.item_id = r.item_id
        LEFT JOIN items pi ON pi.item_id = i.parent_id
        LEFT JOIN reaction_pairs pa
               ON pa.period = ? AND pa.reactor_id = r.reactor_id AND pa.author_id = r.author_id
        WHERE r.author_id = ? AND r.time >= ? AND r.time < ?
        ORDER BY r.time DESC, r.event_id""",
    "eminence": f"""
        WITH r AS (
            SELECT reactor_id, count(*) AS reactions, sum(weight) AS points, list(kind) AS kinds
            FROM metric_reactions
            WHERE author_id = ? AND time >= ? AND time < ? AND weight > 0
            GROUP BY reactor_id
        ),
        social AS (  -- follows and mentions: endorsement edges without reaction points
            SELECT src.person_id AS reactor_id, count(*) AS reactions, 0.0 AS points, list(lower(e.verb)) AS kinds
            FROM events e
            JOIN identities src ON src.identity = e.actor
            JOIN identities dst ON dst.identity = e.object
            WHERE e.verb IN ('Follow', 'Mention') AND e.object_type = 'person' AND dst.person_id = ?
              AND src.person_id <> dst.person_id AND e.time >= ? AND e.time < ?
            GROUP BY 1
        ),
        u AS (
            SELECT reactor_id, sum(reactions) AS reactions, sum(points) AS points,
                   list_distinct(flatten(list(kinds))) AS kinds
            FROM (SELECT * FROM r UNION ALL SELECT * FROM social) GROUP BY reactor_id
        )
        SELECT u.reactor_id AS endorser_id,
               CASE WHEN u.reactor_id IS NULL THEN 'anonymous (counted as an average reactor)'
                    ELSE p.display_name END AS endorser,
               u.reactions, round(u.points, 6) AS points, list_sort(u.kinds) AS kinds,
               coalesce(pa.damped, false) AS damped,
               CASE WHEN u.reactor_id IS NULL THEN 1.0 ELSE m.value END AS endorser_eminence, {TOTAL}
        FROM u
        LEFT JOIN people p ON p.person_id = u.reactor_id
        LEFT JOIN person_metrics m ON m.period = ? AND m.person_id = u.reactor_id AND m.metric = 'eminence'
        LEFT JOIN reaction_pairs pa ON pa.period = ? AND pa.reactor_id = u.reactor_id AND pa.author_id = ?
        ORDER BY coalesce(endorser_eminence, 0) * (u.points + u.reactions) DESC, u.reactor_id NULLS FIRST""",
    "network": f"""
        SELECT t.partner_id, p.display_name AS partner, p.department, p.location,
               coalesce(p.is_external, false) AS external, p.organization, t.interactions, {TOTAL}
        FROM person_ties t LEFT JOIN people p ON p.person_id = t.partner_id
        WHERE t.period = ? AND t.person_id = ?
        ORDER BY t.interactions DESC, t.partner_id""",
    "knowledge_value": f"""
        SELECT item_id, kind, title, created, value, reactions, reuse, {TOTAL}
        FROM item_value WHERE period = ? AND author_id = ?
        ORDER BY value DESC, item_id""",
}


def evidence(
    con: duckdb.DuckDBPyConnection,
    person_id: str,
    metric: str,
    period: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> dict[str, Any]:
    """The rows behind `metric` for a person and period (None = the latest month), paged."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    page = max(int(page), 1)
    page_size = min(max(int(page_size), 1), 1000)
    pid = resolve_person(con, person_id)
    p = resolve_period(con, period)
    params: list[Any]
    if metric == "activity":
        params = [pid, p.start, p.end]
    elif metric == "reaction":
        params = [p.label, pid, p.start, p.end]
    elif metric == "eminence":
        params = [pid, p.start, p.end, pid, p.start, p.end, p.label, p.label, pid]
    else:
        params = [p.label, pid]
    items, total = _page(con, QUERIES[metric], params, page, page_size)
    return {
        "metric": metric,
        "person_id": pid,
        "period": p.as_dict(),
        "items": items,
        "total": total,
        "page": page,
        "page_size": page_size,
    }
