"""Where you shine: the kudos a person received, by context, and over time (reads only).

Read from `events` (verb `Kudos`, object resolving to the person), so kudos from every
source count: Resonance's own (web, API, links, chat) and those ingested (AS2 activity,
Stack Exchange bounties). Contexts:
- customers: the kudos' account (directly, or through its meeting or deal);
- kinds of meeting: customer meeting (the meeting has a customer account), recurring
  meeting, one-off meeting;
- value tags (`extra.tags`);
- colleagues: who gave them (people who opted out are shown as "A colleague");
- over time: kudos per month, the last 12 months up to the latest kudos.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from resonance.privacy.consent import opted_out_people
from resonance.privacy.guard import HIDDEN_NAME

TOP = 6


def where_you_shine(con: duckdb.DuckDBPyConnection, person_id: str, months: int = 12) -> dict[str, Any]:
    """{"total", "with_context", "customers", "meeting_kinds", "values", "colleagues", "contexts", "months"};
    each breakdown a list of (label, count), largest first; months oldest first."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _shine AS
        SELECT e.time, g.person_id AS giver_id, e.ctx_meeting, e.ctx_opportunity, e.ctx_item,
               coalesce(e.ctx_account,
                        json_extract_string(m.extra, '$.account'),
                        json_extract_string(o.extra, '$.account')) AS account,
               m.item_id IS NOT NULL AS has_meeting,
               coalesce(json_extract_string(m.extra, '$.recurring'), 'false') = 'true' AS recurring,
               coalesce(json_extract(e.extra, '$.tags'), '[]'::JSON) AS tags
        FROM events e
        JOIN identities r ON r.identity = e.object
        LEFT JOIN identities g ON g.identity = e.actor
        LEFT JOIN (SELECT item_id, any_value(extra) AS extra FROM items WHERE kind = 'meeting' GROUP BY 1) m
               ON m.item_id = e.ctx_meeting
        LEFT JOIN (SELECT item_id, any_value(extra) AS extra FROM items WHERE kind = 'opportunity' GROUP BY 1) o
               ON o.item_id = e.ctx_opportunity
        WHERE e.verb = 'Kudos' AND r.person_id = ?
        """,
        [person_id],
    )
    try:
        total, with_context = con.execute(
            """SELECT count(*), count(*) FILTER (WHERE account IS NOT NULL OR ctx_meeting IS NOT NULL
                                                 OR ctx_opportunity IS NOT NULL OR ctx_item IS NOT NULL)
               FROM _shine"""
        ).fetchall()[0]
        customers = con.execute(
            """SELECT coalesce((SELECT any_value(title) FROM items WHERE item_id = s.account), s.account), count(*) n
               FROM _shine s WHERE account IS NOT NULL GROUP BY s.account ORDER BY n DESC, 1 LIMIT ?""",
            [TOP],
        ).fetchall()
        meeting_kinds = con.execute(
            """SELECT CASE WHEN account IS NOT NULL THEN 'Customer'
                           WHEN recurring THEN 'Recurring' ELSE 'One-off' END AS kind, count(*) n
               FROM _shine WHERE has_meeting GROUP BY kind ORDER BY n DESC, kind"""
        ).fetchall()
        values = con.execute(
            """SELECT tag, count(*) n FROM (SELECT unnest(CAST(tags AS VARCHAR[])) AS tag FROM _shine)
               WHERE tag IS NOT NULL AND tag <> '' GROUP BY tag ORDER BY n DESC, tag LIMIT ?""",
            [TOP],
        ).fetchall()
        givers = con.execute(
            """SELECT s.giver_id, any_value(p.display_name), count(*) n FROM _shine s
               LEFT JOIN people p ON p.person_id = s.giver_id
               WHERE s.giver_id IS NOT NULL GROUP BY s.giver_id ORDER BY n DESC, 2, s.giver_id LIMIT ?""",
            [TOP * 2],
        ).fetchall()
        contexts = con.execute(
            """SELECT label, n FROM (
                 SELECT 'Meetings' AS label, count(*) FILTER (WHERE ctx_meeting IS NOT NULL) AS n, 1 AS o FROM _shine
                 UNION ALL SELECT 'Customers', count(*) FILTER (WHERE account IS NOT NULL), 2 FROM _shine
                 UNION ALL SELECT 'Deals', count(*) FILTER (WHERE ctx_opportunity IS NOT NULL), 3 FROM _shine
                 UNION ALL SELECT 'Shared items', count(*) FILTER (WHERE ctx_item IS NOT NULL), 4 FROM _shine)
               WHERE n > 0 ORDER BY n DESC, o"""
        ).fetchall()
        monthly = dict(
            con.execute("SELECT strftime(time, '%Y-%m') AS m, count(*) FROM _shine GROUP BY m").fetchall()
        )
        last = con.execute("SELECT max(time) FROM _shine").fetchall()[0][0]
    finally:
        con.execute("DROP TABLE IF EXISTS _shine")
    hidden = opted_out_people(con) - {person_id}
    colleagues: list[tuple[str, int]] = []
    anonymous = 0
    for giver_id, name, n in givers:
        if giver_id in hidden:
            anonymous += int(n)
        else:
            colleagues.append((name or giver_id, int(n)))
    if anonymous:
        colleagues.append((HIDDEN_NAME, anonymous))
    colleagues = sorted(colleagues, key=lambda kv: -kv[1])[:TOP]
    return {
        "total": int(total),
        "with_context": int(with_context),
        "customers": [(str(a), int(n)) for a, n in customers],
        "meeting_kinds": [(str(k), int(n)) for k, n in meeting_kinds],
        "values": [(str(v), int(n)) for v, n in values],
        "colleagues": colleagues,
        "contexts": [(str(k), int(n)) for k, n in contexts],
        "months": _months(monthly, last.date() if last else None, months),
    }


def _months(counts: dict[str, int], last: date | None, n: int) -> list[tuple[str, int]]:
    if last is None:
        return []
    out = []
    year, month = last.year, last.month
    for _ in range(n):
        label = f"{year:04d}-{month:02d}"
        out.append((label, int(counts.get(label, 0))))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]
