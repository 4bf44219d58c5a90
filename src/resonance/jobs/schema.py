"""The `jobs` table (component "jobs"): every command the server ran for a client."""

from __future__ import annotations

import duckdb

from resonance.store.migrations import Migration, migrate

JOBS_MIGRATIONS = [
    Migration(
        1,
        "jobs",
        """
        CREATE SEQUENCE IF NOT EXISTS job_seq START 1;

        -- Commands forwarded to the server. Write jobs run one at a time in job_id
        -- order and survive restarts (queued or interrupted ones run again);
        -- read-only jobs run at once, beside them.
        CREATE TABLE jobs (
            job_id        BIGINT PRIMARY KEY,
            argv          VARCHAR[] NOT NULL,   -- the command line, paths made absolute
            read_only     BOOLEAN NOT NULL,
            status        VARCHAR NOT NULL,     -- queued | running | done | failed | cancelled
            exit_code     INTEGER,
            stdout        VARCHAR,
            stderr        VARCHAR,
            requested_by  VARCHAR,              -- the OS user of the client
            cwd           VARCHAR,
            submitted_at  TIMESTAMP NOT NULL,
            started_at    TIMESTAMP,
            finished_at   TIMESTAMP,
            attempts      INTEGER NOT NULL DEFAULT 0,
            error         VARCHAR
        )
        """,
    ),
]


def ensure_jobs_schema(con: duckdb.DuckDBPyConnection) -> None:
    migrate(con, "jobs", JOBS_MIGRATIONS)
