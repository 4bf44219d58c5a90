"""Tables owned by the org roll-up: the release log of every aggregate shown.

A released set is the membership of a figure that left the system (a group, a flow unit,
a trend point), for one period. Members are stored as keyed hashes (`md5(salt || person_id)`)
so the log holds no person id in clear; the salt is random per store. The log is what lets
suppression refuse a new figure that differs from an earlier one by fewer than k people
(a team that changed, a person who opted out, another viewer's overlapping filter).
"""

from __future__ import annotations

import secrets

import duckdb

from resonance.store.migrations import Migration, migrate

ORG_MIGRATIONS = [
    Migration(
        1,
        "release log",
        """
        CREATE TABLE org_salt (salt VARCHAR NOT NULL);

        -- One row per released set and period (deduplicated): what was shown, when, to whom first.
        CREATE TABLE org_releases (
            set_hash     VARCHAR NOT NULL,
            period       VARCHAR NOT NULL,
            period_start TIMESTAMP NOT NULL,
            period_end   TIMESTAMP NOT NULL,
            size         INTEGER NOT NULL,
            label        VARCHAR,
            released_at  TIMESTAMP NOT NULL,
            released_to  VARCHAR,
            PRIMARY KEY (set_hash, period)
        );

        -- The members of each released set, as keyed hashes.
        CREATE TABLE org_release_members (
            set_hash VARCHAR NOT NULL,
            member   VARCHAR NOT NULL,
            PRIMARY KEY (set_hash, member)
        )
        """,
    ),
]


def ensure_org_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create or upgrade the org tables, and the store's salt (safe to call every time)."""
    from resonance.privacy.schema import ensure_privacy_schema

    ensure_privacy_schema(con)  # opt-outs are read by every roll-up
    migrate(con, "org", ORG_MIGRATIONS)
    if not con.execute("SELECT count(*) FROM org_salt").fetchall()[0][0]:
        con.execute("INSERT INTO org_salt VALUES (?)", [secrets.token_hex(16)])


def salt(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT salt FROM org_salt LIMIT 1").fetchall()[0][0])
