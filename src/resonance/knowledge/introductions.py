"""Warm introductions: the shortest trusted path from a person to an external contact or account.

The person graph (`graph.py`) links colleagues and customer contacts through
meetings, e-mail, replies, kudos, introductions and reporting lines. A warm
path uses trusted ties only (reciprocal, reporting line, or strong enough);
among the shortest (fewest hops) the strongest ties win. For an account, every
known contact at the account is a possible end and the best few paths are
returned. Each hop says why the two people know each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from resonance.knowledge.accounts import resolve_account
from resonance.knowledge.corpus import resolve_as_of
from resonance.knowledge.graph import PersonGraph, build_graph
from resonance.knowledge.people import NotFound, resolve_person


def describe_tie(tie: dict[str, Any] | None) -> str:
    """Why two people know each other, in words."""
    if not tie:
        return "no direct tie"
    parts = []
    if tie.get("reporting"):
        parts.append("reporting line")
    if tie.get("meetings"):
        parts.append(f"{tie['meetings']} meeting{'s' if tie['meetings'] != 1 else ''} together")
    if tie.get("messages"):
        parts.append(f"{tie['messages']} message{'s' if tie['messages'] != 1 else ''}")
    if tie.get("introductions"):
        parts.append(f"{tie['introductions']} introduction{'s' if tie['introductions'] != 1 else ''}")
    if tie.get("social"):
        parts.append(f"{tie['social']} replies, reactions or kudos")
    return ", ".join(parts) or "worked together"


def _target_people(con: duckdb.DuckDBPyConnection, ref: str) -> tuple[dict[str, Any], list[str]]:
    """What `ref` names (a person or an account) and the people who may end the path."""
    try:
        account_id, name = resolve_account(con, ref)
    except NotFound:
        account_id = None
    if account_id is not None:
        rows = con.execute(
            """SELECT person_id FROM people WHERE is_external AND lower(organization) = lower(?)
               ORDER BY person_id""",
            [name],
        ).fetchall()
        return {"kind": "account", "account_id": account_id, "name": name}, [r[0] for r in rows]
    person = resolve_person(con, ref)
    return {"kind": "person", "person_id": person}, [person]


def introduction_paths(
    con: duckdb.DuckDBPyConnection,
    person_id: str,
    to: str,
    as_of: datetime | str | None = None,
    graph: PersonGraph | None = None,
    alternatives: int = 3,
) -> dict[str, Any]:
    """The warmest ways from `person_id` to `to` (a contact or an account).

    Returns `{"from", "to", "paths": [{"target", "hops", "warm", "steps": [...]}], "found"}`;
    `warm` is False when only a path over weak ties exists.
    """
    when = resolve_as_of(con, as_of)
    target, people = _target_people(con, to)
    graph = graph or build_graph(con, as_of=when)
    warm_paths = graph.paths(person_id, people, trusted=True)
    cold_paths = graph.paths(person_id, [p for p in people if p not in warm_paths], trusted=False)
    found: list[tuple[int, int, float, str, list[str]]] = []
    for cold, paths in ((0, warm_paths), (1, cold_paths)):
        for t, path in paths.items():
            weakest = min(((graph.tie(a, b) or {}).get("strength", 0.0) for a, b in zip(path, path[1:], strict=False)),
                          default=0.0)
            found.append((cold, len(path) - 1, -weakest, t, path))  # warm first, then fewer hops, then stronger
    found.sort()
    names = _names(con, {p for f in found for p in f[4]} | {person_id})
    result_paths = []
    for rank, (cold, hops, _s, t, path) in enumerate(found[:alternatives]):
        steps = []
        for i, p in enumerate(path):
            step = {"person": p, **names.get(p, {"display_name": p})}
            if i > 0:
                tie = graph.tie(path[i - 1], p)
                step["tie"] = {k: tie[k] for k in ("strength", "meetings", "messages", "social", "introductions",
                                                   "reporting", "reciprocal")} if tie else None
                step["how"] = describe_tie(tie)
            steps.append(step)
        result_paths.append({"rank": rank + 1, "target": t, "hops": hops, "warm": not cold, "steps": steps,
                             "summary": summarise_path(steps)})
    if target["kind"] == "person":
        target.update(names.get(target["person_id"], {}))
    return {
        "from": {"person": person_id, **names.get(person_id, {})},
        "to": target,
        "as_of": when,
        "reachable_contacts": len(people),
        "found": bool(result_paths),
        "paths": result_paths,
    }


def summarise_path(steps: list[dict[str, Any]]) -> str:
    """"Ask Bob Smith (2 meetings together) to introduce you to Ana Lee, CTO at Acme (3 meetings together)"."""
    if len(steps) < 2:
        return "that is you"
    last = steps[-1]
    who = last.get("display_name") or last["person"]
    if last.get("title") or last.get("organization"):
        who += " (" + ", ".join(x for x in (last.get("title"), last.get("organization")) if x) + ")"
    if len(steps) == 2:
        return f"You know {who} directly: {last.get('how')}."
    middle = steps[1:-1]
    chain = " then ".join(f"{s.get('display_name') or s['person']} ({s.get('how')})" for s in middle)
    return f"Ask {chain} to introduce you to {who}: {last.get('how')}."


def _names(con: duckdb.DuckDBPyConnection, persons: set[str]) -> dict[str, dict[str, Any]]:
    if not persons:
        return {}
    rows = con.execute(
        """SELECT person_id, display_name, title, organization, department, is_external
           FROM people WHERE person_id IN (SELECT unnest(?))""",
        [sorted(persons)],
    ).fetchall()
    return {r[0]: {"display_name": r[1], "title": r[2], "organization": r[3], "department": r[4],
                   "is_external": r[5]} for r in rows}
