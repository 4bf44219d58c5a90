"""Keep the knowledge index, the person graph and deal credit between requests.

Building them reads the whole store (seconds on a large company), while the
data changes only when something is ingested or written (kudos, votes). The
cache is keyed by a cheap data version — the number of items and identities and
the latest ingest — so the web app rebuilds after a change and answers from
memory otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import duckdb

from resonance.knowledge.graph import PersonGraph, build_graph
from resonance.knowledge.index import KnowledgeIndex, build_index
from resonance.knowledge.outcomes import deal_credit


def data_version(con: duckdb.DuckDBPyConnection) -> tuple:
    """Changes whenever an ingest finishes or items or people change (counts are metadata reads in DuckDB),
    and after `resonance forget`, which rewrites content in place without changing any count (the forget
    log's row count). Taken from the web's store fingerprint (resonance.web.cache) when it can be read, which
    holds the same four figures; else read here (the forget log from the catalog, as it may not exist).

    Not with every event: kudos and votes written through Resonance (one event each) would otherwise
    throw the index away on every write, and under a steady stream of writes the panels would never be
    ready (benchmarks/load.py); they count from the next ingest or merge. Read once per web GET request
    (a dashboard asks several times)."""
    from resonance.web.cache import INDEX, request_memo, store_version

    fingerprint = store_version(con)  # the same four figures, already read for this request
    if fingerprint is not None:
        return tuple(fingerprint[INDEX[k]] for k in ("items", "identities", "ingest", "forget_log"))
    return request_memo("knowledge.data_version", lambda: tuple(con.execute(
        """SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM identities),
                  (SELECT max(ingest_id) FILTER (WHERE finished_at IS NOT NULL) FROM ingest_runs),
                  (SELECT coalesce(sum(estimated_size), 0) FROM duckdb_tables()
                   WHERE database_name = current_database() AND table_name = 'forget_log')"""
    ).fetchall()[0]))


class KnowledgeCache:
    """Thread-safe memo of the expensive, read-only structures, per data version."""

    SHARED = ("index", "graph", "credit")

    def __init__(self) -> None:
        self._lock = threading.RLock()  # a per-person build asks for the index: re-entrant
        self._version: tuple | None = None
        self._values: dict[str, Any] = {}
        self._warming: threading.Thread | None = None

    def is_ready(self, con: duckdb.DuckDBPyConnection) -> bool:
        """True when the shared structures are built for the current data (never blocks)."""
        return self._version == data_version(con) and all(k in self._values for k in self.SHARED)

    def warm(self, open_cursor: Callable[[], duckdb.DuckDBPyConnection], wait: float = 0.0) -> bool:
        """Build the shared structures in a background thread (one at a time); wait up to `wait`
        seconds for them. Returns whether they are ready."""
        with self._lock:
            if self._warming is None or not self._warming.is_alive():
                self._warming = threading.Thread(target=self._warm, args=(open_cursor,), name="knowledge-warm",
                                                 daemon=True)
                self._warming.start()
            thread = self._warming
        thread.join(wait)
        return not thread.is_alive()

    def _warm(self, open_cursor: Callable[[], duckdb.DuckDBPyConnection]) -> None:
        con = open_cursor()
        try:
            self.index(con)
            self.graph(con)
            self.credit(con)
        finally:
            con.close()

    def _get(self, con: duckdb.DuckDBPyConnection, key: str, build: Callable[[], Any]) -> Any:
        version = data_version(con)
        with self._lock:
            if version != self._version:
                self._version, self._values = version, {}
            if key not in self._values:
                # Built under the lock: two requests never build the same thing twice.
                self._values[key] = build()
            return self._values[key]

    def per_person(self, con: duckdb.DuckDBPyConnection, key: str, person_id: str, build: Callable[[], Any]) -> Any:
        """A per-person result (a dashboard panel's data), kept until the data changes."""
        return self._get(con, f"{key}\x00{person_id}", build)

    def index(self, con: duckdb.DuckDBPyConnection) -> KnowledgeIndex:
        return self._get(con, "index", lambda: build_index(con))

    def graph(self, con: duckdb.DuckDBPyConnection) -> PersonGraph:
        return self._get(con, "graph", lambda: build_graph(con))

    def credit(self, con: duckdb.DuckDBPyConnection) -> Any:
        return self._get(con, "credit", lambda: deal_credit(con))
