"""The privacy guard: the one module that decides who may see what.

Rules (docs/privacy.md explains them for users):
- An employee, manager or analyst sees their **own** individual data, and no one else's.
- Managers and analysts see **aggregates** only, over groups of at least the minimum group
  size (never below 3) after opted-out people are removed; a manager only over their own
  reporting subtree. The org roll-up (issue 8) calls `require_aggregate_access`.
- Admins configure Resonance; they read no one's individual data, not even through the API.
- A person who opted out of analytics is invisible to everyone else: `redact_people` hides
  them wherever another person's view would name them.
- Every read of individual data is recorded in `access_log` (who, whose, when, endpoint, purpose).

Callers pass a `Principal` (the signed-in account) and the connection; the guard raises
`AccessDenied` (or `NotAuthenticated`) rather than returning booleans, so a forgotten check
fails closed in review, and a granted read is logged in the same call.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import duckdb

from resonance.privacy.consent import opted_out_people

EMPLOYEE, MANAGER, ANALYST, ADMIN = "employee", "manager", "analyst", "admin"
ROLES = (EMPLOYEE, MANAGER, ANALYST, ADMIN)
PERSONAL_ROLES = frozenset({EMPLOYEE, MANAGER, ANALYST})
"""Roles whose account belongs to a person who may read their own dashboard."""
AGGREGATE_ROLES = frozenset({MANAGER, ANALYST})

MIN_GROUP_FLOOR = 3
"""No configuration may lower the minimum group size below this."""

HIDDEN_NAME = "A colleague"
"""What another person's view shows instead of someone who opted out."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a signed-in account (session or API token)."""

    user_id: int
    username: str
    role: str
    person_id: str | None
    via: str = "session"  # session | token | cli

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


class AccessDenied(Exception):
    """The principal may not see this. `status` is the HTTP status to answer."""

    status = 403
    title = "Forbidden"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotAuthenticated(AccessDenied):
    status = 401
    title = "Not signed in"


class GroupTooSmall(AccessDenied):
    """An aggregate over fewer people than the minimum group size."""

    title = "Group too small"

    def __init__(self, size: int, minimum: int) -> None:
        super().__init__(
            f"This group has fewer than {minimum} people who take part in analytics; "
            "figures for it are not shown so that no individual can be singled out."
        )
        self.size = size
        self.minimum = minimum


def effective_min_group_size(configured: int) -> int:
    """The minimum group size actually enforced: the configured one, never below 3."""
    return max(MIN_GROUP_FLOOR, int(configured))


# --- individual data -----------------------------------------------------------
def require_individual_access(
    con: duckdb.DuckDBPyConnection,
    principal: Principal | None,
    person_id: str,
    endpoint: str,
    purpose: str = "dashboard",
    method: str = "GET",
) -> None:
    """Allow `principal` to read `person_id`'s individual data, and log the read; else raise.

    Only the person themselves may read it, through an account that belongs to them and
    is not an admin account.
    """
    if principal is None:
        raise NotAuthenticated("Sign in to see your dashboard.")
    if principal.role == ADMIN:
        raise AccessDenied(
            "Admin accounts configure Resonance and never read anybody's personal data. "
            "Sign in with your own employee account to see your dashboard."
        )
    if principal.role not in PERSONAL_ROLES:
        raise AccessDenied(f"Role {principal.role!r} has no access to individual data.")
    if principal.person_id is None:
        raise AccessDenied("This account is not linked to a person, so it has no personal dashboard.")
    if principal.person_id != person_id:
        raise AccessDenied("You can only see your own individual data.")
    log_access(con, principal, person_id, endpoint, purpose, method)


def log_access(
    con: duckdb.DuckDBPyConnection,
    principal: Principal,
    subject_person_id: str,
    endpoint: str,
    purpose: str,
    method: str = "GET",
) -> None:
    """Append one row to the access log (durable when this returns: its own committed statement)."""
    con.execute(
        """INSERT INTO access_log (access_id, read_at, user_id, username, role, subject_person_id,
                                   endpoint, method, purpose)
           VALUES (nextval('access_log_seq'), now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, ?)""",
        [principal.user_id, principal.username, principal.role, subject_person_id, endpoint, method, purpose],
    )
    recorded = _RECORDED.get()
    if recorded is not None:
        recorded.append((subject_person_id, endpoint, purpose, method))


_RECORDED: ContextVar[list[tuple[str, str, str, str]] | None] = ContextVar("resonance_access_reads", default=None)


@contextmanager
def recording_reads() -> Iterator[list[tuple[str, str, str, str]]]:
    """Collect the access-log rows written inside the block as (subject, endpoint, purpose, method).

    The web's response cache (resonance.web.cache) keeps them with a cached page and writes them again
    each time it serves the page from memory, so that a cached read is logged exactly as a computed one."""
    rows: list[tuple[str, str, str, str]] = []
    token = _RECORDED.set(rows)
    try:
        yield rows
    finally:
        _RECORDED.reset(token)


def access_history(con: duckdb.DuckDBPyConnection, person_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """Who read this person's individual data, newest first (the person may see it)."""
    cur = con.execute(
        """SELECT read_at, username, role, endpoint, method, purpose FROM access_log
           WHERE subject_person_id = ? ORDER BY access_id DESC LIMIT ?""",
        [person_id, limit],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


class ShareNotFound(AccessDenied):
    """No shared review behind this link (or not for you: its existence is not confirmed)."""

    status = 404
    title = "Not found"


class ShareRevoked(AccessDenied):
    """The person revoked (or let expire) the review they had shared."""

    status = 410
    title = "No longer shared"


def require_shared_review_access(
    con: duckdb.DuckDBPyConnection,
    principal: Principal | None,
    subject_person_id: str | None,
    recipient_person_id: str | None,
    revoked: bool,
    expired: bool,
    endpoint: str,
    purpose: str = "shared review",
) -> None:
    """Allow the recipient of a shared review to read it, and log the read; else raise.

    A review leaves its person only through a link they created for their manager: the viewer
    must be signed in as that manager (a leaked link is useless to anyone else), and the link must
    not be revoked or expired. Every granted view is in the access log (the person sees it)."""
    if principal is None:
        raise NotAuthenticated("Sign in to open a review shared with you.")
    if subject_person_id is None or principal.person_id is None or principal.person_id != recipient_person_id:
        raise ShareNotFound("No review is shared with you at this address.")
    if revoked or expired:
        raise ShareRevoked(
            "This review is no longer shared with you: its author revoked the link"
            + (" or it expired." if expired and not revoked else ".")
        )
    log_access(con, principal, subject_person_id, endpoint, purpose)


# --- aggregates ---------------------------------------------------------------
def require_aggregate_access(
    con: duckdb.DuckDBPyConnection,
    principal: Principal | None,
    members: Iterable[str],
    min_group_size: int,
    endpoint: str,
) -> set[str]:
    """Allow an aggregate over `members`; returns the members that may be counted.

    Opted-out people are removed first; the rest must number at least the minimum
    group size (never below 3). A manager may only aggregate inside their own
    reporting subtree; an analyst over the whole company. Employees and admins get no
    aggregates of others. (Differencing protection across several shown figures is the
    roll-up's job: it must call this for every figure it shows, including differences.)
    """
    if principal is None:
        raise NotAuthenticated("Sign in to see team figures.")
    if principal.role not in AGGREGATE_ROLES:
        raise AccessDenied("Team and organisation figures are for managers and analysts.")
    wanted = set(members)
    if principal.role == MANAGER:
        if principal.person_id is None:
            raise AccessDenied("This manager account is not linked to a person.")
        outside = wanted - manager_subtree(con, principal.person_id)
        if outside:
            raise AccessDenied("Managers see figures for their own organisation only.")
    counted = wanted - opted_out_people(con)
    minimum = effective_min_group_size(min_group_size)
    if len(counted) < minimum:
        raise GroupTooSmall(len(counted), minimum)
    return counted


def manager_subtree(con: duckdb.DuckDBPyConnection, manager_person_id: str) -> set[str]:
    """Everyone who reports (directly or not) to `manager_person_id`, excluding the manager."""
    rows = con.execute(
        """
        WITH RECURSIVE tree(person_id, depth) AS (
            SELECT person_id, 1 FROM people WHERE manager_id = ?
            UNION
            SELECT p.person_id, t.depth + 1 FROM people p JOIN tree t ON p.manager_id = t.person_id
            WHERE t.depth < 50
        )
        SELECT DISTINCT person_id FROM tree WHERE person_id <> ?
        """,
        [manager_person_id, manager_person_id],
    ).fetchall()
    return {r[0] for r in rows}


# --- people named in someone else's view ------------------------------------------
def redact_people(
    con: duckdb.DuckDBPyConnection,
    viewer_person_id: str | None,
    records: Sequence[Mapping[str, Any]],
    person_field: str,
    name_fields: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Hide opted-out people (other than the viewer) from `records`.

    For each record whose `person_field` is an opted-out person, the person id is
    cleared and every field in `name_fields` becomes "A colleague". Records stay (the
    viewer's own figures still count them), only the identity disappears.
    """
    hidden = opted_out_people(con) - ({viewer_person_id} if viewer_person_id else set())
    out = []
    for record in records:
        row = dict(record)
        if row.get(person_field) in hidden:
            row[person_field] = None
            for name in name_fields:
                row[name] = HIDDEN_NAME
        out.append(row)
    return out
