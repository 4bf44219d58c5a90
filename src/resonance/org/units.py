"""Who belongs to which unit: manager subtrees, departments, locations, roles, within a scope.

The population of every roll-up is the internal people of the directory (`people`, not
external) who have not opted out of analytics, inside the viewer's scope (the whole
company for analysts, the manager's own reporting subtree for managers) and the optional
filters. A manager subtree is everyone who reports, directly or not, to that manager
(the manager not included: their own figures belong to their manager's subtree).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb

from resonance.privacy.consent import OPTED_OUT_SQL
from resonance.privacy.guard import ANALYST, MANAGER, AccessDenied, Principal, manager_subtree

DIMENSIONS = ("manager", "department", "location", "role")
"""What a roll-up can group by."""
ATTRIBUTES = ("department", "location", "role")
NOT_RECORDED = "(not recorded)"
"""The unit of people whose directory record has no value for the dimension."""

CLI_PRINCIPAL = Principal(user_id=0, username="cli", role=ANALYST, person_id=None, via="cli")
"""Whoever runs the command line on the store file sees what an analyst sees."""


class UnknownUnit(LookupError):
    """No unit of that name in the dimension (or not inside the viewer's scope)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose figures a viewer may see: the whole company, or one manager's subtree."""

    kind: str  # company | subtree
    manager_id: str | None = None
    label: str = "Company"
    members: frozenset[str] = field(default_factory=frozenset)  # subtree members (kind subtree)


def scope_for(con: duckdb.DuckDBPyConnection, principal: Principal) -> Scope:
    """The scope of a principal: analysts the company, managers their own subtree."""
    if principal.role == ANALYST:
        return Scope("company")
    if principal.role == MANAGER and principal.person_id:
        name = con.execute("SELECT display_name FROM people WHERE person_id = ?", [principal.person_id]).fetchall()
        label = f"Organisation of {name[0][0]}" if name and name[0][0] else "Your organisation"
        return Scope("subtree", principal.person_id, label, frozenset(manager_subtree(con, principal.person_id)))
    raise AccessDenied("Team and organisation figures are for managers and analysts.")


def _check_dimension(by: str) -> None:
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}; use one of {', '.join(DIMENSIONS)}")


def population(
    con: duckdb.DuckDBPyConnection, scope: Scope, filters: Mapping[str, str] | None = None
) -> frozenset[str]:
    """The people a roll-up counts: internal, not opted out, inside the scope and the filters."""
    rows = con.execute(
        f"""SELECT person_id, department, location, role FROM people
            WHERE NOT coalesce(is_external, false) AND person_id NOT IN ({OPTED_OUT_SQL})"""
    ).fetchall()
    people = {r[0]: {"department": r[1], "location": r[2], "role": r[3]} for r in rows}
    chosen = set(people)
    if scope.kind == "subtree":
        chosen &= scope.members
    for dim, value in (filters or {}).items():
        _check_dimension(dim)
        if dim == "manager":
            chosen &= manager_subtree(con, resolve_manager(con, value))
        else:
            chosen = {p for p in chosen if (people[p][dim] or NOT_RECORDED) == value}
    return frozenset(chosen)


def resolve_manager(con: duckdb.DuckDBPyConnection, key: str) -> str:
    """A manager's person id from an id, an e-mail, an identity key or an exact display name."""
    from resonance.metrics.report import PersonNotFound, resolve_person

    try:
        return resolve_person(con, key)
    except PersonNotFound:
        rows = con.execute("SELECT person_id FROM people WHERE display_name = ?", [key]).fetchall()
        if len(rows) == 1:
            return str(rows[0][0])
        raise UnknownUnit(f"no manager {key!r}") from None


def _opaque(person_id: str) -> str:
    return "org:" + hashlib.md5(person_id.encode()).hexdigest()[:10]


def units(
    con: duckdb.DuckDBPyConnection,
    by: str,
    members: frozenset[str],
    unit: str | None = None,
    scope: Scope | None = None,
) -> dict[str, dict]:
    """The units of dimension `by` among `members`: {unit key: {"label", "members": frozenset}}.

    In a manager's scope, only the manager and the managers inside their subtree lead units
    (their superiors' organisations, cut down to the scope, would repeat the scope itself).

    For `manager`, one unit per manager with at least one report among `members` (the unit
    key is the manager's person id, the label names the manager; a manager who opted out is
    shown as an anonymous organisation). `unit` keeps only that unit (UnknownUnit if absent).
    """
    _check_dimension(by)
    out: dict[str, dict] = {}
    if by == "manager":
        rows = con.execute(
            """
            WITH RECURSIVE anc(person_id, ancestor, depth) AS (
                SELECT person_id, manager_id, 1 FROM people
                WHERE manager_id IS NOT NULL AND manager_id <> person_id
                UNION
                SELECT a.person_id, p.manager_id, a.depth + 1 FROM anc a JOIN people p ON p.person_id = a.ancestor
                WHERE p.manager_id IS NOT NULL AND p.manager_id <> a.person_id AND a.depth < 50
            )
            SELECT DISTINCT ancestor, person_id FROM anc WHERE person_id IN (SELECT unnest(?::VARCHAR[]))
            """,
            [sorted(members)],
        ).fetchall()
        groups: dict[str, set[str]] = {}
        allowed = scope.members | {scope.manager_id} if scope is not None and scope.kind == "subtree" else None
        for manager, person in rows:
            if allowed is None or manager in allowed:
                groups.setdefault(manager, set()).add(person)
        hidden = {r[0] for r in con.execute(OPTED_OUT_SQL).fetchall()}
        names = dict(
            con.execute(
                "SELECT person_id, display_name FROM people WHERE person_id IN (SELECT unnest(?::VARCHAR[]))",
                [sorted(groups)],
            ).fetchall()
        )
        for manager, people in groups.items():
            if manager in hidden:
                out[_opaque(manager)] = {"label": "An organisation", "members": frozenset(people)}
            else:
                out[manager] = {
                    "label": f"Organisation of {names.get(manager) or manager}",
                    "members": frozenset(people),
                }
        if unit is not None:
            key = unit if unit in out else None
            if key is None:
                try:
                    key = resolve_manager(con, unit)
                except UnknownUnit:
                    key = None
            if key not in out:
                raise UnknownUnit(f"no organisation of manager {unit!r} in this scope")
            return {key: out[key]}
        return out
    rows = con.execute(
        f"""SELECT coalesce(nullif({by}, ''), ?) AS unit, person_id FROM people
            WHERE person_id IN (SELECT unnest(?::VARCHAR[]))""",
        [NOT_RECORDED, sorted(members)],
    ).fetchall()
    groups = {}
    for name, person in rows:
        groups.setdefault(str(name), set()).add(person)
    out = {name: {"label": name, "members": frozenset(people)} for name, people in groups.items()}
    if unit is not None:
        if unit not in out:
            raise UnknownUnit(f"no {by} {unit!r} in this scope")
        return {unit: out[unit]}
    return out
