"""Demo accounts for the kudos walk-through: a meeting organiser and a colleague they met customers with.

`resonance demo` calls `create_demo_accounts` after the web app's own demo accounts:
- `organizer` (password `resonance-organizer`): the employee who organised the most customer
  meetings (meetings linked to a CRM account) that other colleagues were in;
- `attendee` (password `resonance-attendee`): the colleague who was in the most of them.

So the organiser can open one of those meetings (or run `resonance kudos links --meeting ID`),
thank the attendee with one click, and the attendee sees it on their dashboard with the
meeting and the customer. Deterministic for a given store; re-running resets both accounts.
"""

from __future__ import annotations

from typing import Any

import duckdb

from resonance.kudos.operations import utcnow
from resonance.web.accounts import create_user, ensure_auth_schema, get_user, hash_password

DEMO_ACCOUNTS = {"organizer": "resonance-organizer", "attendee": "resonance-attendee"}


def pick_pair(con: duckdb.DuckDBPyConnection, exclude: set[str]) -> tuple[str, str] | None:
    """(organiser, attendee) person ids for the walk-through, or None when the store has no customer meeting."""
    rows = con.execute(
        """
        WITH colleague AS (
            SELECT person_id FROM people
            WHERE NOT coalesce(is_external, false) AND len(coalesce(sources, [])) > 0
              AND NOT list_contains(?::VARCHAR[], person_id)
        ),
        meetings AS (
            SELECT it.item_id AS meeting, any_value(o.person_id) AS organizer
            FROM items it JOIN identities o ON o.identity = it.author
            WHERE it.kind = 'meeting' AND json_extract_string(it.extra, '$.account') IS NOT NULL AND it.created <= ?
            GROUP BY it.item_id
        ),
        joined AS (
            SELECT DISTINCT m.meeting, m.organizer, i.person_id AS attendee
            FROM meetings m JOIN events e ON e.object = m.meeting AND e.verb = 'Attend'
            JOIN identities i ON i.identity = e.actor
            WHERE i.person_id <> m.organizer
        )
        SELECT organizer, attendee, together, sum(together) OVER (PARTITION BY organizer) AS organizer_total
        FROM (SELECT j.organizer, j.attendee, count(*) AS together FROM joined j
              WHERE j.organizer IN (SELECT person_id FROM colleague)
                AND j.attendee IN (SELECT person_id FROM colleague)
              GROUP BY j.organizer, j.attendee)
        ORDER BY organizer_total DESC, organizer, together DESC, attendee
        LIMIT 1
        """,
        [sorted(exclude), utcnow()],
    ).fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


def create_demo_accounts(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Create (or reset) the `organizer` and `attendee` accounts; [] when there is no customer meeting."""
    ensure_auth_schema(con)
    taken = {
        r[0] for r in con.execute(
            "SELECT person_id FROM users WHERE person_id IS NOT NULL AND NOT disabled AND username NOT IN (?, ?)",
            list(DEMO_ACCOUNTS),
        ).fetchall()
    }
    pair = pick_pair(con, taken)
    if pair is None:
        return []
    accounts = []
    for (username, password), person_id in zip(DEMO_ACCOUNTS.items(), pair, strict=True):
        con.execute(
            "UPDATE users SET person_id = NULL, disabled = true WHERE person_id = ? AND username <> ?",
            [person_id, username],
        )
        existing = get_user(con, username)
        if existing is None:
            create_user(con, username, password, "employee", person_id, actor="demo")
        else:
            con.execute(
                "UPDATE users SET role = 'employee', person_id = ?, disabled = false, password_hash = ? "
                "WHERE user_id = ?",
                [person_id, hash_password(password), existing.user_id],
            )
            con.execute("DELETE FROM sessions WHERE user_id = ?", [existing.user_id])
        accounts.append({"username": username, "password": password, "role": "employee", "person_id": person_id})
    return accounts
