"""A summary of what the store holds, for `resonance status` and the first page."""

from __future__ import annotations

from typing import Any

import duckdb


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def store_overview(con: duckdb.DuckDBPyConnection, recent: int = 10) -> dict[str, Any]:
    db = _rows(con, "SELECT database_name AS name, path FROM duckdb_databases() WHERE NOT internal LIMIT 1")
    totals = _rows(
        con,
        """SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM items) AS items,
                  (SELECT count(*) FROM people) AS people,
                  (SELECT count(*) FROM people WHERE is_external) AS external_people,
                  (SELECT count(*) FROM quarantine) AS quarantined,
                  (SELECT min(time) FROM events) AS first_event,
                  (SELECT max(time) FROM events) AS last_event""",
    )[0]
    return {
        "db": db[0]["path"] if db else None,
        "totals": totals,
        "events_by_source_verb": _rows(
            con, "SELECT source, verb, count(*) AS events FROM events GROUP BY ALL ORDER BY source, events DESC"
        ),
        "items_by_kind": _rows(con, "SELECT kind, count(*) AS items FROM items GROUP BY ALL ORDER BY items DESC"),
        "ingest_runs": _rows(
            con,
            """SELECT ingest_id, kind, paths, started_at, finished_at, status, ingested, duplicates, rejected
               FROM ingest_runs ORDER BY ingest_id DESC LIMIT ?""",
            [recent],
        ),
        "quarantine_reasons": _rows(
            con,
            """SELECT source, reason, count(*) AS records FROM quarantine
               GROUP BY ALL ORDER BY records DESC LIMIT 50""",
        ),
    }
