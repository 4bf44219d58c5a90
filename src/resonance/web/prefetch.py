"""Reading ahead what a dashboard view is likely to be followed by, in one background thread.

Each figure on the dashboard links to its evidence (the events and items behind it), and the first
click on one costs 10 to 40 ms of queries. When the dashboard as it opens (no period asked for) is built
(not when it is served from the response cache), the evidence of its five figures is read into the read cache
(resonance.web.cache) by a single background thread, so that the click finds it there. Nothing is
written and nothing is shown to anyone: the read cache keys values by person, so a prefetched value
reaches only that person's own requests, which pass the privacy guard (and write the access log) as
always. The queue is bounded and work is dropped rather than queued without limit when the server is
busy; a failure only means the click computes the value itself.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

import duckdb

from resonance.store import Store
from resonance.web.cache import one_version

log = logging.getLogger(__name__)

Read = Callable[[duckdb.DuckDBPyConnection], object]


class Prefetcher:
    """One daemon thread working through a bounded queue of reads, each with its own store cursor."""

    def __init__(self, max_pending: int = 512) -> None:
        self._queue: queue.Queue[tuple[Store, tuple, Read]] = queue.Queue(max_pending)
        self._pending: set[tuple] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.done = 0
        self.dropped = 0

    def submit(self, store: Store, key: tuple, read: Read) -> None:
        """Run `read(cursor)` soon in the background (once while `key` is pending; dropped when busy)."""
        with self._lock:
            if key in self._pending:
                return
            try:
                self._queue.put_nowait((store, key, read))
            except queue.Full:
                self.dropped += 1
                return
            self._pending.add(key)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="dashboard-prefetch", daemon=True)
                self._thread.start()

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until the queue is empty (tests); returns whether it is."""
        done = threading.Event()

        def check() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=check, daemon=True).start()
        return done.wait(timeout)

    def _work(self) -> None:
        while True:
            store, key, read = self._queue.get()
            try:
                cur = store.cursor()
                try:
                    with one_version(store):  # the same cache keys as the person's own requests
                        read(cur)
                finally:
                    cur.close()
                self.done += 1
            except Exception:  # noqa: BLE001 - a prefetch failing only means the click computes it
                log.debug("prefetch %r failed", key, exc_info=True)
            finally:
                with self._lock:
                    self._pending.discard(key)
                self._queue.task_done()


PREFETCH = Prefetcher()
"""The process's prefetcher."""


def evidence_of_the_view(store: Store, person_id: str, period: str | None, page_size: int = 20) -> None:
    """Read the first evidence page of each of the five figures shown for `person_id` and `period` (a
    resolved period label) into the read cache (what `/me/evidence` and `/api/me/evidence?page_size=20`
    read first; the engine's "not computed" ends the task like any other failure)."""
    from resonance.web import dashboard as dash

    for metric in dash.METRICS:
        PREFETCH.submit(store, ("evidence", person_id, metric, period, page_size),
                        lambda con, m=metric: dash.person_evidence(con, person_id, m, period, 1, page_size))
