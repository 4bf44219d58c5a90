"""Audited identity operations: merge two persons, undo a merge (or an automatic link), list.

Every operation is one transaction that writes a row to `identity_ops` (who, when,
why, and the data needed to undo it) and then rebuilds `people`. Metrics follow
automatically: everything computed per person joins events to persons through
`identities`, which is what these operations change.

The CLI (`resonance identities ...`), the API and the web all call these functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from resonance.store.db import transaction
from resonance.store.people import refresh_people


class IdentityError(Exception):
    """An operation that cannot be done (unknown person, already undone, ...)."""


@dataclass(frozen=True, slots=True)
class OpResult:
    op_id: int
    op: str
    person_a: str
    person_b: str
    identities: list[str]
    profiles: list[tuple[str, str]]

    def as_dict(self) -> dict[str, Any]:
        return {"op_id": self.op_id, "op": self.op, "person_a": self.person_a, "person_b": self.person_b,
                "identities": self.identities, "profiles": [list(p) for p in self.profiles]}


def resolve_person(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    """A person id, or any identity key of the person (`email:...`, `slack:U..`) -> person id."""
    rows = con.execute("SELECT person_id FROM identities WHERE identity = ?", [ref]).fetchall()
    if rows:
        return str(rows[0][0])
    rows = con.execute("SELECT person_id FROM identities WHERE person_id = ? LIMIT 1", [ref]).fetchall()
    if rows:
        return str(rows[0][0])
    if "@" in ref and not ref.startswith("email:"):
        return resolve_person(con, "email:" + ref.strip().lower())
    raise IdentityError(f"no person or identity {ref!r}")


def merge(con: duckdb.DuckDBPyConnection, a: str, b: str, actor: str, reason: str | None = None) -> OpResult:
    """Fold person `b` into person `a`: every identity and profile of b moves to a.

    `a` and `b` are person ids or identity keys. Undo with `unmerge(op_id)`.
    """
    with transaction(con):
        person_a, person_b = resolve_person(con, a), resolve_person(con, b)
        if person_a == person_b:
            raise IdentityError(f"{a} and {b} are already the same person ({person_a})")
        identities = _identities_of(con, person_b)
        profiles = _profiles_of(con, person_b)
        con.execute("UPDATE identities SET person_id = ? WHERE person_id = ?", [person_a, person_b])
        con.execute("UPDATE profiles SET person_id = ? WHERE person_id = ?", [person_a, person_b])
        op_id = _record(con, "merge", actor, person_a, person_b, reason,
                        {"identities": identities, "profiles": profiles})
        refresh_people(con)
    return OpResult(op_id, "merge", person_a, person_b, identities, [tuple(p) for p in profiles])


def unmerge(con: duckdb.DuckDBPyConnection, op_id: int, actor: str, reason: str | None = None) -> OpResult:
    """Undo merge (or automatic link) `op_id`: the identities and profiles it moved go back
    to the person they came from, exactly as before; the op is marked undone.

    Identities that arrived later through one of the restored profiles (a re-import
    added a key to that account) go back with it. Undo this undo with `merge` again.
    """
    with transaction(con):
        rows = con.execute(
            "SELECT op, person_a, person_b, undo, undone_by FROM identity_ops WHERE op_id = ?", [op_id]
        ).fetchall()
        if not rows:
            raise IdentityError(f"no identity operation {op_id}")
        op, person_a, person_b, undo_text, undone_by = rows[0]
        if op not in ("merge", "link"):
            raise IdentityError(f"operation {op_id} is a {op}: only merges and links can be undone")
        if undone_by is not None:
            raise IdentityError(f"operation {op_id} was already undone by operation {undone_by}")
        undo = json.loads(undo_text) if isinstance(undo_text, str) else undo_text
        profiles = [tuple(p) for p in undo.get("profiles", [])]
        identities = list(undo.get("identities", []))
        # Keys the restored profiles list now, that sit with the merged person only through them.
        for source, native_id in profiles:
            listed = con.execute(
                "SELECT identities, person_id FROM profiles WHERE source = ? AND native_id = ?", [source, native_id]
            ).fetchall()
            if not listed:
                continue
            for key in listed[0][0] or []:
                if key in identities:
                    continue
                owner = con.execute("SELECT person_id FROM identities WHERE identity = ?", [key]).fetchall()
                others = con.execute(
                    """SELECT count(*) FROM profiles WHERE person_id = ? AND list_contains(identities, ?)
                       AND NOT (source = ? AND native_id = ?)""",
                    [listed[0][1], key, source, native_id],
                ).fetchall()[0][0]
                if owner and owner[0][0] == listed[0][1] and others == 0 and key != person_a:
                    identities.append(key)
        current = {
            key: person for key, person in con.execute(
                "SELECT identity, person_id FROM identities WHERE list_contains(?, identity)", [identities]
            ).fetchall()
        }
        con.execute("UPDATE identities SET person_id = ? WHERE list_contains(?, identity)", [person_b, identities])
        for source, native_id in profiles:
            con.execute("UPDATE profiles SET person_id = ? WHERE source = ? AND native_id = ?",
                        [person_b, source, native_id])
        new_id = _record(con, "unmerge", actor, person_a, person_b, reason or f"undo of operation {op_id}",
                         {"undoes": op_id, "identities": identities, "profiles": [list(p) for p in profiles],
                          "from": current})
        con.execute("UPDATE identity_ops SET undone_by = ? WHERE op_id = ?", [new_id, op_id])
        refresh_people(con)
    return OpResult(new_id, "unmerge", person_a, person_b, identities, [tuple(p) for p in profiles])


def list_ops(con: duckdb.DuckDBPyConnection, person: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Identity operations, newest first; only those touching `person` when given."""
    person_id = resolve_person(con, person) if person else None
    rows = con.execute(
        """SELECT op_id, op, actor, done_at, person_a, person_b, reason, undone_by FROM identity_ops
           WHERE ? IS NULL OR person_a = ? OR person_b = ?
           ORDER BY op_id DESC LIMIT ?""",
        [person_id, person_id, person_id, limit],
    ).fetchall()
    keys = ("op_id", "op", "actor", "done_at", "person_a", "person_b", "reason", "undone_by")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def describe_person(con: duckdb.DuckDBPyConnection, person: str) -> dict[str, Any]:
    """A person's identities, profiles (one per source account) and identity history."""
    person_id = resolve_person(con, person)
    people = con.execute(
        "SELECT display_name, is_external, organization, sources FROM people WHERE person_id = ?", [person_id]
    ).fetchall()
    display, external, organization, sources = people[0] if people else (None, None, None, [])
    return {
        "person_id": person_id, "display_name": display, "is_external": external, "organization": organization,
        "sources": sources,
        "identities": [r[0] for r in con.execute(
            "SELECT identity FROM identities WHERE person_id = ? ORDER BY identity", [person_id]).fetchall()],
        "profiles": [
            {"source": s, "native_id": n, "display_name": d, "identities": i}
            for s, n, d, i in con.execute(
                """SELECT source, native_id, display_name, identities FROM profiles WHERE person_id = ?
                   ORDER BY source, native_id""", [person_id]).fetchall()
        ],
        "operations": list_ops(con, person_id),
    }


# --- helpers ---------------------------------------------------------------------------
def _identities_of(con: duckdb.DuckDBPyConnection, person: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT identity FROM identities WHERE person_id = ? ORDER BY identity", [person]).fetchall()]


def _profiles_of(con: duckdb.DuckDBPyConnection, person: str) -> list[list[str]]:
    return [[s, n] for s, n in con.execute(
        "SELECT source, native_id FROM profiles WHERE person_id = ? ORDER BY source, native_id", [person]).fetchall()]


def _record(con: duckdb.DuckDBPyConnection, op: str, actor: str, a: str, b: str, reason: str | None,
            undo: dict[str, Any]) -> int:
    rows = con.execute(
        """INSERT INTO identity_ops (op_id, op, actor, done_at, person_a, person_b, reason, undo)
           VALUES (nextval('identity_op_seq'), ?, ?, now()::TIMESTAMP, ?, ?, ?, ?) RETURNING op_id""",
        [op, actor, a, b, reason, json.dumps(undo)],
    ).fetchall()
    return int(rows[0][0])
