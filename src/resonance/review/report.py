"""What the review says: the period's figures with their evidence, for one person.

Everything comes from the metrics engine (`person_report`, `item_value`, `metric_contributions`,
`metric_reactions`) and the store (kudos events with their context). Colleagues who opted out of
analytics are shown as "A colleague". Business influence comes from the knowledge part of the
product when it is installed (`resonance.knowledge`), else the section says it is not available.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

from resonance.metrics.report import METRICS, person_report, resolve_person
from resonance.org.periods import default_period
from resonance.privacy.guard import redact_people as _guard_redact

LABELS = {
    "activity": "Activity",
    "reaction": "Reaction",
    "eminence": "Eminence",
    "network": "Network",
    "knowledge_value": "Knowledge value",
}
REUSE_KINDS = ("share", "bookmark", "accept")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def review_data(con: duckdb.DuckDBPyConnection, person: str, period: str | None = None) -> dict[str, Any]:
    """The review of `person` for `period` (any computed label, e.g. 2026-H2; None = the latest month)."""
    pid = resolve_person(con, person)
    p = default_period(con, period)
    report = person_report(con, pid, p.label)
    start, end = p.start, p.end
    contributions = _rows(
        con,
        """SELECT kind, count(*) AS n, round(sum(weight), 2) AS points FROM metric_contributions
           WHERE person_id = ? AND time >= ? AND time < ? GROUP BY kind ORDER BY points DESC, kind""",
        [pid, start, end],
    )
    reactions = _rows(
        con,
        """SELECT kind, count(*) AS n, count(DISTINCT reactor_id) AS people FROM metric_reactions
           WHERE author_id = ? AND time >= ? AND time < ? GROUP BY kind ORDER BY n DESC, kind""",
        [pid, start, end],
    )
    reuse = {r["kind"]: int(r["n"]) for r in reactions if r["kind"] in REUSE_KINDS}
    items = _rows(
        con,
        """SELECT iv.item_id, iv.kind, iv.title, iv.value, iv.reactions, iv.reuse, iv.created, it.container
           FROM item_value iv LEFT JOIN (SELECT item_id, any_value(container) AS container FROM items
                                         GROUP BY item_id) it USING (item_id)
           WHERE iv.period = ? AND iv.author_id = ? AND iv.value > 0
           ORDER BY iv.value DESC, iv.item_id LIMIT 10""",
        [p.label, pid],
    )
    reached = _rows(
        con,
        """SELECT p.department, count(DISTINCT r.reactor_id) AS people, count(*) AS reactions
           FROM metric_reactions r JOIN people p ON p.person_id = r.reactor_id
           WHERE r.author_id = ? AND r.time >= ? AND r.time < ? AND r.kind <> 'read' AND p.department IS NOT NULL
           GROUP BY ALL ORDER BY people DESC, p.department LIMIT 8""",
        [pid, start, end],
    )
    return {
        "person": report["person"],
        "period": p.as_dict(),
        "generated_at": datetime.now().replace(microsecond=0).isoformat(sep=" "),
        "metrics": {m: {**report["metrics"][m], "label": LABELS[m]} for m in METRICS},
        "persona": report["persona"],
        "contributions": contributions,
        "reactions": reactions,
        "reuse": reuse,
        "top_items": [
            {
                **it,
                "value": round(float(it["value"]), 2),
                "created": it["created"].date().isoformat() if it["created"] else None,
            }
            for it in items
        ],
        "reached_departments": reached,
        "kudos": kudos_in_period(con, pid, start, end),
        "network": report["network_detail"],
        "influence": business_influence(con, pid, p.end),
    }


def kudos_in_period(con: duckdb.DuckDBPyConnection, pid: str, start: Any, end: Any) -> list[dict[str, Any]]:
    """Kudos the person received in the period, with the giver, the message and the business context."""
    rows = _rows(
        con,
        """
        SELECT e.time, g.person_id AS giver_id, coalesce(gp.display_name, 'A colleague') AS giver,
               coalesce(json_extract_string(e.extra, '$.message'), json_extract_string(e.extra, '$.content'),
                        json_extract_string(e.extra, '$.text')) AS message,
               json_extract(e.extra, '$.tags') AS tags,
               (SELECT any_value(title) FROM items WHERE item_id = e.ctx_meeting) AS meeting,
               coalesce((SELECT any_value(title) FROM items WHERE item_id = e.ctx_account), e.ctx_account) AS account,
               (SELECT any_value(title) FROM items WHERE item_id = e.ctx_opportunity) AS opportunity,
               (SELECT any_value(title) FROM items WHERE item_id = e.ctx_item) AS item
        FROM events e JOIN identities r ON r.identity = e.object
        LEFT JOIN identities g ON g.identity = e.actor LEFT JOIN people gp ON gp.person_id = g.person_id
        WHERE e.verb = 'Kudos' AND r.person_id = ? AND e.time >= ? AND e.time < ?
          AND g.person_id IS DISTINCT FROM r.person_id
        ORDER BY e.time DESC LIMIT 50
        """,
        [pid, start, end],
    )
    for row in rows:
        raw = row.pop("tags")
        try:
            tags = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            tags = None
        row["tags"] = [str(t) for t in tags] if isinstance(tags, list) else []
        row["time"] = row["time"].date().isoformat() if row["time"] else None
    return _redact(con, pid, rows, "giver_id", ["giver"])


def business_influence(con: duckdb.DuckDBPyConnection, pid: str, as_of: Any) -> dict[str, Any] | None:
    """Credit for won deals the person helped (knowledge module: content, introductions, kudos), as of the
    period's end; None when that module is not installed or has nothing to say."""
    try:
        from resonance.knowledge.outcomes import business_influence as influence
    except ImportError:
        return None
    try:
        result = influence(con, pid, as_of=as_of)
    except Exception:  # no CRM data, or the knowledge tables are missing: the review still renders
        return None
    deals = [
        {
            k: d.get(k)
            for k in ("opportunity", "account", "amount", "close_date", "how", "share", "attributed", "evidence_total")
        }
        for d in result.get("deals", [])
    ]
    for d in deals:
        d["how"] = ", ".join(d["how"]) if isinstance(d["how"], (list, tuple)) else d["how"]
        d["close_date"] = str(d["close_date"])[:10] if d["close_date"] else None
    return {"summary": result.get("summary", {}), "deals": deals[:10], "method": result.get("method")}


def _redact(
    con: duckdb.DuckDBPyConnection, viewer: str, rows: list[dict[str, Any]], field: str, names: list[str]
) -> list[dict[str, Any]]:
    """Opted-out colleagues hidden (a store without the consent table has no opt-outs yet)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'consent' AND NOT temporary"
    ).fetchall()[0][0]
    return _guard_redact(con, viewer, rows, field, names) if exists else rows
