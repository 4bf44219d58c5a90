"""Running an ingest: a source's batches into the store, with accounting.

`run_ingest` is the one operation that the CLI, the server's job runner and
the tests call. It records the run in `ingest_runs`, loads batch by batch
(each a transaction), then rebuilds the resolved `people` table.
"""

from __future__ import annotations

import gzip
import json
import queue
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from resonance.sources import SourceError, get_source
from resonance.store.db import transaction
from resonance.store.loader import Batch, LoadCounts, Loader
from resonance.store.people import link_plus_addresses, refresh_people


@dataclass(slots=True)
class IngestReport:
    ingest_id: int
    kind: str
    counts: LoadCounts = field(default_factory=LoadCounts)
    status: str = "running"
    error: str | None = None

    @property
    def ingested(self) -> int:
        return sum(self.counts.ingested.values())

    @property
    def duplicates(self) -> int:
        return sum(self.counts.duplicates.values())

    @property
    def rejected(self) -> int:
        return self.counts.rejected

    def as_dict(self) -> dict[str, Any]:
        return {
            "ingest_id": self.ingest_id,
            "kind": self.kind,
            "status": self.status,
            "ingested": self.ingested,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "reasons": dict(sorted(self.counts.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),  # stable order
            "by_table": {
                table: {
                    "ingested": self.counts.ingested.get(table, 0),
                    "duplicates": self.counts.duplicates.get(table, 0),
                }
                for table in sorted(set(self.counts.ingested) | set(self.counts.duplicates))
            },
            **({"error": self.error} if self.error else {}),
        }


ProgressCallback = Callable[[LoadCounts], None]


def run_ingest(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    paths: Sequence[Path | str],
    options: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest `paths` with the `kind` connector. Raises SourceError when the input
    cannot be read at all; per-record problems go to the quarantine."""
    options = options or {}
    source = get_source(kind, **options)
    paths = [Path(p) for p in paths]
    _refuse_utf16(paths)
    ingest_id = int(con.execute("SELECT nextval('ingest_run_seq')").fetchall()[0][0])
    con.execute(
        """INSERT INTO ingest_runs (ingest_id, kind, paths, options, started_at, status)
           VALUES (?, ?, ?, ?, now()::TIMESTAMP, 'running')""",
        [ingest_id, kind, [str(p) for p in paths], json.dumps(options, default=str)],
    )
    report = IngestReport(ingest_id=ingest_id, kind=kind)
    loader = Loader(con, ingest_id)
    try:
        try:
            for batch in prefetch(source.read_all(paths)):
                report.counts.add(loader.load(batch))
                if progress:
                    progress(report.counts)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            # What was read before the damage is in (each batch committed); say what stopped the rest.
            raise SourceError(f"corrupt or truncated compressed input ({type(exc).__name__}: {exc}); "
                              f"{report.ingested:,} records were read before it") from exc
        # One transaction: a crash between rebuilding and refilling `people` must not
        # leave it empty (refresh_people deletes then inserts).
        with transaction(con):
            link_plus_addresses(con)
            refresh_people(con)
        report.status = "done"
    except BaseException as exc:
        report.status = "failed"
        report.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        con.execute(
            """UPDATE ingest_runs SET finished_at = now()::TIMESTAMP, status = ?, ingested = ?,
                   duplicates = ?, rejected = ?, reasons = ?, counts = ?, error = ?
               WHERE ingest_id = ?""",
            [
                report.status, report.ingested, report.duplicates, report.rejected,
                json.dumps(dict(report.counts.reasons)), json.dumps(report.as_dict()["by_table"]),
                report.error, ingest_id,
            ],
        )
    return report


_DONE = object()


def prefetch(batches: Iterator[Batch], depth: int = 1) -> Iterator[Batch]:
    """Read the next batch in a thread while the caller loads this one.

    Parsing (DuckDB, numpy, Arrow) and loading both release the GIL, so on two cores
    the source's work overlaps the store's instead of adding to it. At most `depth`
    batches wait in memory. An error in the source is raised here, in the caller; when
    the caller stops early (an error while loading), the reader is told to stop.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            close = getattr(batches, "close", None)
            if close is not None and stop.is_set():
                close()

    thread = threading.Thread(target=produce, name="ingest-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _refuse_utf16(paths: Sequence[Path]) -> None:
    """Every connector reads UTF-8; a UTF-16 file (as some Windows tools export) would otherwise
    come out as thousands of puzzling rejects. Say what it is and how to convert it."""
    for path in paths:
        if path.is_file():
            with open(path, "rb") as f:
                head = f.read(2)
            if head in (b"\xff\xfe", b"\xfe\xff"):
                raise SourceError(f"{path}: UTF-16 text, but Resonance reads UTF-8; convert it first "
                                  f"(iconv -f UTF-16 -t UTF-8 '{path.name}' > '{path.stem}-utf8{path.suffix}')")
