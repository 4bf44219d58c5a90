"""Everything Resonance holds about one person, as one JSON-ready document ("download my data").

The caller has passed the privacy guard. Colleagues who opted out stay hidden even here
(a kudos they gave shows "A colleague"). Secrets (password and token hashes) are never included.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from resonance.privacy.consent import consent_history, consents
from resonance.privacy.guard import access_history, redact_people

METRIC_TABLES = ("person_metrics", "person_percentiles", "person_persona", "person_network")
"""Metric tables with one or more rows per person (docs/metrics.md)."""


def export_person_data(con: duckdb.DuckDBPyConnection, person_id: str) -> dict[str, Any]:
    """The person's record, identities, source profiles, items, own events, kudos received,
    computed metrics, consent choices and history, who read their data, and their account."""
    doc: dict[str, Any] = {
        "exported_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        "person_id": person_id,
        "person": _one(con, "SELECT * EXCLUDE (sources) FROM people WHERE person_id = ?", [person_id]),
        "identities": _rows(
            con, "SELECT identity, kind, first_seen FROM identities WHERE person_id = ?", [person_id]
        ),
        "profiles": _rows(
            con,
            """SELECT source, native_id, identities, display_name, emails, handles, manager_ref, department,
                      location, title, role, start_date, is_external, organization, extra, updated_at
               FROM profiles WHERE person_id = ? ORDER BY source, native_id""",
            [person_id],
        ),
        "items": _rows(
            con,
            """SELECT it.item_id, it.source, it.native_id, it.kind, it.parent_id, it.container, it.title,
                      it.text,
                      it.tags, it.created, it.url, it.extra
               FROM items it JOIN identities i ON i.identity = it.author
               WHERE i.person_id = ? ORDER BY it.created, it.item_id""",
            [person_id],
        ),
        "events": _rows(
            con,
            """SELECT e.source, e.native_id, e.time, e.verb, e.object, e.object_type, e.target, e.recipients,
                      e.value, e.ctx_meeting, e.ctx_account, e.ctx_opportunity, e.ctx_item, e.extra
               FROM events e JOIN identities i ON i.identity = e.actor
               WHERE i.person_id = ? ORDER BY e.time, e.source, e.native_id""",
            [person_id],
        ),
    }
    kudos = _rows(
        con,
        """SELECT e.source, e.native_id, e.time, g.person_id AS giver_id, gp.display_name AS giver_name,
                  e.ctx_meeting, e.ctx_account, e.ctx_opportunity, e.ctx_item, e.extra
           FROM events e JOIN identities r ON r.identity = e.object
           LEFT JOIN identities g ON g.identity = e.actor LEFT JOIN people gp ON gp.person_id = g.person_id
           WHERE e.verb = 'Kudos' AND r.person_id = ? ORDER BY e.time""",
        [person_id],
    )
    doc["kudos_received"] = redact_people(con, person_id, kudos, "giver_id", ["giver_name"])
    doc["metrics"] = {table: _person_rows(con, table, person_id) for table in METRIC_TABLES}
    doc["metrics"]["item_value"] = _item_values(con, person_id)
    doc["consents"] = consents(con, person_id)
    doc["consent_history"] = _jsonable(consent_history(con, person_id))
    doc["access_log"] = _jsonable(access_history(con, person_id, limit=10_000))
    doc["accounts"] = _rows(
        con,
        "SELECT username, role, created_at, disabled, last_login FROM users WHERE person_id = ?",
        [person_id],
    )
    return _jsonable(doc)


def _has_table(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
            [table, column],
        ).fetchall()[0][0]
    )


def _person_rows(con: duckdb.DuckDBPyConnection, table: str, person_id: str) -> list[dict[str, Any]]:
    if not _has_table(con, table, "person_id"):
        return []
    return _rows(con, f'SELECT * FROM "{table}" WHERE person_id = ?', [person_id])


def _item_values(con: duckdb.DuckDBPyConnection, person_id: str) -> list[dict[str, Any]]:
    if not _has_table(con, "item_value", "item_id"):
        return []
    return _rows(
        con,
        """SELECT v.* FROM item_value v WHERE v.item_id IN (
               SELECT it.item_id FROM items it JOIN identities i ON i.identity = it.author
               WHERE i.person_id = ?)""",
        [person_id],
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> dict[str, Any] | None:
    rows = _rows(con, sql, params)
    return rows[0] if rows else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
