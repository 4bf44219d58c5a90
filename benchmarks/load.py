"""Reads and writes under load while a compute runs: no errors, every write stored exactly once.

    python benchmarks/load.py [--size 100k] [--clients 50] [--duration 60] [--think 0.5,1.5] [--no-append]

A real `resonance serve` owns a computed store of the benchmark size (benchmarks/.cache). Each
client signs in through the sign-in form and mixes dashboard reads (70 %), kudos
(`POST /api/kudos`, 15 %) and helpfulness votes (`POST /api/items/{id}/vote`, 15 %). When the
load starts, `resonance compute` is run against the same store: it is forwarded to the server
and runs there as a job (docs/architecture.md), replacing the metric tables while the clients
read and write. Afterwards the server is stopped and the store is checked: the kudos rows, Kudos
events and audit rows equal the acknowledged (201) kudos, the Vote events and audit rows equal
the acknowledged votes that changed something, and each vote holds its last acknowledged value
(`loadgen.check_writes`). Refusals by the kudos rules (409, 429) are expected outcomes, not
errors; the budgets are raised for the run (`--rules`), so that most writes are accepted.
`tests/test_load.py` runs the same at 10 clients for 10 seconds on a small company.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402 - after the path to this folder
    CACHE,
    SRC,
    append_results,
    child_env,
    copy_store,
    machine,
    proc_cpu_s,
    rss_mb,
    served,
    setup_accounts,
)

sys.path.insert(0, str(SRC))
from loadgen import World, check_writes, mixed, run_load  # noqa: E402

GENEROUS_RULES = """[kudos]
budget = 100000
rate_limit_per_minute = 100000
vote_rate_limit_per_minute = 100000
"""
"""Kudos rules for the load run: budgets and rate limits out of the way (dedup and self-kudos still apply)."""


def run_mixed(db: Path, clients: int, duration: float, think: tuple[float, float], rules_toml: str = GENEROUS_RULES,
              compute: bool = True, log: Any = print, accounts: int | None = None,
              compute_args: tuple[str, ...] = (), warm_paths: tuple[str, ...] = ("/me", "/api/me/metrics"),
              ) -> dict[str, Any]:
    """Serve the (closed, computed) store at `db`, run the mixed load with a compute job during it
    (`resonance compute --db DB *compute_args`), stop the server, and check the store. `accounts`: distinct
    signed-in people (default: one per client). Returns the figures (see `loadgen.Report.figures`) plus
    `writes` (the exactly-once check), `compute` (the job's exit code, seconds, overlap with the load) and
    `server_*`."""
    setup = setup_accounts(db, accounts or clients)
    signed = [tuple(a) for a in setup["accounts"]]
    usernames = [a[0] for a in signed]
    world = World(setup["receivers"], setup["items"], setup["periods"])
    rules = db.with_name(db.stem + "-rules.toml")
    rules.write_text(rules_toml)
    job: dict[str, Any] = {}

    if not compute_args and _has_full_option():
        compute_args = ("--full",)  # `resonance compute` is incremental by default: make it recompute everything

    def start_compute() -> None:
        """Submit `resonance compute` (forwarded to the server as a job) and return once the job runs,
        so that the measured window starts during the compute."""
        if not compute:
            return
        job["started"] = time.perf_counter()
        job["proc"] = subprocess.Popen(
            [sys.executable, "-m", "resonance", "compute", "--db", str(db), *compute_args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**child_env(), "COLUMNS": "100"})
        job["wait_for_start_s"] = round(wait_for_running_job(db, "compute"), 1)

    with served(db, {"RESONANCE_RULES": str(rules)}) as (url, proc):
        cpu0 = proc_cpu_s(proc.pid)
        report = run_load(url, signed, world, mixed(), duration_s=duration, think=think, on_start=start_compute,
                          clients=clients, warm_paths=warm_paths)
        cpu1 = proc_cpu_s(proc.pid)
        if compute:
            job["running_when_load_ended"] = job["proc"].poll() is None
            out, _ = job["proc"].communicate(timeout=3600)
            job.update(exit_code=job["proc"].returncode, seconds=round(time.perf_counter() - job["started"], 1),
                       output=out.decode(errors="replace")[-500:])
        server_rss = rss_mb(proc.pid)
    figures = report.figures()
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        figures["writes"] = check_writes(con, report, usernames)
        jobs = con.execute("SELECT status, count(*) FROM jobs GROUP BY ALL ORDER BY 1").fetchall()
        # How long the compute job ran inside the measured window (seconds).
        overlap = con.execute(
            """SELECT max(date_diff('millisecond', greatest(started_at, ?), least(finished_at, ?))) / 1000.0
               FROM jobs WHERE argv[1] = 'compute' AND status = 'done'""",
            [report.started_utc, report.ended_utc]).fetchall()[0][0]
    finally:
        con.close()
    figures["compute"] = {k: v for k, v in job.items() if k not in ("proc", "started")}
    figures["jobs"] = dict(jobs)
    figures["compute"]["overlap_s"] = overlap
    figures["server_rss_mb"] = server_rss
    figures["server_cpu_ms_per_request"] = (round(1000 * (cpu1 - cpu0) / max(1, figures["requests"]), 1)
                                            if cpu0 is not None and cpu1 is not None else None)
    figures["reads"] = sum(1 for r in report.records if r.kind == "read")
    figures["kudos_attempts_per_user"] = dict(sorted(Counter(r.user for r in report.records
                                                             if r.kind == "kudos").items()))
    log(f"  {figures['requests']:,} requests ({figures['reads']:,} reads), {figures['rps']} req/s, p50 "
        f"{figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, p99 {figures['p99_ms']} ms, errors {figures['errors']}; "
        f"compute job {figures['compute'].get('exit_code')} in {figures['compute'].get('seconds')} s")
    return figures


def wait_for_running_job(db: Path, command: str, timeout: float = 600.0) -> float:
    """Poll the server that owns `db` (its job API, with the token of its lock file) until a `command`
    job is running or finished; returns the seconds waited."""
    import httpx

    from resonance.jobs.client import TOKEN_HEADER
    from resonance.jobs.lockfile import read_lock

    lock = read_lock(db)
    assert lock is not None, "no server owns the store"
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        jobs = httpx.get(lock.url + "/api/admin/jobs", headers={TOKEN_HEADER: lock.token}, timeout=30).json()
        if any(j["argv"][:1] == [command] and j["status"] in ("running", "done", "failed") for j in jobs):
            return time.perf_counter() - started
        time.sleep(0.2)
    raise TimeoutError(f"no {command} job started within {timeout:.0f} s")


def _has_full_option() -> bool:
    import inspect

    from resonance.cli.metrics import compute

    return "full" in inspect.signature(compute).parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100k", help="Benchmark size whose computed store is served.")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--think", default="0.5,1.5", help="Think time between requests, min,max seconds.")
    parser.add_argument("--rules", type=Path, help="Kudos rules TOML for the server (default: budgets raised).")
    parser.add_argument("--no-compute", action="store_true", help="Do not run a compute job during the load.")
    parser.add_argument("--json", action="store_true", help="Print only the JSON object on stdout.")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    think = tuple(float(x) for x in args.think.split(","))
    out = sys.stderr if args.json else sys.stdout

    def log(msg: str) -> None:
        print(msg, file=out, flush=True)

    from run import Bench

    described = machine()
    log(f"load {args.size}: {described}")
    work = CACHE / "work-load"
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(args.size, 1, work, log)
    bench._ensure_computed()
    db = copy_store(bench.computed_store, work / "load.duckdb")
    try:
        fig = run_mixed(db, args.clients, args.duration, think,  # type: ignore[arg-type]
                        args.rules.read_text() if args.rules else GENEROUS_RULES, not args.no_compute, log)
    finally:
        for p in work.glob("load*"):
            p.unlink(missing_ok=True)
    w = fig["writes"]
    lines = [
        f"{args.clients} clients x {args.duration:.0f} s, think {think[0]}-{think[1]} s, size {args.size}, "
        f"reads 70 % / kudos 15 % / votes 15 %, `resonance compute` submitted as a server job at the start",
        f"requests {fig['requests']:,} ({fig['reads']:,} reads), {fig['rps']} req/s; latency p50 {fig['p50_ms']} ms, "
        f"p95 {fig['p95_ms']} ms, p99 {fig['p99_ms']} ms, max {fig['max_ms']} ms; errors {fig['errors']}",
        f"outcomes {fig['outcomes']}; statuses {fig['statuses']}",
        f"kudos: {w['kudos_acknowledged']} acknowledged ({w['kudos_created']} new, the rest already given), "
        f"{w['kudos_rows']} rows, {w['kudos_events']} events, {w['kudos_audit']} audit rows",
        f"votes: {w['votes_acknowledged']} acknowledged ({w['votes_changed']} changed), {w['vote_events']} events, "
        f"{w['vote_audit']} audit rows, {w['votes_wrong_value']} with a value other than the last acknowledged",
        f"refused by the kudos rules: {w['refused']}; every write stored exactly once: {w['exactly_once']}",
        f"compute job: exit {fig['compute'].get('exit_code')}, {fig['compute'].get('seconds')} s, of which "
        f"{fig['compute'].get('overlap_s')} s during the load (jobs {fig['jobs']}); "
        f"server CPU {fig['server_cpu_ms_per_request']} ms per request, peak RSS {fig['server_rss_mb']} MB",
    ]
    for name, e in fig["endpoints"].items():
        lines.append(f"  {name:30s}: {e['requests']:6,} req, p50 {e['p50_ms']} ms, p95 {e['p95_ms']} ms, "
                     f"p99 {e['p99_ms']} ms, errors {e['errors']}, {e['outcomes']}")
    if fig["error_samples"]:
        lines.append("error samples: " + "; ".join(fig["error_samples"]))
    if args.json:
        print(json.dumps(fig, sort_keys=True, default=str))
    else:
        print("\n".join(lines))
    if not args.no_append:
        cmd = f"python benchmarks/load.py --size {args.size} --clients {args.clients} --duration {args.duration:.0f}"
        append_results("load: reads, kudos and votes during a compute",
                       f"`{cmd}` on {described}.\n\n```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
