"""The event lake: the store's events as Parquet partitioned by day, for Spark to compute from.

Layout under a root, a local folder or any Hadoop-compatible URI (`hdfs://`, `s3a://`, `file://`):

    ROOT/events/day=YYYY-MM-DD/*.parquet   the events of that UTC day (canonical columns, no `extra`)
    ROOT/items/*.parquet                   snapshot: the item columns the metrics read (no text)
    ROOT/identities/*.parquet              snapshot: identity -> person_id
    ROOT/people/*.parquet                  snapshot: the people columns the metrics read

`export_events` is incremental and idempotent. The store remembers, per target and
day, how many events it exported and the newest ingest id among them
(`lake_exports`); an export rewrites exactly the days whose count or newest ingest
id changed since (new events, a late ingest into an old day, kudos votes), removes
the folders of days that no longer have events, and rewrites the three snapshots
(small next to the events, and they change in place: merges, erasures). Running
it again with nothing new rewrites no day. `full=True` rewrites every day.

A day is replaced whole: written to a staging folder first, then swapped in.
Local folders are written by DuckDB directly (no JVM); a URI is written through a
local Spark session with dynamic partition overwrite (only the days written are
replaced), so any file system Hadoop knows works, given its connector on the
classpath and its credentials in the Hadoop configuration.

Nothing personal beyond what the metrics need leaves the store: events without
their `extra` payload, items without text, people without e-mails or handles.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from resonance.store.db import transaction
from resonance.store.migrations import Migration, migrate

EVENT_COLUMNS = (
    "source", "native_id", "time", "actor", "verb", "object", "object_type", "target", "recipients",
    "value", "ctx_meeting", "ctx_account", "ctx_opportunity", "ctx_item", "ingest_id",
)
"""The event columns exported (everything but the source-specific `extra` payload and ingest time)."""

SNAPSHOTS = {
    "items": "SELECT item_id, kind, author, parent_id, container, title, created FROM items",
    "identities": "SELECT identity, person_id FROM identities",
    "people": """SELECT person_id, display_name, department, location, role, title,
                        coalesce(is_external, false) AS is_external FROM people""",
}
"""The snapshots written next to the events: exactly the columns the metrics engine reads."""

LAKE_MIGRATIONS = [
    Migration(
        1,
        "lake exports",
        """
        -- What `resonance export-events` wrote where: one row per target and day.
        CREATE TABLE lake_exports (
            target        VARCHAR NOT NULL,
            day           DATE NOT NULL,
            events        BIGINT NOT NULL,
            max_ingest_id BIGINT,
            exported_at   TIMESTAMP NOT NULL,
            PRIMARY KEY (target, day)
        );
        """,
    )
]

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(target: str) -> bool:
    """Whether `target` is a URI (`hdfs://`, `s3a://`, `file://` ...) rather than a local path."""
    return bool(_URI.match(str(target)))


def normalise_target(target: str | Path) -> str:
    """The key a target is remembered by: a URI as given (without a trailing slash), a path made absolute."""
    text = str(target)
    return text.rstrip("/") if is_uri(text) else str(Path(text).expanduser().absolute())


def join(root: str, *parts: str) -> str:
    """`root/part/...` for a path or a URI."""
    return "/".join([root.rstrip("/"), *parts])


@dataclass
class ExportReport:
    """What one export did."""

    target: str
    days_written: list[str] = field(default_factory=list)
    days_removed: list[str] = field(default_factory=list)
    events_written: int = 0
    days_unchanged: int = 0
    snapshots: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "days_written": len(self.days_written),
            "first_day_written": self.days_written[0] if self.days_written else None,
            "last_day_written": self.days_written[-1] if self.days_written else None,
            "days_removed": self.days_removed,
            "days_unchanged": self.days_unchanged,
            "events_written": self.events_written,
            "snapshots": dict(sorted(self.snapshots.items())),
            "seconds": round(self.seconds, 3),
        }


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_events(con: duckdb.DuckDBPyConnection, target: str | Path, full: bool = False,
                  spark_session: Any = None) -> ExportReport:
    """Export the store's events to `target` as Parquet partitioned by day, plus the snapshots.

    Only the days that changed since the last export to this target are rewritten
    (every day with `full=True`, or when the target's events folder is missing).
    `spark_session` is used for URI targets (a local session is started otherwise)."""
    started = time.perf_counter()
    migrate(con, "lake", LAKE_MIGRATIONS)
    key = normalise_target(target)
    report = ExportReport(target=key)
    cur = con.cursor()
    staging = Path(tempfile.mkdtemp(prefix="resonance-lake-"))
    session, own_session = None, False
    try:
        cur.execute("SET TimeZone = 'UTC'")
        if is_uri(key):
            session = spark_session
            if session is None:
                from resonance.metrics.engine import spark_session as make_session

                session, own_session = make_session("local[2]", warehouse=str(staging / "warehouse")), True
            present = _uri_exists(session, join(key, "events"))
        else:
            present = Path(key, "events").is_dir()
        current = cur.execute(
            """SELECT CAST(time AS DATE) AS day, count(*) AS events, max(ingest_id) AS max_ingest_id
               FROM events GROUP BY ALL ORDER BY day"""
        ).fetchall()
        known = {} if (full or not present) else {
            d: (n, m) for d, n, m in cur.execute(
                "SELECT day, events, max_ingest_id FROM lake_exports WHERE target = ?", [key]
            ).fetchall()
        }
        changed = [(d, n, m) for d, n, m in current if known.get(d) != (n, m)]
        current_days = {d for d, _, _ in current}
        removed = sorted(d for d in known if d not in current_days)
        if full or not present:
            # Also whatever an earlier export left there that the store no longer has.
            removed = sorted(set(removed) | (_listed_days(session, key) - current_days))
        report.days_unchanged = len(current) - len(changed)
        report.days_written = [d.isoformat() for d, _, _ in changed]
        report.days_removed = [d.isoformat() for d in removed]
        report.events_written = sum(n for _, n, _ in changed)

        # 1. Stage: changed days (DuckDB writes one folder per day) and the snapshots.
        events_stage = staging / "events"
        if changed:
            cur.register("_lake_days", pa.table({"day": pa.array([d for d, _, _ in changed], pa.date32())}))
            cols = ", ".join(EVENT_COLUMNS)
            cur.execute(
                f"""COPY (SELECT {cols}, CAST(time AS DATE) AS day FROM events
                          WHERE CAST(time AS DATE) IN (SELECT day FROM _lake_days))
                    TO {_quote(events_stage)} (FORMAT parquet, PARTITION_BY (day), COMPRESSION zstd)"""
            )
            cur.unregister("_lake_days")
        for name, sql in SNAPSHOTS.items():
            (staging / name).mkdir()
            cur.execute(f"COPY ({sql}) TO {_quote(staging / name / 'part-0.parquet')} (FORMAT parquet)")
            report.snapshots[name] = int(cur.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0])

        # 2. Publish: swap each staged day in, drop the removed days, replace the snapshots.
        if is_uri(key):
            _publish_spark(session, staging, key, bool(changed), removed)
        else:
            _publish_local(staging, Path(key), [d for d, _, _ in changed], removed)

        # 3. Remember what is there now (after publishing: a failed export is retried in full).
        with transaction(cur):
            if full or not present:
                cur.execute("DELETE FROM lake_exports WHERE target = ?", [key])
            else:
                cur.execute("DELETE FROM lake_exports WHERE target = ? AND day IN (SELECT unnest(?::DATE[]))",
                            [key, [d for d, _, _ in changed] + removed])
            if changed:
                cur.executemany(
                    "INSERT INTO lake_exports VALUES (?, ?, ?, ?, now()::TIMESTAMP)",
                    [[key, d, n, m] for d, n, m in changed],
                )
    finally:
        cur.close()
        if own_session and session is not None:
            session.stop()
        shutil.rmtree(staging, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


def _listed_days(session: Any, root: str) -> set[date]:
    """The day folders present under root/events (for a full export's clean-up)."""
    names: list[str] = []
    if session is not None and is_uri(root):
        fs, path = _hadoop_fs(session, join(root, "events"))
        if fs.exists(path):
            names = [s.getPath().getName() for s in fs.listStatus(path)]
    elif Path(root, "events").is_dir():
        names = [p.name for p in Path(root, "events").iterdir()]
    days = set()
    for name in names:
        if name.startswith("day="):
            try:
                days.add(date.fromisoformat(name[4:]))
            except ValueError:
                continue
    return days


def _publish_local(staging: Path, root: Path, changed: list[date], removed: list[date]) -> None:
    events = root / "events"
    events.mkdir(parents=True, exist_ok=True)
    for d in changed:
        src, dst = staging / "events" / f"day={d.isoformat()}", events / f"day={d.isoformat()}"
        _swap(src, dst, events)
    for d in removed:
        shutil.rmtree(events / f"day={d.isoformat()}", ignore_errors=True)
    for name in SNAPSHOTS:
        _swap(staging / name, root / name, root)


def _swap(src: Path, dst: Path, parent: Path) -> None:
    """Replace folder dst by src: the old one is moved aside first, so dst is never half-written.
    The hidden names (`.old-...`) are ignored by Spark's and DuckDB's Hive partition discovery."""
    old = None
    if dst.exists():
        old = parent / f".old-{dst.name}-{os.getpid()}-{time.monotonic_ns()}"
        dst.rename(old)
    shutil.move(str(src), str(dst))
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _hadoop_fs(session: Any, uri: str) -> tuple[Any, Any]:
    jvm = session.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(session.sparkContext._jsc.hadoopConfiguration()), path


def _uri_exists(session: Any, uri: str) -> bool:
    fs, path = _hadoop_fs(session, uri)
    return bool(fs.exists(path))


def _publish_spark(session: Any, staging: Path, root: str, changed: bool, removed: list[date]) -> None:
    """Copy the staged Parquet to a Hadoop-compatible URI: dynamic partition overwrite replaces
    exactly the staged days; removed days are deleted through the Hadoop FileSystem API."""
    if changed:
        df = session.read.option("basePath", str(staging / "events")).parquet(
            (staging / "events").as_uri()
        )
        (
            df.repartition("day")  # one file per day
            .write.mode("overwrite")
            .option("partitionOverwriteMode", "dynamic")
            .option("compression", "zstd")
            .partitionBy("day")
            .parquet(join(root, "events"))
        )
    for d in removed:
        fs, path = _hadoop_fs(session, join(root, "events", f"day={d.isoformat()}"))
        fs.delete(path, True)
    for name in SNAPSHOTS:
        session.read.parquet((staging / name).as_uri()).coalesce(1).write.mode("overwrite").parquet(join(root, name))


def lake_summary(target: str | Path) -> dict[str, Any]:
    """For tests and `--json`: the day folders and snapshot files of a local lake."""
    root = Path(normalise_target(target).removeprefix("file://"))
    days = sorted(p.name for p in (root / "events").glob("day=*") if p.is_dir())
    return {"days": days, "snapshots": sorted(p.name for p in root.iterdir() if p.is_dir() and p.name in SNAPSHOTS)}


def exported_days(con: duckdb.DuckDBPyConnection, target: str | Path) -> list[tuple[str, int]]:
    """(day, events) the store last exported to `target`, by day."""
    migrate(con, "lake", LAKE_MIGRATIONS)
    rows = con.execute(
        "SELECT day, events FROM lake_exports WHERE target = ? ORDER BY day", [normalise_target(target)]
    ).fetchall()
    return [(d.isoformat(), int(n)) for d, n in rows]


def describe(report: ExportReport) -> str:
    """One line for people."""
    r = report
    return (
        f"exported {r.events_written:,} events in {len(r.days_written)} day(s) to {r.target}"
        f" ({r.days_unchanged} unchanged, {len(r.days_removed)} removed); snapshots "
        + json.dumps(dict(sorted(r.snapshots.items())))
    )
