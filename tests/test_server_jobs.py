"""The server owns the store: commands run while it serves are forwarded to it as jobs.

Real `resonance serve` processes, real CLI subprocesses, a real DuckDB file.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from resonance.jobs.lockfile import lock_path, read_lock, write_lock
from resonance.store import open_store
from server_proc import Server, env, resonance
from synth import write_as2_corpus

pytestmark = pytest.mark.slow


def _token_headers(db: Path) -> dict[str, str]:
    lock = read_lock(db)
    assert lock is not None
    return {"X-Resonance-Admin-Token": lock.token}


def _counts(db: Path) -> dict[str, int]:
    store = open_store(db)
    try:
        return {t: store.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in ("events", "items", "profiles", "identities", "people", "quarantine")}
    finally:
        store.close()


def _session(db: Path, sample: Path) -> list[tuple[int, str, str]]:
    """The same commands, with or without a server: (exit code, stdout, stderr) each."""
    d = str(db)
    runs = [
        resonance("ingest", "as2", str(sample), "--db", d, "--json"),
        resonance("ingest", "as2", str(sample), "--db", d, "--json"),
        resonance("ingest", "as2", str(sample), "--db", d, "--strict"),
        resonance("ingest", "as2", str(sample.with_name("missing.ndjson")), "--db", d),
        resonance("ingest", "as2", str(sample), "--db", d, "--option", "nope=1"),
        resonance("quarantine", "--db", d, "--json"),
    ]
    return [(r.returncode, r.stdout, r.stderr) for r in runs]


def test_forwarded_commands_give_the_same_output_and_exit_codes(tmp_path, data_dir):
    sample = tmp_path / "sample.ndjson"
    sample.write_bytes((data_dir / "as2" / "bad-and-good.ndjson").read_bytes())
    direct = _session(tmp_path / "direct.duckdb", sample)
    served_db = tmp_path / "served.duckdb"
    with Server(served_db) as server:
        lock_file = lock_path(served_db)
        assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600
        lock = json.loads(lock_file.read_text())
        assert lock["pid"] == server.proc.pid and lock["url"] == server.url and len(lock["token"]) >= 32
        served = _session(served_db, sample)
        # Relative paths are the client's, not the server's.
        relative = resonance("ingest", "as2", sample.name, "--db", str(served_db), "--json", cwd=tmp_path)
        status = resonance("status", "--db", str(served_db), "--json")
        jobs = json.loads(resonance("jobs", "--db", str(served_db), "--json").stdout)
    assert not lock_file.exists(), "the server removes its lock file on shutdown"
    assert [r[0] for r in direct] == [0, 0, 1, 2, 2, 0]
    assert [(c, out) for c, out, _ in served] == [(c, out) for c, out, _ in direct]
    for (_, _, err_direct), (_, _, err_served) in zip(direct[3:5], served[3:5], strict=True):
        assert "error:" in err_direct and err_served.strip() == err_direct.strip()
    assert relative.returncode == 0 and json.loads(relative.stdout)["duplicates"] == 6
    assert json.loads(status.stdout)["totals"]["events"] == 4
    # newest first: status, relative ingest, quarantine, 2 usage errors, --strict, 2 ingests
    assert [j["status"] for j in jobs[1:]] == ["done", "done", "done", "failed", "failed", "failed", "done", "done"]
    assert all(j["requested_by"] for j in jobs)
    assert any(a.startswith(str(tmp_path)) for a in jobs[2]["argv"]), jobs[2]["argv"]  # made absolute
    # Without the server the file opens directly again, with everything the jobs wrote.
    assert _counts(served_db)["events"] == 4


def test_web_keeps_serving_while_a_job_runs(tmp_path):
    corpus = tmp_path / "corpus"
    write_as2_corpus(corpus, files=6, per_file=2000)
    db = tmp_path / "store.duckdb"
    with Server(db) as server:
        job = subprocess.Popen([sys.executable, "-m", "resonance", "ingest", "as2", str(corpus), "--db", str(db),
                                "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
        latencies, statuses, seen = [], [], []
        with httpx.Client(base_url=server.url, timeout=10) as http:
            while job.poll() is None:
                t = time.monotonic()
                r = http.get("/health")
                latencies.append(time.monotonic() - t)
                statuses.append(r.status_code)
                seen.append(r.json()["events"] if r.status_code == 200 else None)
                time.sleep(0.02)
        out, err = job.communicate()
    assert job.returncode == 0, err
    by_table = json.loads(out)["by_table"]
    assert (by_table["events"]["ingested"], by_table["items"]["ingested"]) == (6 * 2000, _items(corpus))
    assert set(statuses) == {200}
    assert len(statuses) >= 10, "requests answered while the ingest ran"
    assert seen == sorted(seen), "readers see committed batches only, in order"
    assert 0 < seen[-1] <= 12000 and len(set(seen)) > 1, "batches became visible while the job ran"
    assert max(latencies) < 3.0, f"slowest request {max(latencies):.2f}s"


def _items(corpus: Path) -> int:
    return sum(f.read_text().count('"type": "Create"') for f in corpus.glob("*.ndjson"))


def test_restart_reruns_an_interrupted_job_to_exact_counts(tmp_path):
    corpus = tmp_path / "corpus"
    write_as2_corpus(corpus, files=6, per_file=2000)
    reference = tmp_path / "reference.duckdb"
    assert resonance("ingest", "as2", str(corpus), "--db", str(reference)).returncode == 0
    db = tmp_path / "store.duckdb"
    server = Server(db).start()
    try:
        client = subprocess.Popen([sys.executable, "-m", "resonance", "ingest", "as2", str(corpus), "--db", str(db)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
        headers = _token_headers(db)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the job has committed a batch or two
            jobs = httpx.get(server.url + "/api/admin/jobs", headers=headers).json()
            if jobs and jobs[0]["status"] == "running" and httpx.get(server.url + "/health").json()["events"] > 0:
                break
            time.sleep(0.05)
        server.kill()
        _, err = client.communicate(timeout=60)
        assert client.returncode == 75, err
        assert "will run again when the server restarts" in err
        assert lock_path(db).exists()  # a killed server leaves a stale lock...
        server = Server(db).start()    # ...which the next server replaces
        headers = _token_headers(db)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = httpx.get(server.url + "/api/admin/jobs/1", headers=headers).json()
            if job["status"] in ("done", "failed"):
                break
            time.sleep(0.2)
        assert job["status"] == "done" and job["exit_code"] == 0 and job["attempts"] == 2, job
    finally:
        server.stop()
    assert _counts(db) == _counts(reference)
    runs = open_store(db).con.execute("SELECT status FROM ingest_runs ORDER BY ingest_id").fetchall()
    assert runs == [("interrupted",), ("done",)]


def test_write_jobs_run_one_at_a_time_in_order(tmp_path):
    corpus = tmp_path / "corpus"
    write_as2_corpus(corpus, files=3, per_file=1000)
    db = tmp_path / "store.duckdb"
    with Server(db) as server:
        headers = _token_headers(db)
        clients = []
        for i in range(3):
            clients.append(subprocess.Popen(
                [sys.executable, "-m", "resonance", "ingest", "as2", str(corpus / f"part-{i:03d}.ndjson"),
                 "--db", str(db), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env()))
            deadline = time.monotonic() + 60  # submit in a known order
            while len(httpx.get(server.url + "/api/admin/jobs", headers=headers).json()) <= i:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        outputs = [c.communicate(timeout=120) for c in clients]
        assert [c.returncode for c in clients] == [0, 0, 0], outputs
    con = open_store(db).con
    jobs = con.execute("SELECT job_id, started_at, finished_at FROM jobs ORDER BY job_id").fetchall()
    assert len(jobs) == 3
    for (_, _, finished), (_, started, _) in zip(jobs, jobs[1:], strict=False):
        assert started >= finished, "a write job started before the previous one finished"
    runs = con.execute("SELECT ingest_id, paths[1] FROM ingest_runs ORDER BY ingest_id").fetchall()
    assert [Path(p).name for _, p in runs] == ["part-000.ndjson", "part-001.ndjson", "part-002.ndjson"]


def test_stale_lock_of_a_dead_server_is_removed(tmp_path, data_dir):
    db = tmp_path / "store.duckdb"
    assert resonance("ingest", "as2", str(data_dir / "as2" / "bad-and-good.ndjson"), "--db", str(db)).returncode == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = write_lock(db, "http://127.0.0.1:9", "x" * 40)
    data = json.loads(lock_path(db).read_text())
    data["pid"], data["process_started"] = dead.pid, None
    lock_path(db).write_text(json.dumps(data))
    assert lock.token
    out = resonance("status", "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["totals"]["events"] == 4
    assert not lock_path(db).exists()


def test_second_server_on_the_same_store_is_refused(tmp_path):
    db = tmp_path / "store.duckdb"
    with Server(db) as server:
        second = resonance("serve", "--db", str(db), "--port", "1", timeout=60)
        assert second.returncode == 2
        assert f"already served at {server.url}" in " ".join(second.stderr.split())
    assert not os.path.exists(lock_path(db))
