"""The metric tables in the store (documented in docs/metrics.md).

Owned by the `metrics` component through its own migrations, so that the tables
exist (empty) before the first compute and readers never meet a missing table.
Per-period tables are replaced period by period: a compute of some periods
deletes and re-inserts only those periods' rows, in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from resonance.store.migrations import Migration, migrate

PERIOD_TABLES = (
    "person_metrics",
    "person_breakdown",
    "person_percentiles",
    "person_persona",
    "item_value",
    "person_network",
    "person_reach",
    "person_ties",
    "reaction_pairs",
)
"""Tables with one set of rows per period."""

STORAGE_ORDER = {
    "person_metrics": ("period", "person_id"),
    "person_breakdown": ("period", "person_id"),
    "person_percentiles": ("period", "person_id"),
    "person_persona": ("period", "person_id"),
    "item_value": ("period", "author_id"),
    "person_network": ("period", "person_id"),
    "person_reach": ("period", "person_id"),
    "person_ties": ("period", "person_id"),
    "reaction_pairs": ("period", "author_id"),
    "metric_contributions": ("date_trunc('month', time)", "person_id, time"),
    "metric_reactions": ("date_trunc('month', time)", "author_id, time"),
}
"""How each metric table's rows are stored: (part, order) — one part after another (a period; for the
event-level tables a calendar month), each part's rows sorted by the person a dashboard asks for.
DuckDB keeps min/max statistics per row group of 122,880 rows and skips every row group they rule
out, so one person's rows of one period (or one month's reactions to them) are read from a row group
or two; stored in the order the compute produced them, one person's percentiles at 10M events scanned
248 of 414 row groups, and every row group of the reactions spanned months. Sorting one part at a
time bounds the sort by the largest part, not the year (one sort of the year ran out of DuckDB's 2 GB
at 10M events)."""

EVENT_TABLES = ("metric_contributions", "metric_reactions")
"""Event-level tables (resolved to people), rebuilt by every compute."""

SORT_BATCH_ROWS = 2_000_000
"""At most this many rows are sorted in one statement when a metric table is written (whole parts,
see STORAGE_ORDER: a larger part is sorted alone). Each statement scans the computed rows once,
so batching consecutive parts saves scans; the bound keeps each sort well inside DuckDB's memory."""


def insert_in_order(
    writer: duckdb.DuckDBPyConnection,
    name: str,
    insert: str,
    source: str,
    is_table: bool,
    params: Sequence[Any] = (),
    chosen_periods: Sequence[str] | None = None,
) -> int:
    """Run `insert` (an `INSERT INTO name (...) SELECT ...` without its FROM) over `source` (a table, a
    registered view or a parenthesised query; `is_table` False stages a query first so that it runs
    once), part after part, each part sorted (STORAGE_ORDER says how and why), a batch of consecutive
    parts per statement. Returns the rows written. With `chosen_periods`, rows of any other period are
    refused. Every writer of the metric tables goes through here (the compute, `import-metrics`)."""
    part, order = STORAGE_ORDER[name]
    if not is_table:
        writer.execute(f"CREATE OR REPLACE TEMP TABLE _metric_stage AS SELECT * FROM {source} AS _q")
        source = "_metric_stage"
    rows = dict(writer.execute(f"SELECT {part} AS _part, count(*) FROM {source} GROUP BY _part").fetchall())
    stray = set(rows) - set(chosen_periods) if chosen_periods is not None else set()
    if stray:  # a bug, never a silent loss
        raise RuntimeError(f"{name}: rows computed for periods not chosen: {sorted(stray)[:5]}")
    batches: list[list[Any]] = []
    size = 0
    for key in sorted(k for k in rows if k is not None):
        if not batches or size + rows[key] > SORT_BATCH_ROWS:
            batches.append([])
            size = 0
        batches[-1].append(key)
        size += rows[key]
    # Consecutive parts, so a range selects a batch; rows without a part (none expected) go last.
    where = [(f"{part} BETWEEN ? AND ?", [b[0], b[-1]]) for b in batches]
    if None in rows:
        where.append((f"{part} IS NULL", []))
    order_was = writer.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    writer.execute("SET preserve_insertion_order = true")  # the sorted order is the point of the insert
    inserted = 0
    try:
        for condition, bounds in where:
            inserted += int(
                writer.execute(
                    f"{insert} FROM {source} AS _out WHERE {condition} ORDER BY {part}, {order}", [*params, *bounds]
                ).fetchall()[0][0]
            )
    finally:
        writer.execute(f"SET preserve_insertion_order = {'true' if order_was else 'false'}")
        if not is_table:
            writer.execute("DROP TABLE IF EXISTS _metric_stage")
    if inserted != sum(rows.values()):
        raise RuntimeError(f"{name}: {sum(rows.values())} rows computed, {inserted} written")
    return inserted


METRICS_MIGRATIONS = [
    Migration(
        1,
        "metric tables",
        """
        CREATE SEQUENCE IF NOT EXISTS metric_run_seq START 1;

        -- One row per compute: engine, periods, rules in force, timings and counts.
        CREATE TABLE metric_runs (
            run_id      BIGINT PRIMARY KEY,
            engine      VARCHAR NOT NULL,
            started_at  TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            status      VARCHAR NOT NULL,
            periods     VARCHAR[],
            rules_hash  VARCHAR,
            rules       JSON,
            summary     JSON,
            error       VARCHAR
        );

        -- The periods computed: label (2026-03, 2026-W05, 2026-Q1, 2026-H2, r90:2026-03-31), type,
        -- [period_start, period_end) in UTC.
        CREATE TABLE metric_periods (
            period       VARCHAR PRIMARY KEY,
            period_type  VARCHAR NOT NULL,
            period_start TIMESTAMP NOT NULL,
            period_end   TIMESTAMP NOT NULL,
            run_id       BIGINT,
            computed_at  TIMESTAMP
        );

        -- One value per person, period and metric (activity, reaction, eminence, network,
        -- knowledge_value). A person without a row has 0.
        CREATE TABLE person_metrics (
            period      VARCHAR NOT NULL,
            person_id   VARCHAR NOT NULL,
            metric      VARCHAR NOT NULL,
            value       DOUBLE NOT NULL
        );

        -- What each value is made of, by kind (contribution kind, reaction kind, network component).
        CREATE TABLE person_breakdown (
            period      VARCHAR NOT NULL,
            person_id   VARCHAR NOT NULL,
            metric      VARCHAR NOT NULL,
            kind        VARCHAR NOT NULL,
            value       DOUBLE NOT NULL
        );

        -- Percentile of each value among the peers of a group (company, department, role, location).
        CREATE TABLE person_percentiles (
            period      VARCHAR NOT NULL,
            person_id   VARCHAR NOT NULL,
            metric      VARCHAR NOT NULL,
            peer_group  VARCHAR NOT NULL,
            peer_key    VARCHAR NOT NULL,
            peers       BIGINT NOT NULL,
            percentile  DOUBLE NOT NULL
        );

        -- The persona, its reason (with the person's figures) and its rule.
        CREATE TABLE person_persona (
            period        VARCHAR NOT NULL,
            person_id     VARCHAR NOT NULL,
            persona       VARCHAR NOT NULL,
            contributions BIGINT,
            given         DOUBLE,
            received      DOUBLE,
            reads         BIGINT,
            reason        VARCHAR,
            rule          VARCHAR
        );

        -- Knowledge value of each item that had reactions in the period.
        CREATE TABLE item_value (
            period      VARCHAR NOT NULL,
            item_id     VARCHAR NOT NULL,
            author_id   VARCHAR,
            kind        VARCHAR,
            title       VARCHAR,
            created     TIMESTAMP,
            value       DOUBLE NOT NULL,
            reactions   BIGINT,
            reuse       BIGINT
        );

        -- Network figures per person and period.
        CREATE TABLE person_network (
            period            VARCHAR NOT NULL,
            person_id         VARCHAR NOT NULL,
            partners          BIGINT,
            reach2            BIGINT,
            departments       BIGINT,
            locations         BIGINT,
            external_contacts BIGINT,
            effective_size    DOUBLE,
            burt_constraint   DOUBLE,
            betweenness       DOUBLE,
            community         VARCHAR,
            community_size    BIGINT,
            value             DOUBLE
        );

        -- Whom a person reaches: partners by department and by location.
        CREATE TABLE person_reach (
            period     VARCHAR NOT NULL,
            person_id  VARCHAR NOT NULL,
            dimension  VARCHAR NOT NULL,   -- department | location
            name       VARCHAR NOT NULL,
            partners   BIGINT NOT NULL
        );

        -- Who interacted with whom (both directions of each tie), for Network's evidence.
        CREATE TABLE person_ties (
            period       VARCHAR NOT NULL,
            person_id    VARCHAR NOT NULL,
            partner_id   VARCHAR NOT NULL,
            interactions BIGINT NOT NULL
        );

        -- Named reaction points per (reactor, author) pair and period, and what anti-gaming counted.
        CREATE TABLE reaction_pairs (
            period            VARCHAR NOT NULL,
            reactor_id        VARCHAR NOT NULL,
            author_id         VARCHAR NOT NULL,
            volume            DOUBLE,
            reciprocal_volume DOUBLE,
            allowance         DOUBLE,
            counted           DOUBLE,
            damped            BOOLEAN
        );

        -- Every contribution resolved to its person (evidence for Activity).
        CREATE TABLE metric_contributions (
            event_id   VARCHAR,
            time       TIMESTAMP,
            person_id  VARCHAR,
            item_id    VARCHAR,
            kind       VARCHAR,
            weight     DOUBLE
        );

        -- Every reaction resolved to reactor and author (NULL reactor = anonymous), self-reactions left out.
        CREATE TABLE metric_reactions (
            event_id   VARCHAR,
            time       TIMESTAMP,
            reactor_id VARCHAR,
            author_id  VARCHAR,
            item_id    VARCHAR,
            kind       VARCHAR,
            weight     DOUBLE
        )
        """,
    ),
]


METRICS_MIGRATIONS.append(
    Migration(
        2,
        "business context of reactions",
        """
        -- The context a reaction carries (a kudos's meeting, account, opportunity): evidence shows it.
        ALTER TABLE metric_reactions ADD COLUMN ctx_meeting VARCHAR;
        ALTER TABLE metric_reactions ADD COLUMN ctx_account VARCHAR;
        ALTER TABLE metric_reactions ADD COLUMN ctx_opportunity VARCHAR
        """,
    )
)


METRICS_MIGRATIONS.append(
    Migration(
        3,
        "incremental compute state",
        """
        -- What the last full or incremental compute saw (one row), so that the next one recomputes only
        -- the periods touched since: see resonance/metrics/incremental.py and docs/metrics.md.
        CREATE TABLE metric_state (
            id             INTEGER PRIMARY KEY,   -- always 1
            run_id         BIGINT,
            period_types   VARCHAR[],             -- the period types kept up to date
            rules_hash     VARCHAR,
            as_of          TIMESTAMP,
            watermark      TIMESTAMP,             -- the latest ingested_at of events and items seen
            events_seen    BIGINT,                -- events with ingested_at <= watermark (or NULL)
            items_seen     BIGINT,
            identities_sig VARCHAR,               -- count and hash of identity -> person
            people_sig     VARCHAR,               -- count and hash of the people columns metrics read
            first_time     TIMESTAMP,             -- the earliest and latest resolved row (the periods' range)
            last_time      TIMESTAMP,
            updated_at     TIMESTAMP
        )
        """,
    )
)


def ensure_metric_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create or upgrade the metric tables (safe to call every time)."""
    migrate(con, "metrics", METRICS_MIGRATIONS)


def has_metric_tables(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'person_metrics' AND NOT temporary"
    ).fetchall()
    return bool(rows[0][0])
