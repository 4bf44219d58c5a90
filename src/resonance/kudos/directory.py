"""What the kudos pages show about colleagues, meetings and items (reads only).

Only directory facts are shown about colleagues (name, title, department, location),
never their figures; people who opted out of analytics are not offered. Meetings are
shown to the people who were in them; items only when they are shared knowledge
(the votable kinds: posts, answers, wiki pages...), never e-mails or private messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from resonance.kudos.context import meeting_participants
from resonance.kudos.operations import utcnow
from resonance.privacy.consent import consent_granted, opted_out_people

COLLEAGUE_COLUMNS = "person_id, display_name, title, department, location"


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def colleague(con: duckdb.DuckDBPyConnection, person_id: str) -> dict[str, Any] | None:
    """A colleague's directory card, or None (unknown, external, or opted out)."""
    if person_id in opted_out_people(con):
        return None
    rows = _dicts(
        con.execute(
            f"""SELECT {COLLEAGUE_COLUMNS} FROM people
                WHERE person_id = ? AND NOT coalesce(is_external, false) AND len(coalesce(sources, [])) > 0""",
            [person_id],
        )
    )
    return rows[0] if rows else None


def search(
    con: duckdb.DuckDBPyConnection, q: str, viewer: str, votable_kinds: frozenset[str], limit: int = 8
) -> dict[str, list[dict[str, Any]]]:
    """Colleagues by name or e-mail, the viewer's meetings and shared items by title."""
    q = (q or "").strip()[:100]
    if len(q) < 2:
        return {"people": [], "meetings": [], "items": []}
    pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    hidden = sorted(opted_out_people(con))
    people = _dicts(
        con.execute(
            f"""SELECT {COLLEAGUE_COLUMNS} FROM people
                WHERE NOT coalesce(is_external, false) AND len(coalesce(sources, [])) > 0 AND person_id <> ?
                  AND NOT list_contains(?::VARCHAR[], person_id)
                  AND (lower(display_name) LIKE ? ESCAPE '\\'
                       OR list_bool_or(list_transform(emails, lambda e: lower(e) LIKE ? ESCAPE '\\')))
                ORDER BY display_name, person_id LIMIT ?""",
            [viewer, hidden, pattern, pattern, limit],
        )
    )
    meetings = [m for m in my_meetings(con, viewer, limit=200) if q.lower() in (m["title"] or "").lower()][:limit]
    kinds = sorted(votable_kinds)
    items = _dicts(
        con.execute(
            """SELECT it.item_id, any_value(it.kind) AS kind, any_value(it.title) AS title,
                       any_value(it.created) AS created, any_value(p.display_name) AS author_name
                FROM items it LEFT JOIN identities a ON a.identity = it.author
                LEFT JOIN people p ON p.person_id = a.person_id
                WHERE it.kind IN (SELECT unnest(?::VARCHAR[])) AND lower(it.title) LIKE ? ESCAPE '\\'
                GROUP BY it.item_id ORDER BY any_value(it.created) DESC NULLS LAST, it.item_id LIMIT ?""",
            [kinds, pattern, limit],
        )
    )
    return {"people": people, "meetings": meetings, "items": items}


def my_meetings(
    con: duckdb.DuckDBPyConnection,
    person_id: str,
    limit: int = 8,
    customer_only: bool = False,
    before: datetime | None = None,
    role: str | None = None,
    with_person: str | None = None,
) -> list[dict[str, Any]]:
    """Meetings the person organised, attended or was invited to, newest first (not after `before`);
    `role` keeps those where the person had that role, `with_person` those that person was in too."""
    rows = _dicts(
        con.execute(
            """
            WITH parts AS (
                SELECT it.item_id AS meeting, i.person_id, 'organizer' AS role, 0 AS rank
                FROM items it JOIN identities i ON i.identity = it.author
                WHERE it.kind = 'meeting' AND i.person_id IN (?, ?)
                UNION ALL
                SELECT e.object, i.person_id, 'attendee', 1 FROM events e JOIN identities i ON i.identity = e.actor
                WHERE e.verb = 'Attend' AND i.person_id IN (?, ?)
                UNION ALL
                SELECT e.object, i.person_id, 'invited', 2 FROM events e JOIN identities i ON i.identity = e.target
                WHERE e.verb = 'Invite' AND i.person_id IN (?, ?)
            ),
            mine AS (SELECT meeting, role, rank FROM parts WHERE person_id = ?),
            roles AS (SELECT meeting, arg_min(role, rank) AS role FROM mine
                      WHERE ? IS NULL OR meeting IN (SELECT meeting FROM parts WHERE person_id = ?)
                      GROUP BY meeting)
            SELECT it.item_id AS meeting, any_value(it.title) AS title, any_value(it.created) AS start,
                   any_value(r.role) AS role,
                   any_value(json_extract_string(it.extra, '$.account')) AS account,
                   (SELECT any_value(title) FROM items a
                    WHERE a.item_id = any_value(json_extract_string(it.extra, '$.account'))) AS account_name,
                   any_value(organizer.display_name) AS organizer_name
            FROM roles r JOIN items it ON it.item_id = r.meeting AND it.kind = 'meeting'
            LEFT JOIN identities oi ON oi.identity = it.author
            LEFT JOIN people organizer ON organizer.person_id = oi.person_id
            WHERE (? IS NULL OR it.created <= ?)
              AND (NOT ? OR json_extract_string(it.extra, '$.account') IS NOT NULL)
              AND (? IS NULL OR r.role = ?)
            GROUP BY it.item_id
            ORDER BY any_value(it.created) DESC NULLS LAST, it.item_id
            LIMIT ?
            """,
            [*[person_id, with_person or person_id] * 3, person_id, with_person, with_person,
             before, before, customer_only, role, role, limit],
        )
    )
    return rows


def meeting_card(con: duckdb.DuckDBPyConnection, meeting: str, viewer: str) -> dict[str, Any] | None:
    """A meeting with its people, for someone who was in it; None otherwise (its existence is not confirmed)."""
    people = meeting_participants(con, meeting)
    if viewer not in people:
        return None
    rows = _dicts(
        con.execute(
            """SELECT item_id AS meeting, any_value(title) AS title, any_value(created) AS start,
                      any_value(json_extract_string(extra, '$.account')) AS account
               FROM items WHERE item_id = ? AND kind = 'meeting' GROUP BY item_id""",
            [meeting],
        )
    )
    if not rows:
        return None
    card = rows[0]
    if card["account"]:
        names = con.execute("SELECT any_value(title) FROM items WHERE item_id = ?", [card["account"]]).fetchall()
        card["account_name"] = names[0][0] if names else None
    else:
        card["account_name"] = None
    hidden = opted_out_people(con) - {viewer}
    members = _dicts(
        con.execute(
            f"""SELECT {COLLEAGUE_COLUMNS}, coalesce(is_external, false) AS external, organization,
                       len(coalesce(sources, [])) > 0 AS in_directory
                FROM people WHERE person_id IN (SELECT unnest(?::VARCHAR[]))
                ORDER BY display_name, person_id""",
            [[p for p in people if p not in hidden]],
        )
    )
    for m in members:
        m["role"] = people[m["person_id"]]
        m["thankable"] = (not m["external"] and m["in_directory"] and m["person_id"] != viewer
                          and consent_granted(con, m["person_id"], "kudos"))
    card["people"] = members
    card["viewer_role"] = people[viewer]
    return card


def item_card(con: duckdb.DuckDBPyConnection, item_id: str, votable_kinds: frozenset[str]) -> dict[str, Any] | None:
    """A shared item (a votable kind) with its author's name; None for anything else."""
    rows = _dicts(
        con.execute(
            """SELECT it.item_id, any_value(it.kind) AS kind, any_value(it.title) AS title,
                      any_value(it.text) AS text, any_value(it.created) AS created,
                      any_value(a.person_id) AS author_id, any_value(p.display_name) AS author_name
               FROM items it LEFT JOIN identities a ON a.identity = it.author
               LEFT JOIN people p ON p.person_id = a.person_id
               WHERE it.item_id = ? GROUP BY it.item_id""",
            [item_id],
        )
    )
    if not rows or rows[0]["kind"] not in votable_kinds:
        return None
    card = rows[0]
    if card["author_id"] in opted_out_people(con):
        card["author_id"], card["author_name"] = None, "A colleague"
    return card


def shared_meetings(con: duckdb.DuckDBPyConnection, a: str, b: str, limit: int = 10) -> list[dict[str, Any]]:
    """Recent meetings both people were in (for the context choice of a thank-you)."""
    return my_meetings(con, a, limit=limit, before=utcnow(), with_person=b)
