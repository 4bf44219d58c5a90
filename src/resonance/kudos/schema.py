"""The kudos tables (component `kudos`): kudos given, helpfulness votes, and their audit trail.

The canonical record is also an event (`source = 'resonance'`: verb `Kudos` with the
receiver as object, verb `Vote` on an item), written in the same transaction, so that the
metrics pipeline counts kudos and votes like any other source's. These tables hold what
events cannot: the idempotency key (primary key: a second identical kudos is refused by
the database itself, even under concurrent requests), the current vote per person and
item, and who did what through which channel.
"""

from __future__ import annotations

import threading

import duckdb

from resonance.privacy.schema import ensure_privacy_schema
from resonance.store.migrations import Migration, migrate

KUDOS_MIGRATIONS = [
    Migration(
        1,
        "kudos, votes, kudos audit",
        """
        -- One row per kudos. kudos_id = hash of (giver, receiver, context): the same
        -- giver, receiver and context twice is one kudos.
        CREATE TABLE kudos (
            kudos_id          VARCHAR PRIMARY KEY,
            giver_id          VARCHAR NOT NULL,    -- person ids
            receiver_id       VARCHAR NOT NULL,
            giver_identity    VARCHAR NOT NULL,    -- identity keys written to the event
            receiver_identity VARCHAR NOT NULL,
            ctx_meeting       VARCHAR,
            ctx_account       VARCHAR,
            ctx_opportunity   VARCHAR,
            ctx_item          VARCHAR,
            context_day       DATE,                -- set when no context: a kudos without context is per day
            message           VARCHAR,
            value_tags        VARCHAR[],
            channel           VARCHAR NOT NULL,    -- web | api | cli | link | slack | mattermost | widget
            recorded_by       VARCHAR,             -- the account or integration that recorded it
            given_at          TIMESTAMP NOT NULL,
            event_native_id   VARCHAR NOT NULL     -- events(source = 'resonance', native_id)
        );

        -- The current helpfulness vote of each person on each item (latest wins).
        CREATE TABLE item_votes (
            item_id    VARCHAR NOT NULL,
            voter_id   VARCHAR NOT NULL,
            value      INTEGER NOT NULL,           -- +1 useful, -1 not useful, 0 withdrawn
            version    INTEGER NOT NULL,           -- 1 for the first vote, +1 per change
            channel    VARCHAR NOT NULL,
            voted_at   TIMESTAMP NOT NULL,
            PRIMARY KEY (item_id, voter_id)
        );

        -- Every kudos and vote written, by whom, through which channel.
        CREATE SEQUENCE IF NOT EXISTS kudos_audit_seq START 1;
        CREATE TABLE kudos_audit (
            audit_id   BIGINT PRIMARY KEY,
            done_at    TIMESTAMP NOT NULL,
            action     VARCHAR NOT NULL,           -- kudos | vote
            actor      VARCHAR,                    -- account, integration or 'cli'
            channel    VARCHAR NOT NULL,
            person_id  VARCHAR NOT NULL,           -- the giver or voter
            subject    VARCHAR NOT NULL,           -- the kudos id or the item id
            detail     JSON
        )
        """,
    ),
]

_READY: set[str] = set()
_LOCK = threading.Lock()


def ensure_kudos_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create or upgrade the kudos tables (once per database file and process: a write path
    under load should not run DDL on every request)."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    key = str(rows[0][0]) if rows and rows[0][0] else ""
    if key and key in _READY:
        return
    with _LOCK:
        ensure_privacy_schema(con)  # consent decides who accepts kudos
        migrate(con, "kudos", KUDOS_MIGRATIONS)
        if key:
            _READY.add(key)
