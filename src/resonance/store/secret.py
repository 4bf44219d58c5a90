"""The server secret: the key behind every signature Resonance makes (one-click kudos links, ...).

`Settings.secret_key` (env `RESONANCE_SECRET_KEY`) wins when set. Otherwise a random
256-bit secret is generated on first use and kept in the store (`server_secrets`), so
that the server and the command line, which both open the same store, sign alike and a
restart does not invalidate links already sent. Each use derives its own key
(`derived_key(secret, purpose)`), so a signature made for one purpose never verifies
for another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import duckdb

from resonance.store.migrations import Migration, migrate

SECRET_MIGRATIONS = [
    Migration(
        1,
        "server secrets",
        """
        -- Generated secrets (only when the operator gives none). Never shown by any API.
        CREATE TABLE server_secrets (
            name       VARCHAR PRIMARY KEY,
            value      VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        )
        """,
    ),
]

MIN_SECRET_LENGTH = 16


class SecretError(ValueError):
    """A configured secret that is too weak to sign with."""


def server_secret(con: duckdb.DuckDBPyConnection, configured: str | None = None, name: str = "signing") -> bytes:
    """The configured secret, else the one kept in the store (generated the first time)."""
    if configured:
        if len(configured) < MIN_SECRET_LENGTH:
            raise SecretError(f"RESONANCE_SECRET_KEY must have at least {MIN_SECRET_LENGTH} characters.")
        return configured.encode()
    migrate(con, "secret", SECRET_MIGRATIONS)
    rows = con.execute("SELECT value FROM server_secrets WHERE name = ?", [name]).fetchall()
    if not rows:
        # Two threads may race here: the primary key keeps the first, and both read it back.
        con.execute(
            "INSERT INTO server_secrets VALUES (?, ?, now()::TIMESTAMP) ON CONFLICT DO NOTHING",
            [name, secrets.token_urlsafe(32)],
        )
        rows = con.execute("SELECT value FROM server_secrets WHERE name = ?", [name]).fetchall()
    return str(rows[0][0]).encode()


def derived_key(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose only (HMAC-SHA256 of the purpose under the secret)."""
    return hmac.new(secret, b"resonance:" + purpose.encode(), hashlib.sha256).digest()
