"""A person's metrics for one period: the JSON behind `resonance person` and the dashboard.

Reads only the metric tables (fast, small queries), so that the web can call it
per request. The shape is a shared contract (GUIDE.md, docs/metrics.md):

    {"person": {...}, "period": {...},
     "metrics": {"activity" | "reaction" | "eminence" | "network" | "knowledge_value":
                 {"value", "percentiles": {"company", "department", "role", "location"},
                  "trend": [{"period", "value"}, ...], "breakdown": {kind: value}}},
     "persona": {"name", "reason", "rule"},
     "top_items": [{"item_id", "kind", "title", "value", "created"}, ...],
     "network_detail": {...}}
"""

from __future__ import annotations

from typing import Any

import duckdb

from resonance.metrics.periods import Period, PeriodError, parse_period
from resonance.metrics.persona import persona_rules
from resonance.metrics.rules import load_rules
from resonance.metrics.tables import has_metric_tables

METRICS = ("activity", "reaction", "eminence", "network", "knowledge_value")
PEER_GROUPS = ("company", "department", "role", "location")
TOP_ITEMS = 5


class PersonNotFound(LookupError):
    """No person has that id, e-mail or identity key."""


class MetricsNotComputed(LookupError):
    """The metrics (or that period) have not been computed yet: run `resonance compute`."""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def resolve_person(con: duckdb.DuckDBPyConnection, key: str) -> str:
    """The person_id named by a person id, an e-mail address or any identity key."""
    key = key.strip()
    candidates = [key]
    if "@" in key and not key.startswith("email:"):
        candidates.append("email:" + key.lower())
    if key.startswith("email:"):
        candidates.append("email:" + key[6:].lower())
    for candidate in candidates:
        rows = con.execute("SELECT person_id FROM people WHERE person_id = ?", [candidate]).fetchall()
        if rows:
            return str(rows[0][0])
        rows = con.execute("SELECT person_id FROM identities WHERE identity = ?", [candidate]).fetchall()
        if rows:
            return str(rows[0][0])
    rows = con.execute(
        "SELECT person_id FROM people WHERE list_contains(emails, ?) OR list_contains(handles, ?) LIMIT 1",
        [key.lower().removeprefix("email:"), key],
    ).fetchall()
    if rows:
        return str(rows[0][0])
    raise PersonNotFound(f"no person with id, e-mail or identity {key!r}")


def resolve_period(con: duckdb.DuckDBPyConnection, period: str | None = None) -> Period:
    """A computed period by label; None = the latest computed month."""
    if not has_metric_tables(con):
        raise MetricsNotComputed("no metrics yet: run `resonance compute`")
    if period is None:
        rows = con.execute(
            """SELECT period FROM metric_periods WHERE period_type = 'month'
               ORDER BY period_start DESC LIMIT 1"""
        ).fetchall()
        if not rows:
            rows = con.execute(
                "SELECT period FROM metric_periods ORDER BY period_end DESC LIMIT 1"
            ).fetchall()
        if not rows:
            raise MetricsNotComputed("no metrics yet: run `resonance compute`")
        period = str(rows[0][0])
    try:
        parsed = parse_period(period)
    except PeriodError:
        raise
    rows = con.execute("SELECT 1 FROM metric_periods WHERE period = ?", [parsed.label]).fetchall()
    if not rows:
        raise MetricsNotComputed(
            f"period {parsed.label} has not been computed: run `resonance compute --period {parsed.label}`"
        )
    return parsed


def computed_periods(con: duckdb.DuckDBPyConnection, period_type: str | None = None) -> list[dict[str, str]]:
    """The computed periods (newest first), for period pickers."""
    if not has_metric_tables(con):
        return []
    rows = _rows(
        con,
        """SELECT period, period_type, period_start, period_end FROM metric_periods
           WHERE ? IS NULL OR period_type = ? ORDER BY period_type, period_start DESC""",
        [period_type, period_type],
    )
    return [parse_period(r["period"]).as_dict() for r in rows]


def person_report(
    con: duckdb.DuckDBPyConnection,
    person_id: str,
    period: str | None = None,
    rules: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything a person sees about themselves for one period (None = the latest month).

    `person_id` may also be an e-mail or identity key. Raises PersonNotFound and
    MetricsNotComputed with messages that say what to do."""
    pid = resolve_person(con, person_id)
    p = resolve_period(con, period)
    rules = rules if rules is not None else load_rules()
    person_rows = _rows(
        con,
        """SELECT person_id, display_name, department, location, role, title, identities,
                  coalesce(is_external, false) AS is_external
           FROM people WHERE person_id = ?""",
        [pid],
    )
    person = (
        person_rows[0]
        if person_rows
        else {
            "person_id": pid,
            "display_name": pid,
            "department": None,
            "location": None,
            "role": None,
            "title": None,
            "identities": [pid],
            "is_external": False,
        }
    )
    person = {
        "id": person["person_id"],
        "display_name": person["display_name"],
        "department": person["department"],
        "location": person["location"],
        "role": person["role"],
        "title": person["title"],
        "identities": list(person["identities"] or []),
        "is_external": bool(person["is_external"]),
    }

    values = dict(
        con.execute(
            "SELECT metric, value FROM person_metrics WHERE period = ? AND person_id = ?", [p.label, pid]
        ).fetchall()
    )
    pct: dict[str, dict[str, float]] = {}
    for metric, group, value in con.execute(
        "SELECT metric, peer_group, percentile FROM person_percentiles WHERE period = ? AND person_id = ?",
        [p.label, pid],
    ).fetchall():
        pct.setdefault(metric, {})[group] = float(value)
    breakdown: dict[str, dict[str, float]] = {}
    for metric, kind, value in con.execute(
        """SELECT metric, kind, value FROM person_breakdown WHERE period = ? AND person_id = ?
           ORDER BY metric, value DESC, kind""",
        [p.label, pid],
    ).fetchall():
        breakdown.setdefault(metric, {})[kind] = float(value)
    trend = _trend(con, pid, p, int(rules["periods"]["trend_length"]))

    metrics: dict[str, Any] = {}
    for metric in METRICS:
        percentiles: dict[str, float | None] = {}
        for group in PEER_GROUPS:
            if metric in pct and group in pct[metric]:
                percentiles[group] = pct[metric][group]
            elif person["is_external"] or (group != "company" and not person.get(group)):
                percentiles[group] = None  # not in that peer group
            else:
                percentiles[group] = 0.0  # a peer with nothing: nobody is below
        metrics[metric] = {
            "value": float(values.get(metric, 0.0)),
            "percentiles": percentiles,
            "trend": trend.get(metric, []),
            "breakdown": breakdown.get(metric, {}),
        }

    persona_rows = _rows(
        con,
        """SELECT persona, reason, rule, contributions, given, received, reads FROM person_persona
           WHERE period = ? AND person_id = ?""",
        [p.label, pid],
    )
    if persona_rows:
        row = persona_rows[0]
        persona = {
            "name": row["persona"],
            "reason": row["reason"],
            "rule": row["rule"],
            "contributions": int(row["contributions"] or 0),
            "given": float(row["given"] or 0),
            "received": float(row["received"] or 0),
            "reads": int(row["reads"] or 0),
        }
    else:
        persona = {
            "name": "Observer",
            "reason": "No activity recorded in this period.",
            "rule": persona_rules(rules)["Observer"],
            "contributions": 0,
            "given": 0.0,
            "received": 0.0,
            "reads": 0,
        }

    top_items = [
        {
            "item_id": r["item_id"],
            "kind": r["kind"],
            "title": r["title"],
            "value": float(r["value"]),
            "created": r["created"].isoformat() if r["created"] else None,
            "reactions": int(r["reactions"] or 0),
            "reuse": int(r["reuse"] or 0),
        }
        for r in _rows(
            con,
            """SELECT item_id, kind, title, value, created, reactions, reuse FROM item_value
               WHERE period = ? AND author_id = ? AND value > 0 ORDER BY value DESC, item_id LIMIT ?""",
            [p.label, pid, TOP_ITEMS],
        )
    ]
    return {
        "person": person,
        "period": p.as_dict(),
        "metrics": metrics,
        "persona": persona,
        "top_items": top_items,
        "network_detail": _network_detail(con, pid, p.label),
    }


def _trend(
    con: duckdb.DuckDBPyConnection, pid: str, p: Period, length: int
) -> dict[str, list[dict[str, Any]]]:
    """The last `length` computed periods of the same type up to `p`, oldest first; 0 where no value."""
    periods = [
        r[0]
        for r in con.execute(
            """SELECT period FROM metric_periods WHERE period_type = ? AND period_start <= ?
           ORDER BY period_start DESC LIMIT ?""",
            [p.type, p.start, length],
        ).fetchall()
    ][::-1]
    values: dict[tuple[str, str], float] = {
        (m, per): float(v)
        for m, per, v in con.execute(
            """SELECT metric, period, value FROM person_metrics
               WHERE person_id = ? AND period IN (SELECT unnest(?::VARCHAR[]))""",
            [pid, periods],
        ).fetchall()
    }
    return {m: [{"period": per, "value": values.get((m, per), 0.0)} for per in periods] for m in METRICS}


def _network_detail(con: duckdb.DuckDBPyConnection, pid: str, label: str) -> dict[str, Any]:
    rows = _rows(
        con,
        """SELECT partners, reach2, departments, locations, external_contacts, effective_size,
                  burt_constraint, betweenness, community, community_size
           FROM person_network WHERE period = ? AND person_id = ?""",
        [label, pid],
    )
    detail: dict[str, Any] = (
        rows[0]
        if rows
        else {
            "partners": 0,
            "reach2": 0,
            "departments": 0,
            "locations": 0,
            "external_contacts": 0,
            "effective_size": 0.0,
            "burt_constraint": None,
            "betweenness": 0.0,
            "community": None,
            "community_size": 0,
        }
    )
    for dimension in ("department", "location"):
        detail[f"by_{dimension}"] = [
            {"name": name, "partners": int(n)}
            for name, n in con.execute(
                """SELECT name, partners FROM person_reach
                   WHERE period = ? AND person_id = ? AND dimension = ?
                   ORDER BY partners DESC, name""",
                [label, pid, dimension],
            ).fetchall()
        ]
    return detail
