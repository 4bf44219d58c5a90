"""Accounts, sessions and API tokens: the one module that changes them, each change audited.

- Local accounts with argon2id password hashes (argon2-cffi), one role each
  (employee, manager, analyst, admin) and, except for admins, the person they belong to.
- Server-side sessions: the browser holds a random token in an HttpOnly cookie; the store
  keeps only its SHA-256 and the session's CSRF token. Signing out deletes the row, so a
  stolen cookie dies with the session.
- API tokens for integrations (`Authorization: Bearer rs_...`), shown once, kept as SHA-256.
- `auth_log` records sign-ins (good and bad), sign-outs and every account change.

The CLI (`resonance users`), the API and the admin pages all call these functions.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from resonance.privacy.guard import ADMIN, ANALYST, EMPLOYEE, MANAGER, ROLES, Principal
from resonance.privacy.schema import ensure_privacy_schema
from resonance.store.db import transaction
from resonance.store.migrations import Migration, migrate

AUTH_MIGRATIONS = [
    Migration(
        1,
        "accounts, sessions, api tokens, auth log",
        """
        CREATE SEQUENCE IF NOT EXISTS user_seq START 1;
        CREATE TABLE users (
            user_id       BIGINT PRIMARY KEY,
            username      VARCHAR NOT NULL UNIQUE,
            password_hash VARCHAR,
            role          VARCHAR NOT NULL,     -- employee | manager | analyst | admin
            person_id     VARCHAR,              -- the person this account belongs to (NULL for admins)
            created_at    TIMESTAMP NOT NULL,
            disabled      BOOLEAN NOT NULL DEFAULT false,
            last_login    TIMESTAMP
        );

        -- Server-side sessions; the cookie carries the token, the store only its SHA-256.
        CREATE TABLE sessions (
            token_hash VARCHAR PRIMARY KEY,
            user_id    BIGINT NOT NULL,
            csrf_token VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            expires_at TIMESTAMP NOT NULL,
            ip         VARCHAR,
            user_agent VARCHAR
        );

        CREATE SEQUENCE IF NOT EXISTS api_token_seq START 1;
        CREATE TABLE api_tokens (
            token_id   BIGINT PRIMARY KEY,
            user_id    BIGINT NOT NULL,
            name       VARCHAR NOT NULL,
            token_hash VARCHAR NOT NULL UNIQUE,
            prefix     VARCHAR NOT NULL,         -- first characters, to recognise a token in lists
            created_at TIMESTAMP NOT NULL,
            last_used  TIMESTAMP,
            revoked_at TIMESTAMP
        );

        -- Sign-ins, sign-outs and every account change.
        CREATE SEQUENCE IF NOT EXISTS auth_log_seq START 1;
        CREATE TABLE auth_log (
            event_id BIGINT NOT NULL,
            logged_at TIMESTAMP NOT NULL,
            actor    VARCHAR,
            action   VARCHAR NOT NULL,
            username VARCHAR,
            ip       VARCHAR,
            detail   JSON
        )
        """,
    ),
]

SESSION_LIFETIME = timedelta(hours=12)
"""A session ends 12 hours after sign-in or after its last renewal."""
SESSION_RENEW_AFTER = timedelta(hours=6)
"""Active sessions are extended when less than half their lifetime is left (one write per 6 hours)."""
TOKEN_TOUCH_EVERY = timedelta(minutes=5)
MIN_PASSWORD_LENGTH = 12
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
TOKEN_PREFIX = "rs_"

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a miss costs as much as a hit
# and response times do not reveal which usernames exist.
# Made on first use, not at import: argon2 costs ~0.3 s, which every CLI command would pay.
@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("resonance-dummy-password")


class AccountError(ValueError):
    """A request about accounts that cannot be honoured; the message says why.

    `status` is the HTTP answer: 409 when the request conflicts with the account rules
    (a name taken, a person already linked, an employee without a person), 404 when it
    names a person who does not exist."""

    status = 409

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


@dataclass(frozen=True, slots=True)
class User:
    user_id: int
    username: str
    role: str
    person_id: str | None
    created_at: datetime
    disabled: bool
    last_login: datetime | None

    def principal(self, via: str = "session") -> Principal:
        return Principal(self.user_id, self.username, self.role, self.person_id, via)

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "username": self.username,
            "role": self.role,
            "person_id": self.person_id,
            "created_at": self.created_at,
            "disabled": self.disabled,
            "last_login": self.last_login,
        }


_USER_COLUMNS = "user_id, username, role, person_id, created_at, disabled, last_login"


def ensure_auth_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create or upgrade the account tables (and the privacy tables they rely on)."""
    migrate(con, "auth", AUTH_MIGRATIONS)
    ensure_privacy_schema(con)


# --- passwords --------------------------------------------------------------------
def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > 1024:
        raise AccountError("Passwords are limited to 1024 characters.")


# --- users ------------------------------------------------------------------------
def get_user(con: duckdb.DuckDBPyConnection, username: str) -> User | None:
    rows = con.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", [username.lower()]).fetchall()
    return User(*rows[0]) if rows else None


def get_user_by_id(con: duckdb.DuckDBPyConnection, user_id: int) -> User | None:
    rows = con.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ?", [user_id]).fetchall()
    return User(*rows[0]) if rows else None


def list_users(con: duckdb.DuckDBPyConnection, offset: int = 0, limit: int = 1000) -> tuple[list[User], int]:
    """Accounts by username, and how many there are."""
    rows = con.execute(
        f"SELECT {_USER_COLUMNS} FROM users ORDER BY username LIMIT ? OFFSET ?", [limit, offset]
    ).fetchall()
    total = con.execute("SELECT count(*) FROM users").fetchall()[0][0]
    return [User(*r) for r in rows], int(total)


def resolve_person(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    """A person id from a person id, an identity key (`hr:E042`, `slack:U1`) or an e-mail address."""
    ref = ref.strip()
    candidates = [ref, ref.lower()]
    if "@" in ref and not ref.startswith("email:"):
        candidates.append("email:" + ref.lower())
    for candidate in candidates:
        rows = con.execute("SELECT person_id FROM people WHERE person_id = ?", [candidate]).fetchall()
        if rows:
            return rows[0][0]
        rows = con.execute("SELECT person_id FROM identities WHERE identity = ?", [candidate]).fetchall()
        if rows:
            return rows[0][0]
    raise AccountError(f"No person matches {ref!r} (give a person id, an identity key or an e-mail).", 404)


def create_user(
    con: duckdb.DuckDBPyConnection,
    username: str,
    password: str,
    role: str,
    person: str | None = None,
    actor: str = "system",
    ip: str | None = None,
) -> User:
    """Create an account. Employees, managers and analysts belong to a person; admins to no one."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise AccountError("Usernames are 2-64 characters: lower-case letters, digits, '.', '_', '-', '@'.")
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    check_password_policy(password)
    person_id = _person_for_role(con, role, person)
    if get_user(con, username) is not None:
        raise AccountError(f"User {username!r} already exists.")
    _check_one_account_per_person(con, person_id, username)
    pw_hash = hash_password(password)
    with transaction(con):
        con.execute(
            """INSERT INTO users (user_id, username, password_hash, role, person_id, created_at)
               VALUES (nextval('user_seq'), ?, ?, ?, ?, now()::TIMESTAMP)""",
            [username, pw_hash, role, person_id],
        )
        _audit(con, actor, "user_created", username, ip, {"role": role, "person_id": person_id})
    user = get_user(con, username)
    assert user is not None
    return user


def update_user(
    con: duckdb.DuckDBPyConnection,
    username: str,
    actor: str,
    role: str | None = None,
    person: str | None = None,
    disabled: bool | None = None,
    ip: str | None = None,
) -> User:
    """Change an account's role, person or enabled state. Disabling ends its sessions and tokens."""
    user = get_user(con, username)
    if user is None:
        raise AccountError(f"No user {username!r}.")
    new_role = role or user.role
    if new_role not in ROLES:
        raise AccountError(f"Unknown role {new_role!r}; choose one of {', '.join(ROLES)}.")
    if person is not None or new_role != user.role:
        person_id = _person_for_role(con, new_role, person if person is not None else user.person_id)
    else:
        person_id = user.person_id
    _check_one_account_per_person(con, person_id, user.username)
    if new_role != ADMIN and user.role == ADMIN and _admins(con) <= 1:
        raise AccountError("This is the last admin account; create another admin first.")
    if disabled and user.role == ADMIN and _admins(con) <= 1:
        raise AccountError("This is the last admin account; it cannot be disabled.")
    changes: dict[str, Any] = {}
    if new_role != user.role:
        changes["role"] = [user.role, new_role]
    if person_id != user.person_id:
        changes["person_id"] = [user.person_id, person_id]
    if disabled is not None and disabled != user.disabled:
        changes["disabled"] = [user.disabled, disabled]
    if not changes:
        return user
    with transaction(con):
        con.execute(
            "UPDATE users SET role = ?, person_id = ?, disabled = ? WHERE user_id = ?",
            [new_role, person_id, user.disabled if disabled is None else disabled, user.user_id],
        )
        # A role or owner change must not keep privileges granted under the old one.
        con.execute("DELETE FROM sessions WHERE user_id = ?", [user.user_id])
        if "disabled" in changes and disabled or "person_id" in changes:
            con.execute(
                """UPDATE api_tokens SET revoked_at = now()::TIMESTAMP
                   WHERE user_id = ? AND revoked_at IS NULL""",
                [user.user_id],
            )
        _audit(con, actor, "user_updated", user.username, ip, changes)
    updated = get_user(con, user.username)
    assert updated is not None
    return updated


def set_password(
    con: duckdb.DuckDBPyConnection, username: str, password: str, actor: str, ip: str | None = None
) -> None:
    """Set a new password; ends the account's sessions."""
    user = get_user(con, username)
    if user is None:
        raise AccountError(f"No user {username!r}.")
    check_password_policy(password)
    pw_hash = hash_password(password)
    with transaction(con):
        con.execute("UPDATE users SET password_hash = ? WHERE user_id = ?", [pw_hash, user.user_id])
        con.execute("DELETE FROM sessions WHERE user_id = ?", [user.user_id])
        _audit(con, actor, "password_set", user.username, ip, {})


def authenticate(
    con: duckdb.DuckDBPyConnection, username: str, password: str, ip: str | None = None
) -> User | None:
    """The account if `password` is right and the account enabled; logs the attempt either way."""
    username = (username or "").strip().lower()
    rows = con.execute(
        "SELECT user_id, password_hash, disabled FROM users WHERE username = ?", [username]
    ).fetchall()
    stored = rows[0][1] if rows and rows[0][1] else _dummy_hash()
    try:
        ok = _hasher.verify(stored, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not rows or not ok or rows[0][2]:
        _audit(
            con,
            username or None,
            "login_failed",
            username or None,
            ip,
            {"reason": "disabled" if rows and ok else "bad credentials"},
        )
        return None
    user_id = rows[0][0]
    if _hasher.check_needs_rehash(stored):
        con.execute(
            "UPDATE users SET password_hash = ? WHERE user_id = ?", [hash_password(password), user_id]
        )
    con.execute("UPDATE users SET last_login = now()::TIMESTAMP WHERE user_id = ?", [user_id])
    _audit(con, username, "login_ok", username, ip, {})
    return get_user_by_id(con, user_id)


# --- sessions ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    csrf_token: str
    expires_at: datetime


def create_session(
    con: duckdb.DuckDBPyConnection, user: User, ip: str | None = None, user_agent: str | None = None
) -> tuple[str, str]:
    """Start a session; returns (cookie token, CSRF token). Only the token's hash is stored."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    con.execute(
        """INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, ip, user_agent)
           VALUES (?, ?, ?, now()::TIMESTAMP, now()::TIMESTAMP + ?, ?, ?)""",
        [_digest(token), user.user_id, csrf, SESSION_LIFETIME, ip, (user_agent or "")[:300]],
    )
    return token, csrf


def session_for(con: duckdb.DuckDBPyConnection, token: str) -> Session | None:
    """The live session for a cookie token, or None (unknown, expired or account disabled)."""
    if not token or len(token) > 200:
        return None
    rows = con.execute(
        f"""SELECT s.csrf_token, s.expires_at, s.expires_at - now()::TIMESTAMP AS remaining,
                   {", ".join("u." + c.strip() for c in _USER_COLUMNS.split(","))}
            FROM sessions s JOIN users u USING (user_id)
            WHERE s.token_hash = ? AND s.expires_at > now()::TIMESTAMP AND NOT u.disabled""",
        [_digest(token)],
    ).fetchall()
    if not rows:
        return None
    csrf, expires_at, remaining, *user_row = rows[0]
    user = User(*user_row)
    if remaining < SESSION_LIFETIME - SESSION_RENEW_AFTER:
        _best_effort(
            con,
            "UPDATE sessions SET expires_at = now()::TIMESTAMP + ? WHERE token_hash = ?",
            [SESSION_LIFETIME, _digest(token)],
        )
    return Session(user.principal("session"), csrf, expires_at)


def end_session(con: duckdb.DuckDBPyConnection, token: str, ip: str | None = None) -> None:
    rows = con.execute(
        "SELECT u.username FROM sessions s JOIN users u USING (user_id) WHERE s.token_hash = ?",
        [_digest(token)],
    ).fetchall()
    con.execute("DELETE FROM sessions WHERE token_hash = ?", [_digest(token)])
    if rows:
        _audit(con, rows[0][0], "logout", rows[0][0], ip, {})


def purge_expired_sessions(con: duckdb.DuckDBPyConnection) -> int:
    rows = con.execute("DELETE FROM sessions WHERE expires_at <= now()::TIMESTAMP RETURNING 1").fetchall()
    return len(rows)


# --- API tokens -------------------------------------------------------------------
def create_token(
    con: duckdb.DuckDBPyConnection, username: str, name: str, actor: str, ip: str | None = None
) -> tuple[str, dict[str, Any]]:
    """Issue an API token for `username`; returns (the token, shown only now, its record)."""
    user = get_user(con, username)
    if user is None:
        raise AccountError(f"No user {username!r}.")
    if user.disabled:
        raise AccountError(f"User {username!r} is disabled.")
    name = (name or "").strip()[:100] or "token"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(con):
        rows = con.execute(
            """INSERT INTO api_tokens (token_id, user_id, name, token_hash, prefix, created_at)
               VALUES (nextval('api_token_seq'), ?, ?, ?, ?, now()::TIMESTAMP)
               RETURNING token_id, name, prefix, created_at, last_used, revoked_at""",
            [user.user_id, name, _digest(token), token[:10]],
        ).fetchall()
        _audit(con, actor, "token_created", user.username, ip, {"token_id": rows[0][0], "name": name})
    return token, _token_record(rows[0])


def list_tokens(con: duckdb.DuckDBPyConnection, user_id: int) -> list[dict[str, Any]]:
    rows = con.execute(
        """SELECT token_id, name, prefix, created_at, last_used, revoked_at FROM api_tokens
           WHERE user_id = ? ORDER BY token_id DESC""",
        [user_id],
    ).fetchall()
    return [_token_record(r) for r in rows]


def revoke_token(
    con: duckdb.DuckDBPyConnection, user_id: int, token_id: int, actor: str, ip: str | None = None
) -> bool:
    """Revoke one of `user_id`'s tokens; False if there is no such live token."""
    rows = con.execute(
        """UPDATE api_tokens SET revoked_at = now()::TIMESTAMP
           WHERE token_id = ? AND user_id = ? AND revoked_at IS NULL RETURNING token_id""",
        [token_id, user_id],
    ).fetchall()
    if rows:
        user = get_user_by_id(con, user_id)
        _audit(con, actor, "token_revoked", user.username if user else None, ip, {"token_id": token_id})
    return bool(rows)


def token_principal(con: duckdb.DuckDBPyConnection, token: str) -> Principal | None:
    """The account behind a bearer token, or None (unknown, revoked, or account disabled)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    rows = con.execute(
        f"""SELECT t.token_id, t.last_used, {", ".join("u." + c.strip() for c in _USER_COLUMNS.split(","))}
            FROM api_tokens t JOIN users u USING (user_id)
            WHERE t.token_hash = ? AND t.revoked_at IS NULL AND NOT u.disabled""",
        [_digest(token)],
    ).fetchall()
    if not rows:
        return None
    token_id, last_used, *user_row = rows[0]
    if last_used is None or datetime.now(UTC).replace(tzinfo=None) - last_used > TOKEN_TOUCH_EVERY:
        _best_effort(con, "UPDATE api_tokens SET last_used = now()::TIMESTAMP WHERE token_id = ?", [token_id])
    return User(*user_row).principal("token")


# --- audit ------------------------------------------------------------------------
def auth_events(
    con: duckdb.DuckDBPyConnection, offset: int = 0, limit: int = 50
) -> tuple[list[dict[str, Any]], int]:
    cur = con.execute(
        """SELECT logged_at, actor, action, username, ip, detail FROM auth_log
           ORDER BY event_id DESC LIMIT ? OFFSET ?""",
        [limit, offset],
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    total = con.execute("SELECT count(*) FROM auth_log").fetchall()[0][0]
    return rows, int(total)


def log_auth_event(
    con: duckdb.DuckDBPyConnection,
    actor: str | None,
    action: str,
    username: str | None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record something about accounts that is not a change (e.g. a throttled sign-in)."""
    _audit(con, actor, action, username, ip, detail or {})


# --- the demo company -------------------------------------------------------------
DEMO_PASSWORDS = {
    EMPLOYEE: "resonance-employee",
    MANAGER: "resonance-manager",
    ANALYST: "resonance-analyst",
    ADMIN: "resonance-admin",
}
"""Documented passwords of the demo accounts (README). For the demo company only."""


def create_demo_accounts(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Accounts for the demo company: `employee`, `manager`, `analyst`, `admin`.

    Deterministic for a given store: the employee is the most active person who manages
    no one; the manager is that employee's manager when they lead at least 5 people,
    else whoever leads the most; the analyst is someone from a People/HR/analytics
    department if there is one, else the next most active person. Re-running resets the
    accounts to these people and the documented passwords (`DEMO_PASSWORDS`).
    Returns [{"username", "password", "role", "person_id"}].
    """
    ensure_auth_schema(con)
    people = con.execute(
        """
        WITH acted AS (
            SELECT i.person_id, count(*) AS n FROM events e JOIN identities i ON i.identity = e.actor
            GROUP BY ALL
        ),
        -- What others did to the person's items, and to the person (kudos, follows, mentions).
        received AS (
            SELECT a.person_id, count(*) AS n
            FROM events e JOIN items it ON it.item_id = e.object JOIN identities a ON a.identity = it.author
            WHERE e.verb <> 'Create' GROUP BY ALL
            UNION ALL
            SELECT r.person_id, count(*) FROM events e JOIN identities r ON r.identity = e.object
            WHERE e.object_type = 'person' GROUP BY ALL
        ),
        activity AS (
            SELECT person_id, sum(n) AS n
            FROM (SELECT * FROM acted UNION ALL SELECT * FROM received) GROUP BY ALL
        ),
        reports AS (SELECT manager_id AS person_id, count(*) AS n FROM people
                    WHERE manager_id IS NOT NULL AND NOT coalesce(is_external, false) GROUP BY ALL)
        SELECT p.person_id, p.manager_id, coalesce(p.department, ''), coalesce(a.n, 0), coalesce(r.n, 0)
        FROM people p LEFT JOIN activity a USING (person_id) LEFT JOIN reports r USING (person_id)
        WHERE NOT coalesce(p.is_external, false)
        ORDER BY coalesce(a.n, 0) DESC, p.person_id
        """
    ).fetchall()
    if not people:
        raise AccountError("The store has no people yet: ingest a directory (or run `resonance demo`) first.")
    reports = {pid: n_reports for pid, _, _, _, n_reports in people}
    individual = [p for p in people if p[4] == 0] or people
    employee = individual[0]
    boss = employee[1]
    if boss and reports.get(boss, 0) >= 5:
        manager_id = boss
    else:
        # Stable sort: among equal team sizes the more active person comes first.
        leaders = sorted((p for p in people if p[0] != employee[0]), key=lambda p: -p[4])
        manager_id = leaders[0][0] if leaders else employee[0]
    chosen = {employee[0], manager_id}
    analysts = [
        p
        for p in people
        if p[0] not in chosen and re.search(r"\b(hr|people|analytics|human)", p[2], re.IGNORECASE)
    ]
    rest = [p for p in people if p[0] not in chosen]
    analyst_id = (analysts or rest or [employee])[0][0]

    plan = [
        ("employee", EMPLOYEE, employee[0]),
        ("manager", MANAGER, manager_id),
        ("analyst", ANALYST, analyst_id),
        ("admin", ADMIN, None),
    ]
    accounts = []
    for username, role, person_id in plan:
        password = DEMO_PASSWORDS[role]
        existing = get_user(con, username)
        # Free the person from any other account first (one personal account per person).
        if person_id is not None:
            con.execute(
                "UPDATE users SET person_id = NULL, disabled = true WHERE person_id = ? AND username <> ?",
                [person_id, username],
            )
        if existing is None:
            create_user(con, username, password, role, person_id, actor="demo")
        else:
            con.execute(
                """UPDATE users SET role = ?, person_id = ?, disabled = false, password_hash = ?
                   WHERE user_id = ?""",
                [role, person_id, hash_password(password), existing.user_id],
            )
            con.execute("DELETE FROM sessions WHERE user_id = ?", [existing.user_id])
            _audit(con, "demo", "user_updated", username, None, {"role": role, "person_id": person_id})
        accounts.append({"username": username, "password": password, "role": role, "person_id": person_id})
    return accounts


# --- internals --------------------------------------------------------------------
def _person_for_role(con: duckdb.DuckDBPyConnection, role: str, person: str | None) -> str | None:
    if role == ADMIN:
        if person:
            raise AccountError(
                "Admin accounts belong to no person (admins never read personal data); "
                "give the person a separate employee account."
            )
        return None
    if role in (EMPLOYEE, MANAGER) and not person:
        raise AccountError(f"A {role} account must belong to a person: give --person.")
    return resolve_person(con, person) if person else None


def _check_one_account_per_person(
    con: duckdb.DuckDBPyConnection, person_id: str | None, username: str
) -> None:
    if person_id is None:
        return
    rows = con.execute(
        "SELECT username FROM users WHERE person_id = ? AND username <> ? AND NOT disabled",
        [person_id, username],
    ).fetchall()
    if rows:
        raise AccountError(f"Person {person_id!r} already has the account {rows[0][0]!r}.")


def _admins(con: duckdb.DuckDBPyConnection) -> int:
    return int(
        con.execute("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled").fetchall()[0][0]
    )


def _audit(
    con: duckdb.DuckDBPyConnection,
    actor: str | None,
    action: str,
    username: str | None,
    ip: str | None,
    detail: dict[str, Any],
) -> None:
    con.execute(
        """INSERT INTO auth_log (event_id, logged_at, actor, action, username, ip, detail)
           VALUES (nextval('auth_log_seq'), now()::TIMESTAMP, ?, ?, ?, ?, ?)""",
        [actor, action, username, ip, json.dumps(detail, default=str)],
    )


def _best_effort(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> None:
    """A bookkeeping write (last use, renewal) that may lose a race with a parallel request."""
    with contextlib.suppress(duckdb.TransactionException):
        con.execute(sql, params)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_record(row: tuple) -> dict[str, Any]:
    token_id, name, prefix, created_at, last_used, revoked_at = row
    return {
        "token_id": token_id,
        "name": name,
        "prefix": prefix,
        "created_at": created_at,
        "last_used": last_used,
        "revoked_at": revoked_at,
    }
