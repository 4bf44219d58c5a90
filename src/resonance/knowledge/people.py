"""Finding people and accounts from what a user types."""

from __future__ import annotations

from typing import Any

import duckdb


class NotFound(LookupError):
    """Nothing (or more than one thing) matches a reference."""


def resolve_person(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    """A person id from a person id, an identity key (`hr:E042`, `slack:U1`), an e-mail address,
    or a display name that matches exactly one person (case-insensitive)."""
    ref = (ref or "").strip()
    if not ref:
        raise NotFound("no person given")
    candidates = [ref, ref.lower()]
    if "@" in ref and not ref.startswith("email:"):
        candidates.append("email:" + ref.lower())
    for candidate in candidates:
        rows = con.execute(
            """SELECT person_id FROM people WHERE person_id = ?
               UNION SELECT person_id FROM identities WHERE identity = ?""",
            [candidate, candidate],
        ).fetchall()
        if rows:
            return rows[0][0]
    rows = con.execute(
        "SELECT person_id FROM people WHERE lower(display_name) = lower(?) ORDER BY person_id LIMIT 3", [ref]
    ).fetchall()
    if len(rows) == 1:
        return rows[0][0]
    if len(rows) > 1:
        raise NotFound(f"{ref!r} names several people ({', '.join(r[0] for r in rows)}): give an id or e-mail")
    raise NotFound(f"no person matches {ref!r} (give a person id, an identity key, an e-mail or a full name)")


def person_info(con: duckdb.DuckDBPyConnection, person_id: str) -> dict[str, Any]:
    """The golden record fields the knowledge views show."""
    cur = con.execute(
        """SELECT person_id, display_name, department, location, title, role, identities, is_external, organization
           FROM people WHERE person_id = ?""",
        [person_id],
    )
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return dict(zip(names, rows[0], strict=True)) if rows else {"person_id": person_id}


def names_of(con: duckdb.DuckDBPyConnection, person_ids: set[str] | list[str]) -> dict[str, str]:
    """person_id -> display name (the id itself when unknown)."""
    ids = sorted({p for p in person_ids if p})
    if not ids:
        return {}
    rows = con.execute(
        "SELECT person_id, display_name FROM people WHERE person_id IN (SELECT unnest(?))", [ids]
    ).fetchall()
    out = {p: p for p in ids}
    out.update({r[0]: r[1] or r[0] for r in rows})
    return out
