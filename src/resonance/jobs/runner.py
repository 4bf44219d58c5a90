"""The server's job runner: forwarded commands, run in-process on the server's store.

Write jobs (anything that opened the store for writing) run one at a time, in
the order they were submitted, on one worker thread; each is a row in `jobs`
whose status moves queued -> running -> done | failed. A server that stops or
dies mid-job leaves the row `running`: the next start puts it back in the
queue (every write command is idempotent: ingest skips what is present,
compute rebuilds its tables), up to `MAX_ATTEMPTS`.

Read-only jobs (status, person, backup, ...) start at once on their own thread:
DuckDB's MVCC gives them a consistent snapshot beside a running write job, and
waiting behind a long compute would help no one. They are not re-run after a
restart (their client is gone); they end `cancelled`.

Each job runs the very same Typer command a terminal would (`resonance.cli.app`)
with stdout/stderr captured per thread and the server's store injected through
`resonance.jobs.context`, so its output and exit code are exactly those of the
command run without a server.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resonance.jobs import capture
from resonance.jobs._click import Command
from resonance.jobs.context import running_job
from resonance.jobs.schema import ensure_jobs_schema
from resonance.store import Store

log = logging.getLogger("resonance.jobs")

MAX_ATTEMPTS = 3
"""A write job interrupted this many times (server stopped or killed) is marked failed."""
OUTPUT_LIMIT = 16 << 20
"""Characters of stdout/stderr kept per job; beyond, the middle is cut."""
STOP_GRACE_S = 20.0
"""On shutdown, how long the running job may finish before it is interrupted (and re-queued)."""

JOB_COLUMNS = (
    "job_id", "argv", "read_only", "status", "exit_code", "requested_by", "cwd", "submitted_at",
    "started_at", "finished_at", "attempts", "error",
)


@dataclass
class _Live:
    """A job in flight: its output so far, and the cursor to interrupt it on shutdown."""

    store: Store
    out: capture.LiveBuffer = field(default_factory=capture.LiveBuffer)
    err: capture.LiveBuffer = field(default_factory=capture.LiveBuffer)


class JobRunner:
    """Runs forwarded commands on `store` (the server's). One per database per process."""

    _instances: dict[str, JobRunner] = {}
    _instances_lock = threading.Lock()

    def __init__(self, store: Store, command: Command | None = None) -> None:
        self.store = store
        self._command = command
        self._wake = threading.Condition()
        self._stopping = False
        self._live: dict[int, _Live] = {}
        self._threads: set[threading.Thread] = set()
        self._worker: threading.Thread | None = None
        self._refs = 0

    # -- life cycle -------------------------------------------------------------------
    @classmethod
    def acquire(cls, store: Store) -> JobRunner:
        """The runner of `store`'s database, started on first use (shared by apps in one process)."""
        key = str(Path(store.path).absolute())
        with cls._instances_lock:
            runner = cls._instances.get(key)
            if runner is None:
                runner = cls._instances[key] = JobRunner(store)
                runner._start()
            runner._refs += 1
            return runner

    def release(self) -> None:
        """Drop one reference; the last one stops the runner."""
        key = str(Path(self.store.path).absolute())
        with self._instances_lock:
            self._refs -= 1
            if self._refs > 0:
                return
            self._instances.pop(key, None)
        self._stop()

    def _start(self) -> None:
        con = self.store.cursor()
        try:
            ensure_jobs_schema(con)
            requeued = con.execute(
                """UPDATE jobs SET status = CASE WHEN attempts >= ? THEN 'failed' ELSE 'queued' END,
                       error = CASE WHEN attempts >= ? THEN 'interrupted ' || attempts || ' times; not retried'
                                    ELSE 'interrupted by a server stop; queued again' END,
                       finished_at = CASE WHEN attempts >= ? THEN now()::TIMESTAMP END
                   WHERE status = 'running' AND NOT read_only RETURNING job_id""",
                [MAX_ATTEMPTS, MAX_ATTEMPTS, MAX_ATTEMPTS],
            ).fetchall()
            con.execute(
                """UPDATE jobs SET status = 'cancelled', finished_at = now()::TIMESTAMP,
                       error = 'the server stopped before this read-only job finished'
                   WHERE status IN ('queued', 'running') AND read_only"""
            )
        finally:
            con.close()
        if requeued:
            log.warning("re-queued %d job(s) interrupted by a server stop", len(requeued))
        capture.install()
        self._worker = threading.Thread(target=self._work_loop, name="resonance-jobs", daemon=True)
        self._worker.start()

    def _stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        deadline = time.monotonic() + STOP_GRACE_S
        threads = [t for t in [self._worker, *self._threads] if t is not None]
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        for job_id, live in list(self._live.items()):
            log.warning("interrupting job %d at shutdown", job_id)
            with contextlib.suppress(Exception):  # best effort at shutdown
                live.store.con.interrupt()
        for t in threads:
            t.join(5.0)
        capture.uninstall()

    # -- the API the web routes call ------------------------------------------------------
    def submit(self, argv: list[str], read_only: bool, requested_by: str | None, cwd: str | None) -> int:
        """Record a job and start it (read-only) or queue it (write). Returns its id."""
        if self._stopping:
            raise RuntimeError("the server is stopping")
        con = self.store.cursor()
        try:
            job_id = int(
                con.execute(
                    """INSERT INTO jobs (job_id, argv, read_only, status, requested_by, cwd, submitted_at)
                       VALUES (nextval('job_seq'), ?, ?, 'queued', ?, ?, now()::TIMESTAMP) RETURNING job_id""",
                    [list(argv), read_only, requested_by, cwd],
                ).fetchall()[0][0]
            )
        finally:
            con.close()
        if read_only:
            thread = threading.Thread(target=self._run_read_only, args=(job_id,), name=f"resonance-job-{job_id}",
                                      daemon=True)
            self._threads.add(thread)
            thread.start()
        else:
            with self._wake:
                self._wake.notify_all()
        return job_id

    def get(self, job_id: int, stdout_from: int = 0, stderr_from: int = 0) -> dict[str, Any] | None:
        """A job's state and its output from the given offsets (live while it runs)."""
        live = self._live.get(job_id)
        live_out = (live.out.getvalue(), live.err.getvalue()) if live is not None else None
        con = self.store.cursor()
        try:
            rows = con.execute(
                f"SELECT {', '.join(JOB_COLUMNS)}, stdout, stderr FROM jobs WHERE job_id = ?", [job_id]
            ).fetchall()
        finally:
            con.close()
        if not rows:
            return None
        job = dict(zip((*JOB_COLUMNS, "stdout", "stderr"), rows[0], strict=True))
        if job["status"] == "running" and live_out is not None:
            job["stdout"], job["stderr"] = live_out
        stdout, stderr = job["stdout"] or "", job["stderr"] or ""
        job["stdout"], job["stderr"] = stdout[stdout_from:], stderr[stderr_from:]
        job["stdout_end"], job["stderr_end"] = len(stdout), len(stderr)
        return job

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        con = self.store.cursor()
        try:
            rows = con.execute(
                f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs ORDER BY job_id DESC LIMIT ?", [limit]
            ).fetchall()
        finally:
            con.close()
        return [dict(zip(JOB_COLUMNS, r, strict=True)) for r in rows]

    # -- running ----------------------------------------------------------------------------
    def _work_loop(self) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
                job = self._next_write_job()
                if job is None:
                    self._wake.wait(timeout=30.0)
                    continue
            self._run(*job)

    def _next_write_job(self) -> tuple[int, list[str], str | None] | None:
        con = self.store.cursor()
        try:
            rows = con.execute(
                """SELECT job_id, argv, requested_by FROM jobs
                   WHERE status = 'queued' AND NOT read_only ORDER BY job_id LIMIT 1"""
            ).fetchall()
        finally:
            con.close()
        return (int(rows[0][0]), list(rows[0][1]), rows[0][2]) if rows else None

    def _run_read_only(self, job_id: int) -> None:
        try:
            con = self.store.cursor()
            try:
                rows = con.execute("SELECT argv, requested_by FROM jobs WHERE job_id = ?", [job_id]).fetchall()
            finally:
                con.close()
            self._run(job_id, list(rows[0][0]), rows[0][1])
        finally:
            self._threads.discard(threading.current_thread())

    def _run(self, job_id: int, argv: list[str], user: str | None) -> None:
        live = _Live(store=self.store.view())
        self._live[job_id] = live
        self._update(
            "UPDATE jobs SET status = 'running', started_at = now()::TIMESTAMP, attempts = attempts + 1, "
            "error = NULL WHERE job_id = ?", [job_id],
        )
        error: str | None = None
        try:
            with capture.captured(live.out, live.err), running_job(live.store, user):
                code = self._invoke(argv)
        except BaseException as exc:  # noqa: BLE001 - a job must never take the worker down
            code, error = 1, f"{type(exc).__name__}: {exc}"
            live.err.write(traceback.format_exc())
        finally:
            live.store.close()
        stdout, stderr = _cap(live.out.getvalue()), _cap(live.err.getvalue())
        if self._stopping and code != 0:
            # Interrupted by the shutdown: a write job runs again at the next start.
            status = "cancelled" if self._is_read_only(job_id) else "queued"
            self._update(
                "UPDATE jobs SET status = ?, stdout = ?, stderr = ?, error = 'interrupted by a server stop' "
                "WHERE job_id = ?", [status, stdout, stderr, job_id],
            )
        else:
            self._update(
                """UPDATE jobs SET status = ?, exit_code = ?, stdout = ?, stderr = ?, error = ?,
                       finished_at = now()::TIMESTAMP WHERE job_id = ?""",
                ["done" if code == 0 else "failed", code, stdout, stderr, error, job_id],
            )
        self._live.pop(job_id, None)

    def _invoke(self, argv: list[str]) -> int:
        """Run `resonance ARGV...` in this thread, as the console script would; return its exit code."""
        if self._command is None:
            import typer.main

            from resonance.cli import app

            self._command = typer.main.get_command(app)
        try:
            self._command.main(args=list(argv), prog_name="resonance", standalone_mode=True)
        except SystemExit as exc:
            if exc.code is None:
                return 0
            if isinstance(exc.code, int):
                return exc.code
            print(exc.code, file=sys.stderr)
            return 1
        return 0

    def _is_read_only(self, job_id: int) -> bool:
        con = self.store.cursor()
        try:
            return bool(con.execute("SELECT read_only FROM jobs WHERE job_id = ?", [job_id]).fetchall()[0][0])
        finally:
            con.close()

    def _update(self, sql: str, params: list[Any]) -> None:
        con = self.store.cursor()
        try:
            con.execute(sql, params)
        finally:
            con.close()


def _cap(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    half = OUTPUT_LIMIT // 2
    return text[:half] + f"\n…[{len(text) - OUTPUT_LIMIT:,} characters cut]…\n" + text[-half:]
