"""Kudos, votes and consent written through the server while a compute job runs are all kept.

A real `resonance serve` owns a real store; `resonance compute` is submitted from another
process (forwarded to the server as a job, like an admin would run it); while the job runs,
one client per employee keeps giving kudos, voting and changing consent through the API.
Afterwards every acknowledged write is in the store exactly once (kudos, their events and
audit rows; each person's last vote and consent), no request failed, and the compute
finished with complete results. The 50-client load run lives in benchmarks (issue 10, Load);
this is the functional check that runs in every CI build.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import pytest

from resonance.ingest import run_ingest
from resonance.jobs.lockfile import read_lock
from resonance.store import open_store
from resonance.web.accounts import create_token, create_user, ensure_auth_schema
from server_proc import Server, env
from synth import write_as2_corpus

pytestmark = pytest.mark.slow

WRITERS = 8
RULES = """[kudos]
budget = 10000
rate_limit_per_minute = 10000
vote_rate_limit_per_minute = 10000
"""


@dataclass
class Writer:
    """One employee's client and what the server acknowledged to it, in order."""

    username: str
    person_id: str
    token: str
    kudos: dict[str, tuple[str, str]] = field(default_factory=dict)  # kudos_id -> (receiver, message)
    votes: dict[str, int] = field(default_factory=dict)  # item -> last acknowledged value
    vote_changes: int = 0
    consent: bool | None = None  # last acknowledged expert_finding choice
    consent_changes: int = 0
    failures: list[str] = field(default_factory=list)
    during: int = 0  # writes acknowledged while the compute job was running


def _prepare(tmp_path) -> tuple:
    corpus = tmp_path / "corpus"
    write_as2_corpus(corpus, files=3, per_file=1500)
    db = tmp_path / "store.duckdb"
    store = open_store(db)
    try:
        run_ingest(store.con, "as2", [corpus])
        people = [r[0] for r in store.con.execute("SELECT person_id FROM people ORDER BY person_id").fetchall()]
        ensure_auth_schema(store.con)
        writers = []
        for n, person in enumerate(people[:WRITERS]):
            username = f"w{n}"
            create_user(store.con, username, "correct horse battery staple", "employee", person, actor="tests")
            writers.append(Writer(username, person, create_token(store.con, username, "t", actor="tests")[0]))
        # Items each writer may vote on (not their own), in a fixed order.
        items = {
            w.person_id: [r[0] for r in store.con.execute(
                """SELECT it.item_id FROM items it JOIN identities a ON a.identity = it.author
                   WHERE a.person_id <> ? ORDER BY it.item_id LIMIT 40""", [w.person_id]).fetchall()]
            for w in writers
        }
        store.con.execute("CHECKPOINT")
    finally:
        store.close()
    return db, people, writers, items


def _job(server: Server, headers: dict, job_id: int | None = None) -> dict | None:
    if job_id is not None:
        return httpx.get(f"{server.url}/api/admin/jobs/{job_id}", headers=headers, timeout=30).json()
    jobs = httpx.get(f"{server.url}/api/admin/jobs", headers=headers, timeout=30).json()
    return jobs[0] if jobs else None


def _write_loop(server: Server, w: Writer, receivers: list[str], items: list[str], running: threading.Event,
                stop: threading.Event) -> None:
    """Kudos, vote, consent, kudos, vote, ... until told to stop; records every acknowledgement."""
    headers = {"Authorization": f"Bearer {w.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
        n = 0
        while not stop.is_set():
            step, k = n % 3, n // 3
            if step == 0:
                receiver = receivers[k % len(receivers)]
                message = f"{w.username} thanks {receiver} #{k}"
                r = http.post("/api/kudos", json={"receiver": receiver, "message": message})
                if r.status_code == 201:
                    w.kudos[r.json()["kudos_id"]] = (receiver, message)
            elif step == 1:
                item = items[k % len(items)]
                value = 1 if (k // len(items)) % 2 == 0 else -1
                r = http.post(f"/api/items/{item}/vote", json={"value": value})
                if r.status_code == 200:
                    w.votes[item] = r.json()["value"]
                    w.vote_changes += bool(r.json()["changed"])
            else:
                choice = k % 2 == 0
                r = http.put("/api/me/settings", json={"consents": {"expert_finding": choice}})
                if r.status_code == 200:
                    assert {c["purpose"]: c["granted"] for c in r.json()["consents"]}["expert_finding"] is choice
                    w.consent_changes += w.consent is not choice
                    w.consent = choice
            if r.status_code not in (200, 201):
                w.failures.append(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}")
            elif running.is_set():
                w.during += 1
            n += 1


def test_writes_through_the_server_during_a_compute_are_never_lost(tmp_path, monkeypatch):
    db, people, writers, items = _prepare(tmp_path)
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    monkeypatch.setenv("RESONANCE_RULES", str(rules))
    with Server(db) as server:
        headers = {"X-Resonance-Admin-Token": read_lock(db).token}
        running, stop = threading.Event(), threading.Event()
        with ThreadPoolExecutor(WRITERS) as pool:
            loops = [pool.submit(_write_loop, server, w, [p for p in people[WRITERS:] if p != w.person_id][:250],
                                 items[w.person_id], running, stop) for w in writers]
            time.sleep(0.5)  # writes are flowing before the compute starts
            compute = subprocess.Popen(
                [sys.executable, "-m", "resonance", "compute", "--db", str(db), "--period", "month",
                 "--period", "week", "--json"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
            deadline = time.monotonic() + 120
            while (job := _job(server, headers)) is None or job["status"] == "queued":
                assert time.monotonic() < deadline and compute.poll() is None, "the compute job never started"
                time.sleep(0.02)
            running.set()
            while (job := _job(server, headers, job["job_id"]))["status"] == "running":
                assert time.monotonic() < deadline + 300, "the compute job did not finish"
                time.sleep(0.05)
            running.clear()
            time.sleep(0.3)  # and writes go on after it
            stop.set()
            for loop in loops:
                loop.result()
        out, err = compute.communicate(timeout=60)
    assert compute.returncode == 0 and job["status"] == "done", (job, err)
    assert [f for w in writers for f in w.failures] == []
    started, finished = (datetime.fromisoformat(job[k]) for k in ("started_at", "finished_at"))

    store = open_store(db)
    try:
        con = store.con
        during = con.execute("SELECT count(*) FROM kudos WHERE given_at BETWEEN ? AND ?",
                             [started, finished]).fetchall()[0][0]
        # The compute replaced its tables while writes committed beside it.
        assert during >= WRITERS, f"only {during} kudos written while the compute ran"
        assert sum(w.during for w in writers) >= 3 * WRITERS
        assert con.execute("SELECT count(*) FROM person_metrics").fetchall()[0][0] > 1000
        assert con.execute("SELECT status FROM metric_runs ORDER BY run_id DESC LIMIT 1").fetchall() == [("done",)]

        acked = {k: (w.person_id, *v) for w in writers for k, v in w.kudos.items()}
        stored = {r[0]: r[1:] for r in con.execute(
            "SELECT kudos_id, giver_id, receiver_id, message FROM kudos").fetchall()}
        assert stored == acked, "every acknowledged kudos is stored, and nothing else"
        assert con.execute("""SELECT count(*), count(DISTINCT native_id) FROM events
                              WHERE source = 'resonance' AND verb = 'Kudos'""").fetchall() == [(len(acked),) * 2]
        assert con.execute("SELECT count(*) FROM kudos_audit WHERE action = 'kudos'").fetchall() == [(len(acked),)]

        votes = {(w.person_id, item): v for w in writers for item, v in w.votes.items()}
        assert {(r[0], r[1]): r[2] for r in con.execute(
            "SELECT voter_id, item_id, value FROM item_votes").fetchall()} == votes
        changes = sum(w.vote_changes for w in writers)
        assert con.execute("SELECT count(*) FROM kudos_audit WHERE action = 'vote'").fetchall() == [(changes,)]
        assert con.execute("""SELECT count(*) FROM events WHERE source = 'resonance' AND verb = 'Vote'""").fetchall() \
            == [(changes,)]

        consent = dict(con.execute(
            "SELECT person_id, granted FROM consent WHERE purpose = 'expert_finding'").fetchall())
        assert consent == {w.person_id: w.consent for w in writers}
        logged = dict(con.execute("""SELECT person_id, count(*) FROM consent_log WHERE purpose = 'expert_finding'
                                     GROUP BY 1""").fetchall())
        assert logged == {w.person_id: w.consent_changes for w in writers}
    finally:
        store.close()
