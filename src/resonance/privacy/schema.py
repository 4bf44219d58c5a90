"""Tables owned by the privacy component: consent, its audit log, and the access log."""

from __future__ import annotations

import duckdb

from resonance.store.migrations import Migration, migrate

PRIVACY_MIGRATIONS = [
    Migration(
        1,
        "consent and access log",
        """
        -- The person's current choice per purpose; absent = the purpose's default.
        CREATE TABLE consent (
            person_id  VARCHAR NOT NULL,
            purpose    VARCHAR NOT NULL,
            granted    BOOLEAN NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            updated_by VARCHAR,
            PRIMARY KEY (person_id, purpose)
        );

        -- Every change of a consent choice (append-only audit).
        CREATE SEQUENCE IF NOT EXISTS consent_log_seq START 1;
        CREATE TABLE consent_log (
            change_id  BIGINT NOT NULL,
            person_id  VARCHAR NOT NULL,
            purpose    VARCHAR NOT NULL,
            granted    BOOLEAN NOT NULL,
            changed_at TIMESTAMP NOT NULL,
            changed_by VARCHAR,
            via        VARCHAR
        );

        -- Every read of an individual's data: who, whose, when, through what, why.
        CREATE SEQUENCE IF NOT EXISTS access_log_seq START 1;
        CREATE TABLE access_log (
            access_id         BIGINT NOT NULL,
            read_at           TIMESTAMP NOT NULL,
            user_id           BIGINT,
            username          VARCHAR,
            role              VARCHAR,
            subject_person_id VARCHAR NOT NULL,
            endpoint          VARCHAR NOT NULL,
            method            VARCHAR,
            purpose           VARCHAR NOT NULL
        )
        """,
    ),
]


def ensure_privacy_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create or upgrade the privacy tables (safe to call on every start)."""
    migrate(con, "privacy", PRIVACY_MIGRATIONS)
