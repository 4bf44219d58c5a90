"""Crash safety: ingest killed with SIGKILL at random points, then checked and re-run.

Each batch (here: each input file) is one transaction, so after any kill every
file's activities are either all in the store or none; the store opens, its
schema is intact, the interrupted run is marked as such, and re-running the
ingest ends with exactly the counts of an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resonance.store import open_store
from synth import write_as2_corpus

pytestmark = pytest.mark.slow

SRC = str(Path(__file__).resolve().parents[1] / "src")
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
    # At least 20 kills of a running ingest. The machine may be busy, so a kill that comes
    # after the run finished does not count; the window then shrinks to what runs take.
    kills, chains, window, attempts = 20, 2, duration, 0
    for c in range(chains):
        db = tmp_path / f"crash-{c}.duckdb"
        killed = 0
        while killed < kills // chains:
            attempts += 1
            assert attempts <= 3 * kills, "could not kill an ingest mid-run often enough"
            started = time.monotonic()
            proc = subprocess.Popen(_ingest_cmd(corpus, db), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env=_env())
            time.sleep(rng.uniform(0.2, window))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            else:
                window = max(0.3, min(window, time.monotonic() - started) * 0.9)
            proc.wait(timeout=60)
            if db.exists():
                _check_consistent(db, expected)
        done = subprocess.run(_ingest_cmd(corpus, db), capture_output=True, env=_env(), timeout=300)
        assert done.returncode == 0, done.stderr
        assert _check_consistent(db, expected) == reference
        statuses = dict(open_store(db).con.execute(
            "SELECT status, count(*) FROM ingest_runs GROUP BY 1").fetchall())
        assert set(statuses) <= {"done", "interrupted"} and statuses.get("done", 0) >= 1
        assert statuses.get("interrupted", 0) >= 1
