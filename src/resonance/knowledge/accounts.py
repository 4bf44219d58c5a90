"""Customer accounts, their contacts and opportunities, read from the canonical tables.

The CRM connector stores accounts as items `crm-account:<Id>` (title = name,
`extra.industry`), opportunities as items `crm-opportunity:<Id>` (container =
the account; `extra` amount, stage, close_date, is_closed, is_won, and
products when the export has them), deal teams as `Join` events on the
opportunity, and contacts as external people whose organisation is the
account's name. Meetings with customers carry `ctx_account`.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from resonance.knowledge.people import NotFound

OPPORTUNITIES_SQL = """
WITH opp AS (
    SELECT o.item_id, o.title AS name, coalesce(o.container, json_extract_string(o.extra, '$.account')) AS account_id,
           try_cast(json_extract_string(o.extra, '$.amount') AS DOUBLE) AS amount,
           json_extract_string(o.extra, '$.stage') AS stage,
           try_cast(json_extract_string(o.extra, '$.close_date') AS DATE) AS close_date,
           coalesce(try_cast(json_extract_string(o.extra, '$.is_closed') AS BOOLEAN), false) AS is_closed,
           coalesce(try_cast(json_extract_string(o.extra, '$.is_won') AS BOOLEAN), false)
             OR EXISTS (SELECT 1 FROM events w WHERE w.object = o.item_id AND w.verb = 'Update'
                          AND json_extract_string(w.extra, '$.won') = 'true') AS is_won,
           coalesce(json_extract_string(o.extra, '$.products'), json_extract_string(o.extra, '$.type')) AS products,
           ow.person_id AS owner, o.created
    FROM items o LEFT JOIN identities ow ON ow.identity = o.author
    WHERE o.kind = 'opportunity'
),
team AS (
    SELECT e.object AS item_id, list_distinct(list(p.person_id)) AS team
    FROM events e JOIN identities p ON p.identity = e.actor
    WHERE e.verb = 'Join' AND e.object IN (SELECT item_id FROM opp) AND e.time <= ?
    GROUP BY e.object
)
SELECT opp.*, a.title AS account_name, json_extract_string(a.extra, '$.industry') AS industry,
       list_distinct(list_concat(CASE WHEN opp.owner IS NULL THEN [] ELSE [opp.owner] END,
                                 coalesce(team.team, []))) AS team
FROM opp LEFT JOIN team USING (item_id) LEFT JOIN items a ON a.item_id = opp.account_id AND a.kind = 'account'
"""


def opportunities(con: duckdb.DuckDBPyConnection, as_of: datetime) -> pa.Table:
    """Every opportunity with its account, amount, stage, close date, owner and team (as of a time)."""
    return con.sql(OPPORTUNITIES_SQL, params=[as_of]).to_arrow_table()


def account_contacts(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """External people and the account they belong to: account_id, account_name, person_id, display_name, title."""
    return con.sql(
        """SELECT a.item_id AS account_id, a.title AS account_name, p.person_id, p.display_name, p.title
           FROM people p JOIN items a ON a.kind = 'account' AND lower(a.title) = lower(p.organization)
           WHERE p.is_external"""
    ).to_arrow_table()


def resolve_account(con: duckdb.DuckDBPyConnection, ref: str) -> tuple[str, str]:
    """(account item id, name) from an account id (`crm-account:001…` or the bare CRM id) or name."""
    ref = (ref or "").strip()
    rows = con.execute(
        """SELECT item_id, title FROM items WHERE kind = 'account'
             AND (item_id = ? OR item_id = 'crm-account:' || ? OR lower(title) = lower(?))
           ORDER BY item_id LIMIT 2""",
        [ref, ref, ref],
    ).fetchall()
    if len(rows) == 1:
        return rows[0][0], rows[0][1]
    if len(rows) > 1:
        raise NotFound(f"{ref!r} names several accounts: give the account id")
    raise NotFound(f"no account matches {ref!r}")
