"""Crash safety: ingest and compute killed with SIGKILL at random points (20 trials each), checked, re-run.

Each batch (here: each input file) is one transaction, so after any kill every
file's activities are either all in the store or none; the store opens, its
schema is intact, the interrupted run is marked as such, and re-running the
ingest ends with exactly the counts of an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from resonance.store import open_store
from synth import write_as2_corpus

pytestmark = pytest.mark.slow

SRC = str(Path(__file__).resolve().parents[1] / "src")
KILLS = int(os.environ.get("RESONANCE_CRASH_TRIALS", "20"))  # per test: ingest, compute
COUNTED = ("events", "items", "profiles", "identities", "people", "quarantine")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _ingest_cmd(corpus: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "resonance", "ingest", "as2", str(corpus), "--db", str(db), "--json"]


def _counts(db: Path) -> dict[str, int]:
    store = open_store(db)
    try:
        return {t: store.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in COUNTED}
    finally:
        store.close()


def _check_consistent(db: Path, expected_per_file: dict[str, int]) -> dict[str, int]:
    """Open after a kill and check every invariant; returns the table counts."""
    store = open_store(db)  # must open: WAL replayed or discarded, interrupted runs recovered
    try:
        con = store.con
        core = con.execute("SELECT max(version) FROM schema_migrations WHERE component = 'core'").fetchall()
        assert core == [(1,)]
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert set(COUNTED) | {"ingest_runs", "identity_ops"} <= tables
        assert con.execute("SELECT count(*) FROM ingest_runs WHERE status = 'running'").fetchall() == [(0,)]
        # No partial batch: per input file, all of its events or none.
        per_file = dict(con.execute(
            "SELECT split_part(native_id, ':', 2), count(*) FROM events GROUP BY 1").fetchall())
        for name, n in per_file.items():
            file = f"part-{name[1:]}.ndjson"
            assert n == expected_per_file[file], f"{file}: {n} of {expected_per_file[file]} events (partial batch)"
        # Derived `people` agrees with identities (rebuilt on recovery).
        persons, people = con.execute(
            "SELECT (SELECT count(DISTINCT person_id) FROM identities), (SELECT count(*) FROM people)"
        ).fetchall()[0]
        assert persons == people
        # Every event's actor resolves to a person.
        assert con.execute(
            """SELECT count(*) FROM events e WHERE actor IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.identity = e.actor)"""
        ).fetchall() == [(0,)]
        quarantined_files = con.execute("SELECT count(DISTINCT file) FROM quarantine").fetchall()[0][0]
        assert quarantined_files == len(per_file)  # each file's bad line came in with its batch
    finally:
        store.close()
    return _counts(db)


def _runs(db: Path, table: str) -> int:
    """How many runs the store records (opening it recovers a killed run: `running` becomes `interrupted`)."""
    if not db.exists():
        return 0
    store = open_store(db)
    try:
        if table not in {r[0] for r in store.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}:
            return 0
        return store.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    finally:
        store.close()


def kill_trials(cmd: list[str], db: Path, runs_table: str, trials: int, window: float, rng: random.Random,
                check: Callable[[Path], object]) -> int:
    """SIGKILL `cmd` at random moments until `trials` kills landed inside a run (the run was recorded in
    `runs_table`: the kill hit the work, not the interpreter starting up); `check(db)` after every
    attempt. The machine may be busy: a kill that comes after the process finished, or before its run
    began, does not count, and the window [low, high] adapts to what runs take. Returns the attempts."""
    low, high, killed, attempts = 0.1, max(window, 0.5), 0, 0
    while killed < trials:
        attempts += 1
        assert attempts <= 4 * trials, f"only {killed} of {trials} kills landed inside a run"
        before = _runs(db, runs_table)
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
        delay = rng.uniform(low, max(high, low + 0.1))
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            if db.exists():
                check(db)
            if _runs(db, runs_table) > before:
                killed += 1
            else:  # still starting up: kill later next time
                low = min(delay, 0.8 * high)
        else:
            high = max(low + 0.1, min(high, time.monotonic() - started) * 0.9)
            check(db)
    return attempts


def test_sigkill_during_ingest_then_rerun_gives_exact_counts(tmp_path):
    corpus = tmp_path / "corpus"
    expected = write_as2_corpus(corpus, files=6, per_file=2000)
    reference_db = tmp_path / "reference.duckdb"
    started = time.monotonic()
    subprocess.run(_ingest_cmd(corpus, reference_db), check=True, capture_output=True, env=_env(), timeout=300)
    duration = time.monotonic() - started
    reference = _counts(reference_db)
    assert reference["events"] == sum(expected.values())

    rng = random.Random(int(os.environ.get("RESONANCE_CRASH_SEED", "20260301")))
    # KILLS kills of a running ingest in 4 chains (each kill leaves less to do, so a chain is kept short),
    # each chain ending with a re-run that must give exactly the reference counts.
    chains = 4
    for c in range(chains):
        db = tmp_path / f"crash-{c}.duckdb"
        kill_trials(_ingest_cmd(corpus, db), db, "ingest_runs", KILLS // chains + (c < KILLS % chains), duration,
                    rng, lambda d: _check_consistent(d, expected))
        done = subprocess.run(_ingest_cmd(corpus, db), capture_output=True, env=_env(), timeout=300)
        assert done.returncode == 0, done.stderr
        assert _check_consistent(db, expected) == reference
        statuses = dict(open_store(db).con.execute(
            "SELECT status, count(*) FROM ingest_runs GROUP BY 1").fetchall())
        assert set(statuses) <= {"done", "interrupted"} and statuses.get("done", 0) >= 1
        assert statuses.get("interrupted", 0) >= 1


def _metric_counts(con) -> dict[str, int]:
    from resonance.metrics.tables import EVENT_TABLES, PERIOD_TABLES

    present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] if t in present else 0
            for t in (*PERIOD_TABLES, *EVENT_TABLES, "metric_periods")}


def test_sigkill_during_compute_leaves_old_or_new_results_then_rerun_matches(tmp_path):
    corpus = tmp_path / "corpus"
    write_as2_corpus(corpus, files=3, per_file=1500)
    base = tmp_path / "base.duckdb"
    subprocess.run(_ingest_cmd(corpus, base), check=True, capture_output=True, env=_env(), timeout=300)
    compute = lambda db: [sys.executable, "-m", "resonance", "compute", "--db", str(db),  # noqa: E731
                          "--period", "month", "--period", "week", "--full", "--json"]  # every run computes
    reference_db = tmp_path / "reference.duckdb"
    shutil.copy(base, reference_db)
    started = time.monotonic()
    subprocess.run(compute(reference_db), check=True, capture_output=True, env=_env(), timeout=300)
    window = time.monotonic() - started
    ref = open_store(reference_db)
    reference = _metric_counts(ref.con)
    core = {t: ref.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in COUNTED}
    ref.close()
    assert reference["person_metrics"] > 1000
    empty = dict.fromkeys(reference, 0)

    db = tmp_path / "crash.duckdb"
    shutil.copy(base, db)

    def check(db: Path) -> None:
        store = open_store(db)
        try:
            state = _metric_counts(store.con)
            assert state in (empty, reference), f"partial compute left behind: {state}"
            if "metric_runs" in {r[0] for r in store.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}:
                running = store.con.execute("SELECT count(*) FROM metric_runs WHERE status = 'running'").fetchall()
                assert running == [(0,)]
            assert {t: store.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in COUNTED} == core
        finally:
            store.close()

    rng = random.Random(int(os.environ.get("RESONANCE_CRASH_SEED", "20260302")))
    kill_trials(compute(db), db, "metric_runs", KILLS, window, rng, check)
    subprocess.run(compute(db), check=True, capture_output=True, env=_env(), timeout=300)
    store = open_store(db)
    try:
        assert _metric_counts(store.con) == reference
        store.con.execute(f"ATTACH '{reference_db}' AS ref (READ_ONLY)")
        worst = store.con.execute(
            """SELECT max(abs(a.value - b.value) / (1 + abs(b.value))), count(*) FROM person_metrics a
               JOIN ref.person_metrics b USING (period, person_id, metric)""").fetchall()[0]
        assert worst[1] == reference["person_metrics"] and worst[0] < 1e-6
        statuses = dict(store.con.execute("SELECT status, count(*) FROM metric_runs GROUP BY 1").fetchall())
        assert statuses.get("interrupted", 0) >= 1 and statuses.get("done", 0) >= 1
    finally:
        store.close()
