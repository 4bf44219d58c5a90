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

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

import duckdb

from resonance.metrics.memo import Memo, no_memo
from resonance.metrics.periods import Period, parse_period
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


def resolve_period(con: duckdb.DuckDBPyConnection, period: str | None = None, memo: Memo = no_memo) -> Period:
    """A computed period by label; None = the latest computed month. `memo`: see resonance.metrics.memo."""
    label = memo(("resolve_period", period), lambda: _computed_label(con, period))
    return parse_period(label)


def _computed_label(con: duckdb.DuckDBPyConnection, period: str | None) -> str:
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
    parsed = parse_period(period)  # PeriodError for a label that is not a period
    rows = con.execute("SELECT 1 FROM metric_periods WHERE period = ?", [parsed.label]).fetchall()
    if not rows:
        raise MetricsNotComputed(
            f"period {parsed.label} has not been computed: run `resonance compute --period {parsed.label}`"
        )
    return parsed.label


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
    memo: Memo = no_memo,
) -> dict[str, Any]:
    """Everything a person sees about themselves for one period (None = the latest month).

    `person_id` may also be an e-mail or identity key. Raises PersonNotFound and
    MetricsNotComputed with messages that say what to do. With a `memo` (the web's read cache), the
    period's figures are read for a group of about `GROUP_SIZE` people at once and remembered, so that
    the colleagues who open the same period next find theirs read (one scan per table instead of a
    dozen small queries per person); the result is the same either way."""
    pid = resolve_person(con, person_id)
    p = resolve_period(con, period, memo)
    rules = rules if rules is not None else load_rules()
    length = int(rules["periods"]["trend_length"])
    if memo is no_memo:
        figures = _read_figures(con, p, length, Who(only=pid)).get(pid)
    else:
        bounds = memo(("report_group_bounds", GROUP_SIZE), lambda: _group_bounds(con))
        who = Who.around(pid, bounds)
        figures = memo(("report_figures", p.label, length, who), lambda: _read_figures(con, p, length, who)).get(pid)
    trend_periods = memo(("report_trend_periods", p.label, length), lambda: _trend_periods(con, p, length))
    return _assemble(pid, p, rules, figures or _no_figures(), trend_periods)


GROUP_SIZE = 256
"""People whose figures one shared read fetches (with the web's memo): consecutive person ids, so that each
table is read with a range filter DuckDB prunes by its min/max statistics. Small enough to stay cheap at
50,000 people, large enough that colleagues opening the same period find theirs already read."""


@dataclass(frozen=True, slots=True)
class Who:
    """Whose figures to read: one person (`only`), or the person ids from `low` (included) to `high`
    (excluded; None: open)."""

    only: str | None = None
    low: str | None = None
    high: str | None = None

    @staticmethod
    def around(pid: str, bounds: list[str]) -> Who:
        """The group of `pid` among the groups `bounds` starts (each bound the first id of a group)."""
        k = bisect_right(bounds, pid) - 1
        return Who(None, bounds[k] if k >= 0 else None, bounds[k + 1] if k + 1 < len(bounds) else None)

    def where(self, column: str) -> tuple[str, list[str]]:
        """A filter on `column` and its parameters."""
        if self.only is not None:
            return f"{column} = ?", [self.only]
        parts = [(f"{column} >= ?", self.low), (f"{column} < ?", self.high)]
        kept = [(sql, v) for sql, v in parts if v is not None]
        return " AND ".join(sql for sql, _ in kept) or "true", [v for _, v in kept]


def _group_bounds(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every GROUP_SIZE-th person id in order: the first id of each group."""
    rows = con.execute(
        f"SELECT person_id FROM (SELECT person_id, row_number() OVER (ORDER BY person_id) - 1 AS k FROM people) "
        f"WHERE k % {GROUP_SIZE} = 0 ORDER BY person_id"
    ).fetchall()
    return [r[0] for r in rows]


def _no_figures() -> dict[str, Any]:
    return {"person": None, "values": {}, "pct": {}, "breakdown": {}, "trend": {}, "persona": None,
            "top_items": [], "network": None, "reach": {}}


def _read_figures(con: duckdb.DuckDBPyConnection, p: Period, length: int, who: Who) -> dict[str, dict[str, Any]]:
    """The period's raw figures of the people `who` names: {person_id: figures}, each table read with one
    query (in the order the report lists them)."""
    out: dict[str, dict[str, Any]] = {}

    def of(pid: str) -> dict[str, Any]:
        if pid not in out:
            out[pid] = _no_figures()
        return out[pid]

    def rows(sql: str, before: list[Any], after: tuple[Any, ...] = (), column: str = "person_id") -> list[tuple]:
        """`sql` with `{who}` replaced by the filter on `column`, between the parameters `before` and `after`."""
        where, params = who.where(column)
        return con.execute(sql.replace("{who}", where), [*before, *params, *after]).fetchall()

    names = ("person_id", "display_name", "department", "location", "role", "title", "identities", "is_external")
    for r in rows(
        """SELECT person_id, display_name, department, location, role, title, identities,
                  coalesce(is_external, false) FROM people WHERE {who}""",
        [],
    ):
        of(r[0])["person"] = dict(zip(names, r, strict=True))
    for pid, metric, value in rows(
        "SELECT person_id, metric, value FROM person_metrics WHERE period = ? AND {who}", [p.label]
    ):
        of(pid)["values"][metric] = value
    for pid, metric, group, value in rows(
        "SELECT person_id, metric, peer_group, percentile FROM person_percentiles WHERE period = ? AND {who}",
        [p.label],
    ):
        of(pid)["pct"].setdefault(metric, {})[group] = float(value)
    for pid, metric, kind, value in rows(
        """SELECT person_id, metric, kind, value FROM person_breakdown WHERE period = ? AND {who}
           ORDER BY person_id, metric, value DESC, kind""",
        [p.label],
    ):
        of(pid)["breakdown"].setdefault(metric, {})[kind] = float(value)
    for pid, metric, per, value in rows(
        """SELECT person_id, metric, period, value FROM person_metrics
           WHERE period IN (SELECT period FROM metric_periods WHERE period_type = ? AND period_start <= ?
                            ORDER BY period_start DESC LIMIT ?) AND {who}""",
        [p.type, p.start, length],
    ):
        of(pid)["trend"][(metric, per)] = float(value)
    names = ("persona", "reason", "rule", "contributions", "given", "received", "reads")
    for pid, *persona in rows(
        "SELECT person_id, " + ", ".join(names) + " FROM person_persona WHERE period = ? AND {who}", [p.label]
    ):
        of(pid)["persona"] = dict(zip(names, persona, strict=True))
    names = ("item_id", "kind", "title", "value", "created", "reactions", "reuse")
    for pid, *item in rows(
        "SELECT author_id, " + ", ".join(names) + """ FROM item_value WHERE period = ? AND value > 0 AND {who}
           QUALIFY row_number() OVER (PARTITION BY author_id ORDER BY value DESC, item_id) <= ?
           ORDER BY author_id, value DESC, item_id""",
        [p.label],
        (TOP_ITEMS,),
        "author_id",
    ):
        of(pid)["top_items"].append(dict(zip(names, item, strict=True)))
    names = ("partners", "reach2", "departments", "locations", "external_contacts", "effective_size",
             "burt_constraint", "betweenness", "community", "community_size")
    for pid, *network in rows(
        "SELECT person_id, " + ", ".join(names) + " FROM person_network WHERE period = ? AND {who}", [p.label]
    ):
        of(pid)["network"] = dict(zip(names, network, strict=True))
    for pid, dimension, name, n in rows(
        """SELECT person_id, dimension, name, partners FROM person_reach
           WHERE period = ? AND dimension IN ('department', 'location') AND {who}
           ORDER BY person_id, dimension, partners DESC, name""",
        [p.label],
    ):
        of(pid)["reach"].setdefault(dimension, []).append({"name": name, "partners": int(n)})
    return out


def _assemble(
    pid: str, p: Period, rules: dict[str, Any], figures: dict[str, Any], trend_periods: list[str]
) -> dict[str, Any]:
    """The report's shape (the module docstring) from one person's raw figures."""
    row = figures["person"] or {
        "person_id": pid,
        "display_name": pid,
        "department": None,
        "location": None,
        "role": None,
        "title": None,
        "identities": [pid],
        "is_external": False,
    }
    person = {
        "id": row["person_id"],
        "display_name": row["display_name"],
        "department": row["department"],
        "location": row["location"],
        "role": row["role"],
        "title": row["title"],
        "identities": list(row["identities"] or []),
        "is_external": bool(row["is_external"]),
    }
    values, pct, breakdown = figures["values"], figures["pct"], figures["breakdown"]
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
            # The last `trend_length` computed periods of the same type up to this one, oldest first; 0 where no value.
            "trend": [{"period": per, "value": figures["trend"].get((metric, per), 0.0)} for per in trend_periods],
            "breakdown": dict(breakdown.get(metric, {})),
        }

    row = figures["persona"]
    if row:
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
        for r in figures["top_items"]
    ]
    detail: dict[str, Any] = dict(figures["network"]) if figures["network"] else {
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
    for dimension in ("department", "location"):
        detail[f"by_{dimension}"] = [dict(r) for r in figures["reach"].get(dimension, [])]
    return {
        "person": person,
        "period": p.as_dict(),
        "metrics": metrics,
        "persona": persona,
        "top_items": top_items,
        "network_detail": detail,
    }


def _trend_periods(con: duckdb.DuckDBPyConnection, p: Period, length: int) -> list[str]:
    """The last `length` computed periods of the same type up to `p`, oldest first."""
    rows = con.execute(
        """SELECT period FROM metric_periods WHERE period_type = ? AND period_start <= ?
           ORDER BY period_start DESC LIMIT ?""",
        [p.type, p.start, length],
    ).fetchall()
    return [r[0] for r in rows][::-1]
