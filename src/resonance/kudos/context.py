"""Resolving who and what a kudos is about, against the store (reads only).

- People: a person id, any identity key (`email:...`, `hr:E042`, `slack:U123`), an e-mail
  address, a Slack mention (`<@U123|alice>`), a handle (`@alice`) or a demo account's
  username. A giver or receiver must be a person of the company: a directory record
  (a profile from any source), not an external contact.
- Context: a meeting (calendar item, `ical:<UID>` or the bare UID), a customer account
  (`crm-account:<Id>`, the bare Id or its exact name), an opportunity
  (`crm-opportunity:<Id>` or the bare Id) and any item. A meeting or opportunity brings
  its customer account with it when the store knows it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

import duckdb

from resonance.kudos.rules import KudosError

SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|([^>]*))?>$")
_WORDS = re.compile(r"[^\w&.-]+")


@dataclass(frozen=True, slots=True)
class PersonRef:
    person_id: str
    identity: str  # the identity key events name the person by
    display_name: str | None


@dataclass(frozen=True, slots=True)
class ResolvedContext:
    meeting: str | None = None
    account: str | None = None
    opportunity: str | None = None
    item: str | None = None
    meeting_title: str | None = None
    account_name: str | None = None
    opportunity_name: str | None = None
    item_title: str | None = None

    @property
    def empty(self) -> bool:
        return not any((self.meeting, self.account, self.opportunity, self.item))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """`meeting "Acme: demo", customer Acme` (for confirmations and chat answers)."""
        parts = []
        if self.meeting:
            parts.append(f'meeting "{self.meeting_title or self.meeting}"')
        if self.account:
            parts.append(f"customer {self.account_name or self.account}")
        if self.opportunity:
            parts.append(f'deal "{self.opportunity_name or self.opportunity}"')
        if self.item:
            parts.append(f'"{self.item_title or self.item}"')
        return ", ".join(parts)


# --- people -----------------------------------------------------------------------------
def resolve_person(con: duckdb.DuckDBPyConnection, ref: str, role: str = "receiver") -> PersonRef:
    """The company person `ref` names (see the module docstring), or a KudosError saying why not."""
    ref = (ref or "").strip()
    if not ref:
        raise KudosError(f"Say who the {role} is.", status=409, code="person")
    if len(ref) > 500:
        raise KudosError(f"The {role} reference is too long.", status=409, code="person")
    row = _person_row(con, ref)  # the common case: a person id (API, links)
    if row is None:
        person_id = _find_person(con, ref)
        row = _person_row(con, person_id) if person_id is not None else None
    if row is None:
        raise KudosError(
            f"No one in the directory matches {ref!r}: give an e-mail address, an identity key or a handle.",
            status=404,
            code="person",
        )
    person_id, name, external, sources, identity = row
    if sources == 0:
        raise KudosError(
            f"{ref!r} is known from activity only, not from the directory; kudos go to colleagues in the directory.",
            status=409,
            code="directory",
        )
    if external:
        raise KudosError(
            f"{name or ref} is an external contact; kudos go to colleagues in the company's directory.",
            status=409,
            code="external",
        )
    if identity is None:
        raise KudosError(f"{person_id!r} has no identity in the store.", status=404, code="person")
    return PersonRef(person_id, identity, name)


def _person_row(con: duckdb.DuckDBPyConnection, person_id: str) -> tuple | None:
    """(person_id, display_name, is_external, number of sources, preferred identity key) in one query."""
    rows = con.execute(
        f"""SELECT p.person_id, p.display_name, coalesce(p.is_external, false), len(coalesce(p.sources, [])),
                   (SELECT identity FROM identities i WHERE i.person_id = p.person_id {_PREFERRED} LIMIT 1)
            FROM people p WHERE p.person_id = ?""",
        [person_id],
    ).fetchall()
    return rows[0] if rows else None


def _find_person(con: duckdb.DuckDBPyConnection, ref: str) -> str | None:
    mention = SLACK_MENTION.match(ref)
    candidates: list[str] = []
    if mention:
        candidates.append(f"slack:{mention.group(1)}")
        handle = mention.group(2)
    else:
        handle = ref[1:] if ref.startswith("@") else None
        candidates += [ref, ref.lower()]
        if "@" in ref and not ref.startswith("@") and ":" not in ref:
            candidates.append("email:" + ref.lower())
    for candidate in candidates:
        rows = con.execute(
            """SELECT person_id FROM identities WHERE identity = ?
               UNION SELECT person_id FROM people WHERE person_id = ?""",
            [candidate, candidate],
        ).fetchall()
        if len(rows) == 1:
            return str(rows[0][0])
    names = [handle] if handle else ([] if mention or ":" in ref or "@" in ref else [ref])
    for name in names:
        found = _by_handle(con, name)
        if found:
            return found
    if not mention and ":" not in ref and "@" not in ref:
        rows = con.execute(
            "SELECT person_id FROM users WHERE username = ? AND person_id IS NOT NULL AND NOT disabled",
            [ref.lower()],
        ).fetchall() if _has_table(con, "users") else []
        if rows:
            return str(rows[0][0])
    return None


def _by_handle(con: duckdb.DuckDBPyConnection, handle: str) -> str | None:
    """A chat handle (`alice`, `dana.scully`): people whose handles hold it; must be one person."""
    rows = con.execute(
        """SELECT DISTINCT person_id FROM people
           WHERE list_contains(list_transform(coalesce(handles, []), lambda h: lower(h)), ?)""",
        [handle.lower()],
    ).fetchall()
    if len(rows) > 1:
        raise KudosError(f"@{handle} is ambiguous ({len(rows)} people); use their e-mail address.", code="person")
    return str(rows[0][0]) if rows else None


_PREFERRED = (
    "ORDER BY identity = person_id DESC, identity LIKE 'hr:%' DESC, identity LIKE 'email:%' DESC, identity"
)


def preferred_identity(con: duckdb.DuckDBPyConnection, person_id: str) -> str:
    """The identity key to name a person by in new events: the person id when it is a key, else
    the directory id, else an e-mail address (stable across re-imports)."""
    rows = con.execute(
        f"SELECT identity FROM identities WHERE person_id = ? {_PREFERRED} LIMIT 1", [person_id]
    ).fetchall()
    if not rows:
        raise KudosError(f"{person_id!r} has no identity in the store.", status=404, code="person")
    return str(rows[0][0])


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0]
    )


# --- context ----------------------------------------------------------------------------
def resolve_context(
    con: duckdb.DuckDBPyConnection,
    meeting: str | None = None,
    account: str | None = None,
    opportunity: str | None = None,
    item: str | None = None,
) -> ResolvedContext:
    """Check each part of a context against the store; fill the account from a meeting or a deal."""
    meeting, account, opportunity, item = (_clean(x) for x in (meeting, account, opportunity, item))
    m_title = a_name = o_name = i_title = None
    derived_account = None
    if meeting:
        row = _item(con, meeting, ("ical:",), kinds=("meeting",))
        if row is None:
            raise KudosError(f"No meeting {meeting!r} in the store.", status=404, code="context")
        meeting, m_title, extra = row
        derived_account = _extra(extra, "account") or _meeting_account(con, meeting)
    if opportunity:
        row = _item(con, opportunity, ("crm-opportunity:",), kinds=("opportunity",))
        if row is None:
            raise KudosError(f"No opportunity {opportunity!r} in the store.", status=404, code="context")
        opportunity, o_name, extra = row
        derived_account = derived_account or _extra(extra, "account")
    if account:
        row = _item(con, account, ("crm-account:",), kinds=("account",), by_title=True)
        if row is None:
            raise KudosError(f"No customer account {account!r} in the store.", status=404, code="context")
        account, a_name, _ = row
    elif derived_account:
        account = derived_account
        found = _item(con, account, (), kinds=("account",))
        a_name = found[1] if found else None
    if item:
        row = _item(con, item, (), kinds=None)
        if row is None:
            raise KudosError(f"No item {item!r} in the store.", status=404, code="context")
        item, i_title, _ = row
    return ResolvedContext(meeting, account, opportunity, item, m_title, a_name, o_name, i_title)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    if len(value) > 2000:
        raise KudosError("A context reference is too long.", code="context")
    return value or None


def _item(
    con: duckdb.DuckDBPyConnection,
    ref: str,
    prefixes: tuple[str, ...],
    kinds: tuple[str, ...] | None,
    by_title: bool = False,
) -> tuple[str, str | None, str | None] | None:
    kind_sql = f"AND kind IN ({', '.join('?' * len(kinds))})" if kinds else ""
    for candidate in [ref, *(p + ref for p in prefixes if not ref.startswith(p))]:
        rows = con.execute(
            f"SELECT item_id, any_value(title), any_value(extra) FROM items WHERE item_id = ? {kind_sql} GROUP BY 1",
            [candidate, *(kinds or ())],
        ).fetchall()
        if rows:
            return rows[0][0], rows[0][1], rows[0][2]
    if by_title:
        rows = con.execute(
            f"""SELECT item_id, any_value(title), any_value(extra) FROM items
                WHERE lower(title) = lower(?) {kind_sql} GROUP BY 1 LIMIT 2""",
            [ref, *(kinds or ())],
        ).fetchall()
        if len(rows) == 1:
            return rows[0][0], rows[0][1], rows[0][2]
    return None


def _extra(extra: Any, key: str) -> str | None:
    if not extra:
        return None
    try:
        value = json.loads(extra).get(key) if isinstance(extra, str) else extra.get(key)
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None


def _meeting_account(con: duckdb.DuckDBPyConnection, meeting: str) -> str | None:
    rows = con.execute(
        "SELECT any_value(ctx_account) FROM events WHERE ctx_meeting = ? AND ctx_account IS NOT NULL", [meeting]
    ).fetchall()
    return rows[0][0] if rows and rows[0][0] else None


def meeting_participants(con: duckdb.DuckDBPyConnection, meeting: str) -> dict[str, str]:
    """person_id -> role (`organizer`, `attendee`, `invited`) for everyone on a meeting."""
    rows = con.execute(
        """
        WITH parts AS (
            SELECT i.person_id, 'organizer' AS role, 0 AS rank
            FROM items it JOIN identities i ON i.identity = it.author
            WHERE it.item_id = ? AND it.kind = 'meeting'
            UNION ALL
            SELECT i.person_id, 'attendee', 1 FROM events e JOIN identities i ON i.identity = e.actor
            WHERE e.verb = 'Attend' AND e.object = ?
            UNION ALL
            SELECT i.person_id, 'invited', 2 FROM events e JOIN identities i ON i.identity = e.target
            WHERE e.verb = 'Invite' AND e.object = ?
        )
        SELECT person_id, arg_min(role, rank) FROM parts GROUP BY person_id
        """,
        [meeting, meeting, meeting],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def guess_account(con: duckdb.DuckDBPyConnection, text: str) -> str | None:
    """The one customer account a free-text message names (`for the Acme review`), else None.

    An account matches by its full name, or by the first word of its name when that word
    is distinctive (4+ letters, no other account starts with it)."""
    if not text:
        return None
    lowered = " " + _WORDS.sub(" ", text.lower()) + " "
    rows = con.execute(
        "SELECT DISTINCT item_id, title FROM items WHERE kind = 'account' AND title IS NOT NULL"
    ).fetchall()
    firsts: dict[str, list[str]] = {}
    for item_id, title in rows:
        words = title.lower().split()
        if words:
            firsts.setdefault(words[0], []).append(item_id)
    hits = set()
    for item_id, title in rows:
        name = " ".join(_WORDS.sub(" ", title.lower()).split())
        first = name.split()[0] if name else ""
        by_name = bool(name) and f" {name} " in lowered
        by_first = len(first) >= 4 and len(firsts.get(first, [])) == 1 and f" {first} " in lowered
        if by_name or by_first:
            hits.add(item_id)
    return hits.pop() if len(hits) == 1 else None
