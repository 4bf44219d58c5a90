"""The core tables: the canonical model as stored. Documented in docs/model.md."""

from resonance.store.migrations import Migration

CORE_MIGRATIONS = [
    Migration(
        1,
        "canonical model",
        """
        CREATE SEQUENCE IF NOT EXISTS ingest_run_seq START 1;

        -- Every ingest, its counts and outcome.
        CREATE TABLE ingest_runs (
            ingest_id   BIGINT PRIMARY KEY,
            kind        VARCHAR NOT NULL,
            paths       VARCHAR[],
            options     JSON,
            started_at  TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            status      VARCHAR NOT NULL,      -- running | done | failed
            ingested    BIGINT DEFAULT 0,
            duplicates  BIGINT DEFAULT 0,
            rejected    BIGINT DEFAULT 0,
            reasons     JSON,
            counts      JSON,
            error       VARCHAR
        );

        -- Append-only activity. Idempotent by (source, native_id): the loader
        -- inserts only ids not yet present (an anti-join is far faster in DuckDB
        -- than a unique index on bulk loads; one writer at a time guarantees it).
        CREATE TABLE events (
            source          VARCHAR NOT NULL,
            native_id       VARCHAR NOT NULL,
            time            TIMESTAMP NOT NULL,
            actor           VARCHAR,           -- identity key; NULL = anonymous
            verb            VARCHAR NOT NULL,
            object          VARCHAR,
            object_type     VARCHAR,           -- item | person
            target          VARCHAR,
            recipients      VARCHAR[],
            value           DOUBLE,
            ctx_meeting     VARCHAR,
            ctx_account     VARCHAR,
            ctx_opportunity VARCHAR,
            ctx_item        VARCHAR,
            extra           JSON,
            ingest_id       BIGINT,
            ingested_at     TIMESTAMP
        );

        -- What people share: posts, answers, messages, meetings, opportunities...
        CREATE TABLE items (
            item_id     VARCHAR NOT NULL,
            source      VARCHAR NOT NULL,
            native_id   VARCHAR NOT NULL,
            kind        VARCHAR NOT NULL,
            author      VARCHAR,               -- identity key
            parent_id   VARCHAR,
            container   VARCHAR,
            title       VARCHAR,
            text        VARCHAR,
            tags        VARCHAR[],
            created     TIMESTAMP,
            url         VARCHAR,
            extra       JSON,
            ingest_id   BIGINT,
            ingested_at TIMESTAMP
        );

        -- One row per (source, account): what that source says about a person.
        CREATE TABLE profiles (
            source       VARCHAR NOT NULL,
            native_id    VARCHAR NOT NULL,
            person_id    VARCHAR NOT NULL,
            identities   VARCHAR[],
            display_name VARCHAR,
            emails       VARCHAR[],
            handles      VARCHAR[],
            manager_ref  VARCHAR,
            department   VARCHAR,
            location     VARCHAR,
            title        VARCHAR,
            role         VARCHAR,
            start_date   DATE,
            is_external  BOOLEAN,
            organization VARCHAR,
            extra        JSON,
            ingest_id    BIGINT,
            updated_at   TIMESTAMP,
            PRIMARY KEY (source, native_id)
        );

        -- Identity key (email:a@b.c, hr:E042, slack:U123, ...) -> person.
        CREATE TABLE identities (
            identity   VARCHAR PRIMARY KEY,
            person_id  VARCHAR NOT NULL,
            kind       VARCHAR,                -- email | account | handle
            first_seen TIMESTAMP
        );

        -- The resolved person: one row per person_id, rebuilt from profiles and
        -- identities after every directory change or merge (see store/people.py).
        CREATE TABLE people (
            person_id    VARCHAR PRIMARY KEY,
            display_name VARCHAR,
            emails       VARCHAR[],
            handles      VARCHAR[],
            identities   VARCHAR[],
            manager_id   VARCHAR,
            department   VARCHAR,
            location     VARCHAR,
            title        VARCHAR,
            role         VARCHAR,
            start_date   DATE,
            is_external  BOOLEAN,
            organization VARCHAR,
            sources      VARCHAR[]
        );

        -- Every rejected record, with where it came from and why. Nothing is dropped.
        CREATE TABLE quarantine (
            ingest_id BIGINT,
            source    VARCHAR,
            file      VARCHAR,
            line      BIGINT,
            field     VARCHAR,
            reason    VARCHAR NOT NULL,
            raw       VARCHAR,
            quarantined_at TIMESTAMP
        );

        -- Audited identity operations (merge, unmerge, auto-link); undo data in `undo`.
        CREATE SEQUENCE IF NOT EXISTS identity_op_seq START 1;
        CREATE TABLE identity_ops (
            op_id     BIGINT PRIMARY KEY,
            op        VARCHAR NOT NULL,        -- merge | unmerge | link
            actor     VARCHAR,                 -- who did it (user or 'system')
            done_at   TIMESTAMP NOT NULL,
            person_a  VARCHAR,
            person_b  VARCHAR,
            reason    VARCHAR,
            undo      JSON,
            undone_by BIGINT
        )
        """,
    ),
]
