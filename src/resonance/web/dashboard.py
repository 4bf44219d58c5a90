"""What the personal pages show, assembled from the metrics engine and the store.

The figures come from the metrics engine's public functions only
(`resonance.metrics.report.person_report`, `resonance.metrics.evidence.evidence`,
`resonance.metrics.rules.load_rules`, the `metric_periods` table): the web never
recomputes a metric. Kudos, items and reactions are read from the store.
Callers have already passed the privacy guard for `person_id`; opted-out
colleagues named in the results are hidden here with `redact_people`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import duckdb

from resonance.privacy.consent import opted_out_people
from resonance.privacy.guard import HIDDEN_NAME, redact_people
from resonance.web.cache import cached, shared_reads

METRICS: dict[str, dict[str, str]] = {
    "activity": {
        "label": "Activity",
        "about": "What you contribute: posts, answers, comments, messages, files and kudos given, "
        "weighted by kind.",
        "tip": "Share one thing you learned this week as a post or answer: "
        "Activity counts what you contribute.",
    },
    "reaction": {
        "label": "Reaction",
        "about": "How others respond to what you share: reads, likes, shares, bookmarks, replies, "
        "helpful votes and kudos. Your own reactions never count; many reactions from one person count less.",
        "tip": "Answer an open question in a topic you know: answers draw replies, votes and reuse.",
    },
    "eminence": {
        "label": "Eminence",
        "about": "Standing earned from who reacts to you: a like from a respected expert counts more "
        "(weighted PageRank over endorsements), plus follows and mentions.",
        "tip": "Reply to the people who commented on your work: conversations with experts build standing.",
    },
    "network": {
        "label": "Network",
        "about": "Whom you reach: people, departments, locations and customers, and how well you "
        "bridge groups that are otherwise apart.",
        "tip": "Help someone in a department you rarely work with: bridging groups widens your network.",
    },
    "knowledge_value": {
        "label": "Knowledge value",
        "about": "What your shared items are worth to others: reuse (shares, bookmarks) above likes, "
        "weighted by who reacts, by crossing boundaries, by helpful votes and outcomes, decaying with age.",
        "tip": "Share again the item colleagues reuse most, where a new team will find it.",
    },
}
PEER_GROUPS = ("company", "department", "role", "location")
PERIOD_TYPES = [("month", "Months"), ("quarter", "Quarters"), ("half", "Half years"),
                ("r90", "Rolling 90 days"), ("week", "Weeks")]
"""Period types in the order the period picker lists them."""
PEER_GROUP_LABELS = {"company": "Company", "department": "Department", "role": "Role", "location": "Location"}


class MetricsNotComputed(Exception):
    """No metric has been computed yet (the engine is missing or its tables are empty)."""


# --- the metrics engine -----------------------------------------------------------
def _engine() -> Any:
    try:
        from resonance.metrics import evidence, report, rules
    except ImportError as exc:  # the engine is not installed in this build
        raise MetricsNotComputed(str(exc)) from exc
    return report, evidence, rules


def available_periods(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Periods with computed figures, newest first: [{"label", "type", "start", "end"}] (cached per store version)."""
    return cached(con, ("available_periods",), lambda: _available_periods(con), "metrics")


def _available_periods(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Periods with computed figures, newest first: [{"label", "type", "start", "end"}]."""
    try:
        cur = con.execute("SELECT * FROM metric_periods")
    except duckdb.CatalogException:
        return []
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def pick(row: Mapping[str, Any], *keys: str) -> Any:
        return next((row[k] for k in keys if k in row and row[k] is not None), None)

    periods = [
        {
            "label": str(pick(r, "label", "period")),
            "type": pick(r, "type", "period_type", "kind"),
            "start": pick(r, "start", "start_date", "period_start"),
            "end": pick(r, "end", "end_date", "period_end"),
        }
        for r in rows
    ]
    periods.sort(key=lambda p: (_sortable(p["end"]), p["label"]), reverse=True)
    return periods


def person_report(con: duckdb.DuckDBPyConnection, person_id: str, period: str | None) -> dict[str, Any]:
    """The engine's report for the person, or MetricsNotComputed (cached per store version: read-only)."""
    return cached(con, ("person_report", person_id, period), lambda: _person_report(con, person_id, period),
                  "metrics")


def _person_report(con: duckdb.DuckDBPyConnection, person_id: str, period: str | None) -> dict[str, Any]:
    """The engine's report for the person, or MetricsNotComputed."""
    report, _, _ = _engine()
    try:
        result = report.person_report(con, person_id, period, memo=shared_reads(con))
    except (duckdb.CatalogException, LookupError, ValueError) as exc:
        # The engine's own "not computed yet", "no such person" and "bad period" errors.
        raise MetricsNotComputed(str(exc)) from exc
    if not result or not result.get("metrics"):
        raise MetricsNotComputed("no figures for this person and period")
    return result


def person_evidence(
    con: duckdb.DuckDBPyConnection, person_id: str, metric: str, period: str | None, page: int, page_size: int
) -> dict[str, Any]:
    """The engine's evidence page, with opted-out colleagues hidden (cached per store version: read-only)."""
    return cached(con, ("person_evidence", person_id, metric, period, page, page_size),
                  lambda: _person_evidence(con, person_id, metric, period, page, page_size), "metrics")


def _person_evidence(
    con: duckdb.DuckDBPyConnection, person_id: str, metric: str, period: str | None, page: int, page_size: int
) -> dict[str, Any]:
    """The engine's evidence page, with opted-out colleagues hidden."""
    _, evidence, _ = _engine()
    try:
        result = evidence.evidence(con, person_id, metric, period=period, page=page, page_size=page_size)
    except (duckdb.CatalogException, LookupError, ValueError) as exc:
        raise MetricsNotComputed(str(exc)) from exc
    result = dict(result)
    result["items"] = redact_records(con, person_id, [_jsonable(i) for i in result.get("items", [])])
    return result


def persona_rules(rules: dict[str, Any]) -> dict[str, str] | None:
    """Persona name -> the rule that assigns it, when the engine describes them."""
    try:
        from resonance.metrics.persona import persona_rules as describe
    except ImportError:
        return None
    try:
        return {str(k): str(v) for k, v in describe(rules).items()}
    except Exception:  # an engine without this helper's shape: the raw rules still show
        return None


def current_rules(path: Any = None) -> dict[str, Any]:
    _, _, rules = _engine()
    return rules.load_rules(path)


# --- the dashboard ------------------------------------------------------------------
def tiles(report: Mapping[str, Any], peer_group: str) -> list[dict[str, Any]]:
    """One tile per metric: value, percentile among the chosen peers, trend, breakdown."""
    out = []
    for key, meta in METRICS.items():
        m = (report.get("metrics") or {}).get(key) or {}
        percentiles = m.get("percentiles") or {}
        breakdown = m.get("breakdown") or {}
        out.append(
            {
                "key": key,
                "label": meta["label"],
                "about": meta["about"],
                "value": m.get("value"),
                "percentile": percentiles.get(peer_group),
                "percentiles": percentiles,
                "trend": [(str(t.get("period")), t.get("value")) for t in (m.get("trend") or [])][-12:],
                "breakdown": sorted(
                    ((str(k), float(v or 0)) for k, v in breakdown.items()),
                    key=lambda kv: kv[1],
                    reverse=True,
                ),
            }
        )
    return out


def next_step(tile_list: list[dict[str, Any]]) -> dict[str, str] | None:
    """A suggestion for the metric where the person stands lowest among the chosen peers."""
    ranked = [t for t in tile_list if t["percentile"] is not None]
    if not ranked:
        return None
    low = min(ranked, key=lambda t: t["percentile"])
    return {
        "metric": low["key"],
        "label": low["label"],
        "tip": METRICS[low["key"]]["tip"],
        "percentile": low["percentile"],
    }


def reach_rows(network_detail: Any, key: str) -> list[tuple[str, float]]:
    """Reach by `department` or `location` from the report's network detail, largest first.

    Accepts `{name: n}` mappings or lists of records with a name and a count.
    """
    if not network_detail:
        return []
    data = None
    for candidate in (f"by_{key}", key, key + "s"):
        if isinstance(network_detail, Mapping) and isinstance(network_detail.get(candidate), (Mapping, list)):
            data = network_detail[candidate]
            break
    rows: list[tuple[str, float]] = []
    if isinstance(data, Mapping):
        rows = [(str(k), float(v or 0)) for k, v in data.items()]
    elif isinstance(data, list):
        for r in data:
            if isinstance(r, Mapping):
                name = r.get(key) or r.get("name") or r.get("unit") or r.get("label")
                value = next((r[k] for k in ("partners", "people", "count", "reach", "value", "n") if k in r), None)
                if name is not None and value is not None:
                    rows.append((str(name), float(value or 0)))
    return sorted(rows, key=lambda kv: kv[1], reverse=True)


# --- kudos, items, reactions: read from the store ----------------------------------------
def kudos_received(
    con: duckdb.DuckDBPyConnection, person_id: str, page: int = 1, page_size: int = 20
) -> dict[str, Any]:
    """Kudos to the person, newest first (see `_kudos_received`; cached per store version: read-only)."""
    return cached(con, ("kudos_received", person_id, page, page_size),
                  lambda: _kudos_received(con, person_id, page, page_size))


def _kudos_received(
    con: duckdb.DuckDBPyConnection, person_id: str, page: int = 1, page_size: int = 20
) -> dict[str, Any]:
    """Kudos to the person (events with verb Kudos whose object resolves to them), newest first,
    each with its giver and business context (meeting, account, opportunity, item)."""
    total = con.execute(
        """SELECT count(*) FROM events e JOIN identities r ON r.identity = e.object
           WHERE e.verb = 'Kudos' AND r.person_id = ?""",
        [person_id],
    ).fetchall()[0][0]
    cur = con.execute(
        """
        SELECT e.source || ':' || e.native_id AS kudos_id, e.time, g.person_id AS giver_id,
               coalesce(gp.display_name, e.actor) AS giver_name,
               coalesce(json_extract_string(e.extra, '$.message'), json_extract_string(e.extra, '$.content'),
                        json_extract_string(e.extra, '$.summary'),
                        json_extract_string(e.extra, '$.text')) AS message,
               e.ctx_meeting AS meeting_id,
               (SELECT any_value(title) FROM items WHERE item_id = e.ctx_meeting) AS meeting,
               e.ctx_account AS account_id,
               coalesce((SELECT any_value(title) FROM items WHERE item_id = e.ctx_account),
                        e.ctx_account) AS account,
               e.ctx_opportunity AS opportunity_id,
               (SELECT any_value(title) FROM items WHERE item_id = e.ctx_opportunity) AS opportunity,
               e.ctx_item AS item_id,
               (SELECT any_value(title) FROM items WHERE item_id = e.ctx_item) AS item,
               json_extract(e.extra, '$.tags') AS tags
        FROM events e
        JOIN identities r ON r.identity = e.object
        LEFT JOIN identities g ON g.identity = e.actor
        LEFT JOIN people gp ON gp.person_id = g.person_id
        WHERE e.verb = 'Kudos' AND r.person_id = ?
        ORDER BY e.time DESC, kudos_id
        LIMIT ? OFFSET ?
        """,
        [person_id, page_size, (page - 1) * page_size],
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    for row in rows:
        tags = row.pop("tags")
        try:
            parsed = json.loads(tags) if isinstance(tags, str) else tags
        except ValueError:
            parsed = None
        row["tags"] = [str(t) for t in parsed] if isinstance(parsed, list) else []
    rows = redact_people(con, person_id, rows, "giver_id", ["giver_name"])
    return {"items": rows, "total": int(total), "page": page, "page_size": page_size}


def kudos_summary(con: duckdb.DuckDBPyConnection, person_id: str) -> dict[str, Any]:
    """Counts of kudos received, in total and over the last 90 days of data (cached per store version)."""
    return cached(con, ("kudos_summary", person_id), lambda: _kudos_summary(con, person_id))


def _kudos_summary(con: duckdb.DuckDBPyConnection, person_id: str) -> dict[str, Any]:
    """Counts of kudos received, in total and over the last 90 days of data."""
    rows = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE e.time > (SELECT max(time) FROM events) - INTERVAL 90 DAY),
                  count(DISTINCT coalesce(g.person_id, e.actor))
           FROM events e JOIN identities r ON r.identity = e.object
           LEFT JOIN identities g ON g.identity = e.actor  -- one giver, whichever alias each source used
           WHERE e.verb = 'Kudos' AND r.person_id = ?""",
        [person_id],
    ).fetchall()[0]
    return {"total": int(rows[0]), "recent": int(rows[1]), "givers": int(rows[2])}


REACTION_VERBS = ("Like", "Announce", "Add", "View", "Reply", "Vote", "Accept", "Tag", "Kudos", "Mention")


def my_items(
    con: duckdb.DuckDBPyConnection, person_id: str, page: int = 1, page_size: int = 20
) -> dict[str, Any]:
    """Items the person authored, with how others reacted, most reacted first."""
    total = con.execute(
        """SELECT count(DISTINCT it.item_id) FROM items it JOIN identities a ON a.identity = it.author
           WHERE a.person_id = ?""",
        [person_id],
    ).fetchall()[0][0]
    cur = con.execute(
        f"""
        WITH mine AS (
            SELECT it.item_id, any_value(it.kind) AS kind, any_value(it.title) AS title,
                   any_value(it.text) AS text, min(it.created) AS created,
                   any_value(it.container) AS container,
                   any_value(it.url) AS url
            FROM items it JOIN identities a ON a.identity = it.author
            WHERE a.person_id = ? GROUP BY it.item_id
        ),
        reactions AS (
            SELECT e.object AS item_id, count(*) AS reactions, count(DISTINCT e.actor) AS people
            FROM events e JOIN mine m ON m.item_id = e.object
            LEFT JOIN identities x ON x.identity = e.actor
            WHERE e.verb IN {REACTION_VERBS!r} AND x.person_id IS DISTINCT FROM ?
            GROUP BY e.object
        )
        SELECT m.item_id, m.kind, m.title, m.text, m.created, m.container, m.url,
               coalesce(r.reactions, 0) AS reactions, coalesce(r.people, 0) AS people
        FROM mine m LEFT JOIN reactions r USING (item_id)
        ORDER BY reactions DESC, m.created DESC NULLS LAST, m.item_id
        LIMIT ? OFFSET ?
        """,
        [person_id, person_id, page_size, (page - 1) * page_size],
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return {"items": rows, "total": int(total), "page": page, "page_size": page_size}


def item_detail(con: duckdb.DuckDBPyConnection, person_id: str, item_id: str) -> dict[str, Any] | None:
    """One of the person's items and the reactions to it; None if it is not theirs."""
    cur = con.execute(
        """SELECT it.item_id, it.kind, it.title, it.text, it.created, it.container, it.url, it.tags, it.source
           FROM items it JOIN identities a ON a.identity = it.author
           WHERE a.person_id = ? AND it.item_id = ? LIMIT 1""",
        [person_id, item_id],
    )
    names = [d[0] for d in cur.description]
    found = cur.fetchall()
    if not found:
        return None
    item = dict(zip(names, found[0], strict=True))
    cur = con.execute(
        """SELECT e.time, e.verb, x.person_id AS actor_id,
                  coalesce(p.display_name, e.actor, 'anonymous') AS actor_name,
                  e.value
           FROM events e LEFT JOIN identities x ON x.identity = e.actor
           LEFT JOIN people p ON p.person_id = x.person_id
           WHERE e.object = ? AND e.verb <> 'Create' AND x.person_id IS DISTINCT FROM ?
           ORDER BY e.time DESC LIMIT 200""",
        [item_id, person_id],
    )
    names = [d[0] for d in cur.description]
    reactions = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    item["reactions"] = redact_people(con, person_id, reactions, "actor_id", ["actor_name"])
    item["tags"] = list(item.get("tags") or [])
    return item


# --- helpers ------------------------------------------------------------------------
def redact_records(con: duckdb.DuckDBPyConnection, viewer: str, records: list[dict[str, Any]]) -> list[dict]:
    """Hide opted-out colleagues wherever a record names them (by person id or identity key).

    The engine's evidence records have their own shape; any field holding an opted-out
    person's id or identity key is cleared, and the name fields next to it (same prefix,
    containing "name") become "A colleague".
    """
    hidden_people = opted_out_people(con) - {viewer}
    if not hidden_people:
        return records
    keys = {
        r[0]
        for r in con.execute(
            "SELECT identity FROM identities WHERE person_id IN (SELECT unnest(?::VARCHAR[]))",
            [sorted(hidden_people)],
        ).fetchall()
    } | hidden_people
    out = []
    for record in records:
        row = dict(record)
        for field, value in record.items():
            if isinstance(value, str) and value in keys:
                row[field] = None
                stem = field.removesuffix("_person_id").removesuffix("_id").removesuffix("_key")
                for other in record:
                    named = other == stem or (other.startswith(stem) and "name" in other)
                    if other != field and (named or ("name" in other and stem in ("person", "actor", "who"))):
                        row[other] = HIDDEN_NAME
        out.append(row)
    return out


def _jsonable(record: Any) -> dict[str, Any]:
    if isinstance(record, Mapping):
        return {str(k): _value(v) for k, v in record.items()}
    return {"value": _value(record)}


def _value(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _value(x) for k, x in v.items()}
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def _sortable(value: Any) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value or "")


def as_list(values: Iterable[Any] | None) -> list[Any]:
    return list(values or [])
