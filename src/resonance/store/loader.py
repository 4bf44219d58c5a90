"""Bulk-loading canonical Arrow batches into the store.

All checks and the idempotency anti-join run inside DuckDB on whole batches:
no Python loop over rows. Each batch is one transaction, so a crash leaves
either all of a batch or none of it, and a re-run fills in exactly what is
missing.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from resonance.model import EVENT_SCHEMA, ITEM_SCHEMA, PROFILE_SCHEMA, REJECT_SCHEMA, VERBS
from resonance.store.db import transaction
from resonance.store.people import load_profiles

RAW_LIMIT = 64 * 1024
"""Raw text kept per quarantined record; longer records are cut and marked
(the file and line still point at the original)."""

ANONYMOUS_VERBS = ("Vote", "View")
"""Verbs a source may report without an actor (Stack Exchange votes, page views)."""


INSERT_EVENTS = """INSERT INTO events (source, native_id, time, actor, verb, object, object_type, target,
                    recipients, value, ctx_meeting, ctx_account, ctx_opportunity, ctx_item,
                    extra, ingest_id, ingested_at)
SELECT source, native_id, time, actor, verb, object, object_type, target,
       recipients, value, ctx_meeting, ctx_account, ctx_opportunity, ctx_item,
       extra, ?, now()::TIMESTAMP
FROM"""
"""The head of every insert of checked events (the ingest id is its one parameter); a relation follows."""


@dataclass(slots=True)
class Batch:
    """What a source hands to the store: canonical rows and rejected records."""

    events: pa.Table | None = None
    items: pa.Table | None = None
    profiles: pa.Table | None = None
    rejects: pa.Table | None = None
    checked: bool = False
    """True when the source already quarantined invalid rows and in-batch duplicate
    ids of events and items (as the AS2 connector does in SQL): the loader then
    skips its own checks, which matters at hundreds of thousands of rows a second."""
    staged: Staged | None = None
    """Rows the store's own connection reads straight from the input (see `Staged`); the
    Arrow tables above are then empty."""


@dataclass(slots=True)
class Staged:
    """Canonical rows that the store's own DuckDB connection reads from a file with one of DuckDB's
    C++ readers (`read_json`), so that no row passes through Arrow or Python.

    The loader runs `stage` (a `CREATE TEMP TABLE <table> AS ...` holding the source's whole
    mapping), then `problems`; only when it counts no problem at all are the rows loaded, as one
    transaction. If DuckDB's reader refuses the input (malformed JSON, invalid UTF-8, ...) or
    `problems` finds anything (a record to quarantine, a repeated id), nothing is written and the
    batches of `fallback()` are loaded instead: the source's ordinary path, which quarantines the
    exact lines. So the fast path changes speed, never results.
    """

    table: str
    stage: str
    problems: str
    """SELECT count of problem rows, count of all rows FROM <table>."""
    events: str
    """SELECT over <table> in EVENT_SCHEMA's column order (the rows are checked)."""
    items: str | None
    """SELECT over <table> in ITEM_SCHEMA's column order (checked), or None."""
    profiles: str | None
    """SELECT over <table> giving PROFILE_SCHEMA columns (few rows: they go through Arrow), or None."""
    identities: str
    """SELECT identity ... over <table>: the identity keys the events mention."""
    fallback: Callable[[], Iterator[Batch]]
    expected_rows: Callable[[], int] | None = None
    """The number of rows <table> must hold (the input's records as the ordinary path counts them,
    blank lines included); any other number means the fast path cannot vouch for the input."""


@dataclass(slots=True)
class LoadCounts:
    ingested: Counter = field(default_factory=Counter)    # per table
    duplicates: Counter = field(default_factory=Counter)  # per table
    reasons: Counter = field(default_factory=Counter)     # rejection reason -> n

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    def add(self, other: LoadCounts) -> None:
        self.ingested.update(other.ingested)
        self.duplicates.update(other.duplicates)
        self.reasons.update(other.reasons)


def conform(table: pa.Table | None, schema: pa.Schema) -> pa.Table | None:
    """Reorder and cast a table to `schema`, adding missing nullable columns."""
    if table is None or table.num_rows == 0:
        return None
    columns = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            columns.append(col if col.type == f.type else col.cast(f.type))
        else:
            columns.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=schema)


class Loader:
    """Writes batches of one ingest run into the store."""

    def __init__(self, con: duckdb.DuckDBPyConnection, ingest_id: int) -> None:
        self.con = con
        self.ingest_id = ingest_id
        self.verbs_sql = ", ".join(f"'{v}'" for v in sorted(VERBS))
        self.anonymous_sql = ", ".join(f"'{v}'" for v in ANONYMOUS_VERBS)

    def load(self, batch: Batch) -> LoadCounts:
        if batch.staged is not None:
            counts = self.load_staged(batch.staged)
            if counts is None:
                counts = LoadCounts()
                for fallback in batch.staged.fallback():
                    counts.add(self.load(fallback))
            return counts
        counts = LoadCounts()
        con = self.con
        try:
            with transaction(con):
                rejects = conform(batch.rejects, REJECT_SCHEMA)
                if rejects is not None:
                    self._quarantine_table(rejects, counts)
                profiles = conform(batch.profiles, PROFILE_SCHEMA)
                if profiles is not None:
                    self._load_profiles(profiles, counts)
                items = conform(batch.items, ITEM_SCHEMA)
                if items is not None:
                    self._load_items(items, counts, batch.checked)
                events = conform(batch.events, EVENT_SCHEMA)
                if events is not None:
                    self._load_events(events, counts, batch.checked)
        finally:
            for name in ("_b_rejects", "_b_items", "_b_events", "_b_profiles"):
                with contextlib.suppress(Exception):  # not every batch registers every view
                    con.unregister(name)
        return counts

    def load_staged(self, staged: Staged, run_stage: bool = True) -> LoadCounts | None:
        """Load rows the store reads itself; None (nothing written) when the input needs the
        source's ordinary path (`staged.fallback`). `run_stage=False`: the caller already ran
        `staged.stage` on this connection (benchmarks time the two halves apart)."""
        con = self.con
        try:
            try:
                if run_stage:
                    con.execute(staged.stage)
            except duckdb.Error:
                # DuckDB's reader refused the input as a whole (malformed JSON, invalid UTF-8, a
                # truncated gzip, ...): the ordinary path finds, quarantines or reports each problem.
                return None
            problems, rows = con.execute(staged.problems).fetchall()[0]
            if problems:
                return None
            if staged.expected_rows is not None:
                try:
                    expected = staged.expected_rows()
                except Exception:  # noqa: BLE001 - unreadable input: the ordinary path reports it
                    return None
                if rows != expected:
                    return None
            counts = LoadCounts()
            if not rows:
                return counts
            try:
                with transaction(con):
                    if staged.profiles is not None:
                        profiles = conform(con.sql(staged.profiles).to_arrow_table(), PROFILE_SCHEMA)
                        if profiles is not None:
                            self._load_profiles(profiles, counts)
                    # as for Arrow batches, a table without rows leaves no trace in the counts
                    if staged.items is not None and con.execute(
                        f"SELECT count(*) FROM ({staged.items})"
                    ).fetchall()[0][0]:
                        self._insert_items(f"({staged.items})", counts)
                    self._insert_checked_events(f"({staged.events})", rows, staged.identities, counts)
            except duckdb.ConstraintException:
                # A row `problems` should have caught (a source's bug): nothing is written (the
                # transaction was rolled back), and the ordinary path quarantines whatever it is.
                return None
            finally:
                with contextlib.suppress(Exception):
                    con.unregister("_b_profiles")
            return counts
        finally:
            con.execute(f"DROP TABLE IF EXISTS {staged.table}")

    # -- quarantine ---------------------------------------------------------------
    def _quarantine_table(self, rejects: pa.Table, counts: LoadCounts) -> None:
        self.con.register("_b_rejects", rejects)
        self._quarantine_from("SELECT source, file, line, field, reason, raw FROM _b_rejects", counts)

    def _quarantine_from(self, select_sql: str, counts: LoadCounts) -> None:
        """Insert rejected records, skipping ones an earlier run already quarantined
        (same file, line, reason and raw text), so re-running an ingest adds nothing."""
        rows = self.con.execute(
            f"""
            WITH r AS ({select_sql})
            SELECT reason, count(*) FROM r GROUP BY reason
            """
        ).fetchall()
        for reason, n in rows:
            counts.reasons[reason] += n
        self.con.execute(
            f"""
            INSERT INTO quarantine (ingest_id, source, file, line, field, reason, raw, quarantined_at)
            SELECT ?, r.source, r.file, r.line, r.field, r.reason,
                   CASE WHEN length(r.raw) > {RAW_LIMIT}
                        THEN left(r.raw, {RAW_LIMIT}) || ' …[truncated]' ELSE r.raw END,
                   now()::TIMESTAMP
            FROM ({select_sql}) r
            WHERE NOT EXISTS (
                SELECT 1 FROM quarantine q
                WHERE q.source IS NOT DISTINCT FROM r.source AND q.file IS NOT DISTINCT FROM r.file
                  AND q.line IS NOT DISTINCT FROM r.line AND q.reason = r.reason
                  AND md5(coalesce(q.raw, '')) = md5(coalesce(
                      CASE WHEN length(r.raw) > {RAW_LIMIT}
                           THEN left(r.raw, {RAW_LIMIT}) || ' …[truncated]' ELSE r.raw END, '')))
            """,
            [self.ingest_id],
        )

    # -- events -------------------------------------------------------------------
    def _load_events(self, events: pa.Table, counts: LoadCounts, checked: bool) -> None:
        con = self.con
        con.register("_b_events", events)
        if checked:
            self._insert_checked_events("_b_events", events.num_rows, self._event_identities_sql("_b_events"), counts)
            return
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _checked AS
            SELECT *,
                CASE
                    WHEN source IS NULL OR source = '' THEN 'source'
                    WHEN native_id IS NULL OR native_id = '' THEN 'id'
                    WHEN verb IS NULL OR verb NOT IN ({self.verbs_sql}) THEN 'verb'
                    WHEN time IS NULL THEN 'time'
                    WHEN (actor IS NULL OR actor = '') AND verb NOT IN ({self.anonymous_sql}) THEN 'actor'
                END AS bad_field,
                row_number() OVER (PARTITION BY source, native_id ORDER BY line NULLS LAST) AS copy_no,
                min(line) OVER (PARTITION BY source, native_id) AS first_line
            FROM _b_events
            """
        )
        self._quarantine_from(
            """
            SELECT source, file, line,
                   coalesce(bad_field, 'id') AS field,
                   CASE bad_field
                       WHEN 'source' THEN 'missing source'
                       WHEN 'id' THEN 'missing id'
                       WHEN 'verb' THEN CASE WHEN verb IS NULL THEN 'missing verb'
                                             ELSE 'unknown verb ' || verb END
                       WHEN 'time' THEN 'missing or unparseable time'
                       WHEN 'actor' THEN 'missing actor'
                       ELSE 'duplicate id (first at line ' || coalesce(first_line::VARCHAR, '?') || ')'
                   END AS reason,
                   raw
            FROM _checked WHERE bad_field IS NOT NULL OR copy_no > 1
            """,
            counts,
        )
        good = con.execute("SELECT count(*) FROM _checked WHERE bad_field IS NULL AND copy_no = 1").fetchall()[0][0]
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _new_events AS
            SELECT c.* EXCLUDE (bad_field, copy_no, first_line, file, line, raw)
            FROM _checked c
            WHERE c.bad_field IS NULL AND c.copy_no = 1
              AND NOT EXISTS (SELECT 1 FROM events e
                              WHERE e.source = c.source AND e.native_id = c.native_id)
            """
        )
        inserted = con.execute(f"{INSERT_EVENTS} _new_events", [self.ingest_id]).fetchall()[0][0]
        counts.ingested["events"] += inserted
        counts.duplicates["events"] += good - inserted
        self._register_identities(self._event_identities_sql("_new_events"))
        con.execute("DROP TABLE IF EXISTS _checked")
        con.execute("DROP TABLE IF EXISTS _new_events")

    def _insert_checked_events(self, relation: str, rows: int, identities_sql: str, counts: LoadCounts) -> None:
        """Insert events a source already checked (valid, no repeated id among them), skipping those
        already stored; `identities_sql` selects the identity keys they mention."""
        inserted = self.con.execute(
            f"""
            {INSERT_EVENTS} {relation} b
            WHERE NOT EXISTS (SELECT 1 FROM events e
                              WHERE e.source = b.source AND e.native_id = b.native_id)
            """,
            [self.ingest_id],
        ).fetchall()[0][0]
        counts.ingested["events"] += inserted
        counts.duplicates["events"] += rows - inserted
        if inserted:
            self._register_identities(identities_sql)

    @staticmethod
    def _event_identities_sql(table: str) -> str:
        return f"""
            SELECT actor AS identity FROM {table} WHERE actor IS NOT NULL AND actor <> ''
            UNION SELECT object FROM {table} WHERE object_type = 'person' AND object IS NOT NULL
            UNION SELECT unnest(recipients) FROM {table}
            """

    # -- items ----------------------------------------------------------------------
    def _load_items(self, items: pa.Table, counts: LoadCounts, checked: bool) -> None:
        con = self.con
        con.register("_b_items", items)
        if checked:
            self._insert_items("_b_items", counts)
            return
        self._check_items(counts)
        self._insert_items("(SELECT * FROM _checked_items WHERE bad_field IS NULL AND copy_no = 1)", counts)
        con.execute("DROP TABLE IF EXISTS _checked_items")

    def _check_items(self, counts: LoadCounts) -> None:
        con = self.con
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _checked_items AS
            SELECT *,
                CASE
                    WHEN item_id IS NULL OR item_id = '' OR native_id IS NULL OR native_id = '' THEN 'id'
                    WHEN kind IS NULL OR kind = '' THEN 'kind'
                END AS bad_field,
                row_number() OVER (PARTITION BY source, native_id ORDER BY line NULLS LAST) AS copy_no,
                min(line) OVER (PARTITION BY source, native_id) AS first_line
            FROM _b_items
            """
        )
        self._quarantine_from(
            """
            SELECT source, file, line, coalesce(bad_field, 'id') AS field,
                   CASE bad_field WHEN 'id' THEN 'missing item id' WHEN 'kind' THEN 'missing item kind'
                        ELSE 'duplicate item id (first at line ' || coalesce(first_line::VARCHAR, '?') || ')'
                   END AS reason, raw
            FROM _checked_items WHERE bad_field IS NOT NULL OR copy_no > 1
            """,
            counts,
        )

    def _insert_items(self, good_rows: str, counts: LoadCounts) -> None:
        con = self.con
        good = con.execute(f"SELECT count(*) FROM {good_rows}").fetchall()[0][0]
        inserted = con.execute(
            f"""
            INSERT INTO items (item_id, source, native_id, kind, author, parent_id, container, title,
                               text, tags, created, url, extra, ingest_id, ingested_at)
            SELECT item_id, source, native_id, kind, author, parent_id, container, title,
                   text, tags, created, url, extra, ?, now()::TIMESTAMP
            FROM {good_rows} c
            WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.source = c.source AND i.native_id = c.native_id)
            """,
            [self.ingest_id],
        ).fetchall()[0][0]
        counts.ingested["items"] += inserted
        counts.duplicates["items"] += good - inserted
        self._register_identities(
            f"SELECT DISTINCT author AS identity FROM {good_rows} WHERE author IS NOT NULL AND author <> ''"
        )

    # -- people -----------------------------------------------------------------------
    def _load_profiles(self, profiles: pa.Table, counts: LoadCounts) -> None:
        con = self.con
        con.register("_b_profiles", profiles)
        bad = """
            CASE WHEN native_id IS NULL OR native_id = '' THEN 'id'
                 WHEN identities IS NULL OR len(identities) = 0 THEN 'identities' END"""
        self._quarantine_from(
            f"""
            SELECT source, file, line, {bad} AS field,
                   CASE {bad} WHEN 'id' THEN 'missing person id' ELSE 'person without any identity' END
                       AS reason, raw
            FROM _b_profiles WHERE {bad} IS NOT NULL
            UNION ALL
            SELECT source, file, line, 'id', 'duplicate person id (first at line ' || first_line || ')', raw
            FROM (SELECT *, row_number() OVER (PARTITION BY source, native_id ORDER BY line) AS copy_no,
                         min(line) OVER (PARTITION BY source, native_id) AS first_line
                  FROM _b_profiles WHERE native_id IS NOT NULL AND native_id <> '')
            WHERE copy_no > 1
            """,
            counts,
        )
        good = con.sql(
            f"""SELECT * EXCLUDE (file, line, raw) FROM _b_profiles WHERE {bad} IS NULL
                QUALIFY row_number() OVER (PARTITION BY source, native_id ORDER BY line) = 1"""
        ).to_arrow_table()
        new, unchanged = load_profiles(con, good, self.ingest_id)
        counts.ingested["people"] += new
        counts.duplicates["people"] += unchanged

    def _register_identities(self, select_sql: str) -> None:
        """Give every identity seen for the first time a person of its own.

        Profiles from a directory later attach these to the right person."""
        self.con.execute(
            f"""
            INSERT INTO identities (identity, person_id, kind, first_seen)
            SELECT identity, identity,
                   CASE WHEN identity LIKE 'email:%' THEN 'email' ELSE 'account' END, now()::TIMESTAMP
            FROM ({select_sql}) s
            WHERE identity IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.identity = s.identity)
            """
        )
