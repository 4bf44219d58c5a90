"""Sharing a review with one's manager: the one module that creates, revokes and opens share links.

Only the person may create a link, and only for their manager (`people.manager_id` at the time
of sharing). The link carries a random token (only its SHA-256 is stored); opening it needs the
manager to be signed in, and the privacy guard (`require_shared_review_access`) refuses anyone
else, refuses a revoked or expired link, and writes every view to the access log. Each creation
and revocation leaves an audit row in `review_share_log`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import duckdb

from resonance.metrics.report import resolve_period
from resonance.privacy.guard import Principal, require_shared_review_access
from resonance.privacy.schema import ensure_privacy_schema
from resonance.store.db import transaction
from resonance.store.migrations import Migration, migrate

SHARE_DAYS = 30
"""A link expires after this many days (the person can share again)."""

REVIEW_MIGRATIONS = [
    Migration(
        1,
        "review shares",
        """
        CREATE SEQUENCE IF NOT EXISTS review_share_seq START 1;
        CREATE TABLE review_shares (
            share_id     BIGINT PRIMARY KEY,
            token_hash   VARCHAR NOT NULL UNIQUE,
            person_id    VARCHAR NOT NULL,
            recipient_id VARCHAR NOT NULL,
            period       VARCHAR NOT NULL,
            created_at   TIMESTAMP NOT NULL,
            expires_at   TIMESTAMP NOT NULL,
            revoked_at   TIMESTAMP
        );
        CREATE SEQUENCE IF NOT EXISTS review_share_log_seq START 1;
        CREATE TABLE review_share_log (
            change_id  BIGINT NOT NULL,
            share_id   BIGINT NOT NULL,
            action     VARCHAR NOT NULL,
            changed_at TIMESTAMP NOT NULL,
            by_user    VARCHAR,
            via        VARCHAR
        )
        """,
    ),
]


class ShareError(ValueError):
    """A share that cannot be made (no manager, not computed) or does not exist."""


def ensure_review_schema(con: duckdb.DuckDBPyConnection) -> None:
    ensure_privacy_schema(con)
    migrate(con, "review", REVIEW_MIGRATIONS)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _log(con: duckdb.DuckDBPyConnection, share_id: int, action: str, by: str, via: str) -> None:
    con.execute(
        """INSERT INTO review_share_log (change_id, share_id, action, changed_at, by_user, via)
           VALUES (nextval('review_share_log_seq'), ?, ?, now()::TIMESTAMP, ?, ?)""",
        [share_id, action, by, via],
    )


def create_share(con: duckdb.DuckDBPyConnection, principal: Principal, period: str, via: str = "web") -> dict[str, Any]:
    """A new link to the principal's own review of `period`, for their manager. Returns the share
    with its `token` and `path` (shown once: only the hash is kept)."""
    ensure_review_schema(con)
    if not principal.person_id or principal.role == "admin":
        raise ShareError("Only a person can share their own review.")
    label = resolve_period(con, period).label
    rows = con.execute(
        """SELECT m.person_id, m.display_name FROM people p JOIN people m ON m.person_id = p.manager_id
           WHERE p.person_id = ?""",
        [principal.person_id],
    ).fetchall()
    if not rows:
        raise ShareError("No manager is recorded for you in the directory, so there is no one to share with.")
    manager_id, manager_name = rows[0]
    token = secrets.token_urlsafe(24)
    now = datetime.now().replace(microsecond=0)
    share_id = int(con.execute("SELECT nextval('review_share_seq')").fetchall()[0][0])
    with transaction(con):
        con.execute(
            """INSERT INTO review_shares (share_id, token_hash, person_id, recipient_id, period, created_at,
                                          expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            [share_id, _hash(token), principal.person_id, manager_id, label, now, now + timedelta(days=SHARE_DAYS)],
        )
        _log(con, share_id, "create", principal.username, via)
    share = get_share(con, principal.person_id, share_id)
    share.update(token=token, path=f"/shared/review/{token}", recipient_name=manager_name)
    return share


def _share_rows(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> list[dict[str, Any]]:
    ensure_review_schema(con)
    cur = con.execute(
        f"""SELECT s.share_id, s.person_id, s.recipient_id, m.display_name AS recipient_name,
                   o.display_name AS person_name, s.period, s.created_at, s.expires_at, s.revoked_at,
                   (SELECT count(*) FROM access_log a WHERE a.subject_person_id = s.person_id
                      AND a.endpoint LIKE '/shared/review/%' AND a.purpose = 'shared review #' || s.share_id)
                   AS views
            FROM review_shares s LEFT JOIN people m ON m.person_id = s.recipient_id
            LEFT JOIN people o ON o.person_id = s.person_id
            WHERE {where} ORDER BY s.share_id DESC""",
        params,
    )
    names = [d[0] for d in cur.description]
    out = []
    now = datetime.now()
    for r in cur.fetchall():
        row = dict(zip(names, r, strict=True))
        row["active"] = row["revoked_at"] is None and row["expires_at"] > now
        row["views"] = int(row["views"] or 0)
        out.append(row)
    return out


def list_shares(con: duckdb.DuckDBPyConnection, person_id: str) -> list[dict[str, Any]]:
    """The person's share links, newest first, with how often each was viewed."""
    return _share_rows(con, "s.person_id = ?", [person_id])


def shared_with(con: duckdb.DuckDBPyConnection, recipient_id: str) -> list[dict[str, Any]]:
    """Active reviews shared with this person (a manager's inbox)."""
    return [s for s in _share_rows(con, "s.recipient_id = ?", [recipient_id]) if s["active"]]


def get_share(con: duckdb.DuckDBPyConnection, person_id: str, share_id: int) -> dict[str, Any]:
    rows = _share_rows(con, "s.person_id = ? AND s.share_id = ?", [person_id, share_id])
    if not rows:
        raise ShareError("No such share of yours.")
    return rows[0]


def revoke_share(con: duckdb.DuckDBPyConnection, principal: Principal, share_id: int, via: str = "web") -> bool:
    """Revoke one of the principal's own links (True if it was active). Another person's share is 'not found'."""
    if not principal.person_id:
        raise ShareError("No such share of yours.")
    share = get_share(con, principal.person_id, share_id)
    if share["revoked_at"] is not None:
        return False
    with transaction(con):
        con.execute("UPDATE review_shares SET revoked_at = now()::TIMESTAMP WHERE share_id = ?", [share_id])
        _log(con, share_id, "revoke", principal.username, via)
    return True


def open_share(
    con: duckdb.DuckDBPyConnection, principal: Principal | None, token: str, endpoint: str
) -> dict[str, Any]:
    """The share behind `token` if the guard lets `principal` view it (and logs the view)."""
    ensure_review_schema(con)
    rows = _share_rows(con, "s.token_hash = ?", [_hash(token)])
    share = rows[0] if rows else None
    require_shared_review_access(
        con,
        principal,
        subject_person_id=share["person_id"] if share else None,
        recipient_person_id=share["recipient_id"] if share else None,
        revoked=bool(share and share["revoked_at"] is not None),
        expired=bool(share and share["expires_at"] <= datetime.now()),
        endpoint=endpoint,
        purpose=f"shared review #{share['share_id']}" if share else "shared review",
    )
    assert share is not None
    return share
