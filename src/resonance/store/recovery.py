"""Recovery after a crash: what a killed process leaves behind, put right on the next open.

Every batch is one transaction, so a kill never leaves part of a batch: DuckDB
replays or discards its write-ahead log on open. What a kill can leave is
bookkeeping that says work is still going on when no process is doing it
(`ingest_runs` rows still `running`), and derived tables that lag behind the
batches that did commit (`people`, rebuilt at the end of a run). The next
writer to open the store marks such runs `interrupted` and rebuilds `people`;
re-running the same ingest then fills in exactly what is missing.
"""

from __future__ import annotations

import duckdb

from resonance.store.db import transaction
from resonance.store.people import link_plus_addresses, refresh_people

OTHER_RUN_TABLES = ("metric_runs",)
"""Run logs of other components with the same `status`/`finished_at`/`error` columns
(metrics: a compute writes its results in one transaction, so only the log can lag)."""


def recover_after_crash(con: duckdb.DuckDBPyConnection) -> int:
    """Mark ingest and compute runs left `running` by a dead process as `interrupted`,
    and bring `people` up to date with the batches they committed.

    Only call this from the process that holds the store for writing and has
    no ingest of its own in flight (`open_store` does, on the first open).
    Returns how many runs were marked."""
    with transaction(con):
        rows = con.execute(
            """UPDATE ingest_runs
               SET status = 'interrupted', finished_at = coalesce(finished_at, now()::TIMESTAMP),
                   error = coalesce(error, 'the process stopped before the run finished')
               WHERE status = 'running'
               RETURNING ingest_id"""
        ).fetchall()
        if rows:  # what the interrupted run would have done after its last batch
            link_plus_addresses(con)
            refresh_people(con)
        for table in OTHER_RUN_TABLES:
            if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
                           [table]).fetchall()[0][0]:
                con.execute(
                    f"""UPDATE {table}
                        SET status = 'interrupted', finished_at = coalesce(finished_at, now()::TIMESTAMP),
                            error = coalesce(error, 'the process stopped before the run finished')
                        WHERE status = 'running'"""
                )
    return len(rows)
