"""AS2 NDJSON ingest: events per second, CPU seconds and peak memory, median of several runs.

Each run ingests the same file into a new store in a fresh child process (so that its peak RSS
is the ingest's alone, read with wait4), then ingests it a second time to show that a re-run
adds nothing. A profile run splits the time between parsing and mapping (for plain or gzipped NDJSON
the fast path: DuckDB's read_json in the store's connection, into a staged table) and loading
(the check, the anti-join insert and the commit); for other inputs between reading (the connector)
and loading. The data is
generated once with `resonance generate` and cached under benchmarks/.cache/ (or
$RESONANCE_BENCH_CACHE). Appends to benchmarks/RESULTS.md unless `--no-append`.

    python benchmarks/ingest.py --size 1m            # 1M events, 10k people
    python benchmarks/ingest.py --file some.ndjson   # any AS2 NDJSON file

Other scripts call `measure_as2_ingest("1m")` or `measure_as2_ingest(Path(...))`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("RESONANCE_BENCH_CACHE", ROOT / "benchmarks" / ".cache"))
SIZES = {"100k": (100_000, 1_000), "1m": (1_000_000, 10_000), "10m": (10_000_000, 50_000)}
"""Size name -> (AS2 events, people), as in issue 9."""
TARGET = 500_000

CHILD_INGEST = """
import json, resource, sys, time
from pathlib import Path
from resonance.ingest import run_ingest
from resonance.store import open_store
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
store = open_store(Path(sys.argv[2]))
c, t = cpu(), time.perf_counter()
r = run_ingest(store.con, "as2", [Path(sys.argv[1])])
out = {"seconds": time.perf_counter() - t, "cpu_s": cpu() - c, "ingested": r.ingested,
       "events": r.counts.ingested.get("events", 0), "items": r.counts.ingested.get("items", 0),
       "rejected": r.rejected}
t = time.perf_counter()
again = run_ingest(store.con, "as2", [Path(sys.argv[1])])
out.update(reingest_s=time.perf_counter() - t, reingest_added=again.ingested)
store.close()
print(json.dumps(out))
"""

CHILD_PROFILE = """
import json, resource, sys, time
from pathlib import Path
from resonance.sources import get_source
from resonance.store import open_store
from resonance.store.loader import Loader
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c, t = cpu(), time.perf_counter()
batches = list(get_source("as2").read(Path(sys.argv[1])))
read = {"read_s": time.perf_counter() - t, "read_cpu_s": cpu() - c, "batches": len(batches)}
store = open_store(Path(sys.argv[2]))
ingest_id = int(store.con.execute("SELECT nextval('ingest_run_seq')").fetchall()[0][0])
loader = Loader(store.con, ingest_id)
staged = [b.staged for b in batches if b.staged is not None]
if len(staged) == 1 == len(batches):
    # The fast path: DuckDB's read_json parses and maps the file inside the store's connection
    # (the "read" above only looked at the file); time that stage apart from check + insert + commit.
    c, t = cpu(), time.perf_counter()
    store.con.execute(staged[0].stage)
    read.update(stage_s=time.perf_counter() - t, stage_cpu_s=cpu() - c)
    c, t = cpu(), time.perf_counter()
    if loader.load_staged(staged[0], run_stage=False) is None:
        raise SystemExit("the fast path refused the file")
else:
    c, t = cpu(), time.perf_counter()
    for batch in batches:
        loader.load(batch)
read.update(load_s=time.perf_counter() - t, load_cpu_s=cpu() - c)
store.close()
print(json.dumps(read))
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _child_rss(code: str, *args: str) -> tuple[dict[str, Any], float]:
    """Run `code` in a fresh interpreter; its JSON output and the peak RSS in MB of that child alone
    (reaped with wait4: RUSAGE_CHILDREN would give the largest of all children so far)."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env())
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(err.decode(errors="replace")[-4000:])
    return json.loads(out.decode().strip().splitlines()[-1]), usage.ru_maxrss / 1024


def dataset(size: str) -> Path:
    """The AS2 NDJSON file of a size, generated once and cached."""
    events, people = SIZES[size]
    folder = CACHE / f"as2-{size}"
    ndjson = folder / "activity.ndjson"
    manifest = folder / "manifest.json"
    if not (ndjson.exists() and manifest.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "resonance", "generate", "--out", str(folder), "--people", str(people),
                        "--events", str(events), "--formats", "as2", "--seed", "42"],
                       check=True, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return ndjson


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(16 << 20):
            n += chunk.count(b"\n")
    return n


def measure_as2_ingest(path_or_size: str | Path, runs: int = 3, profile: bool = True) -> dict[str, Any]:
    """Ingest an AS2 NDJSON file (a path, or a size name: 100k, 1m, 10m) `runs` times into new stores.

    Returns `events_per_s` (median wall), `seconds` (median), `cpu_s` (median user+system CPU of the
    ingest process, all threads), `events_per_cpu_s`, `peak_rss_mb` (largest run), `reingest_s` and
    `reingest_added` (must be 0), and with `profile` the read/load split of one more run."""
    path = dataset(path_or_size) if str(path_or_size) in SIZES else Path(path_or_size)
    load_at_start = round(os.getloadavg()[0], 1)
    lines = count_lines(path)
    results, rss = [], []
    with tempfile.TemporaryDirectory(prefix="resonance-ingest-bench-") as tmp:
        for k in range(runs):
            out, peak = _child_rss(CHILD_INGEST, str(path), str(Path(tmp) / f"run{k}.duckdb"))
            results.append(out)
            rss.append(peak)
        prof = _child_rss(CHILD_PROFILE, str(path), str(Path(tmp) / "profile.duckdb"))[0] if profile else {}
    seconds = statistics.median(r["seconds"] for r in results)
    cpu = statistics.median(r["cpu_s"] for r in results)
    events = results[0]["events"]
    return {
        "file": str(path), "lines": lines, "events": events, "items": results[0]["items"],
        "rejected": results[0]["rejected"], "runs": runs,
        "seconds": round(seconds, 3), "runs_s": [round(r["seconds"], 3) for r in results],
        "events_per_s": round(events / seconds), "cpu_s": round(cpu, 3),
        "events_per_cpu_s": round(events / cpu),
        "peak_rss_mb": round(max(rss)),
        "reingest_s": round(statistics.median(r["reingest_s"] for r in results), 3),
        "reingest_added": max(r["reingest_added"] for r in results),
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in prof.items()},
        "load_average_start": load_at_start,
        "load_average": round(os.getloadavg()[0], 1),
    }


def machine() -> str:
    try:
        import duckdb
        duck = duckdb.__version__
    except ImportError:  # pragma: no cover - the venv has it
        duck = "?"
    return (f"{platform.node()} · {platform.system()} {platform.release()} · {platform.machine()} · "
            f"{os.cpu_count()} CPUs · Python {platform.python_version()} · DuckDB {duck}")


def report(fig: dict[str, Any]) -> str:
    met = "met" if fig["events_per_s"] >= TARGET else "NOT met"
    lines = [
        f"{fig['events']:,} events ({fig['items']:,} items, {fig['rejected']} rejected) from {fig['lines']:,} lines, "
        f"median of {fig['runs']}: {fig['seconds']:.2f} s wall = {fig['events_per_s']:,} events/s "
        f"(runs {', '.join(f'{s:.2f}' for s in fig['runs_s'])} s; target {TARGET:,}/s {met})",
        f"CPU (user+system, all threads): {fig['cpu_s']:.2f} s = {fig['events_per_cpu_s']:,} events per CPU-second; "
        f"peak RSS {fig['peak_rss_mb']:,} MB",
        f"re-ingest of the same file: {fig['reingest_s']:.2f} s, {fig['reingest_added']} rows added",
    ]
    if "stage_cpu_s" in fig:
        lines.append(f"profile: fast path (read_json in the store's connection): parse + map into the staged table "
                     f"{fig['stage_s']:.2f} s wall / {fig['stage_cpu_s']:.2f} s CPU; check + insert + commit "
                     f"{fig['load_s']:.2f} s wall / {fig['load_cpu_s']:.2f} s CPU")
    elif "read_cpu_s" in fig:
        lines.append(f"profile: read (connector) {fig['read_s']:.2f} s wall / {fig['read_cpu_s']:.2f} s CPU in "
                     f"{fig['batches']} batches; load (anti-join insert + commit) {fig['load_s']:.2f} s wall / "
                     f"{fig['load_cpu_s']:.2f} s CPU")
    lines.append(f"load average at the start {fig.get('load_average_start', '?')}, at the end {fig['load_average']} "
                 f"(shared machine: wall time varies with load)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1m", choices=sorted(SIZES), help="Generated size (default 1m).")
    parser.add_argument("--file", type=Path, help="Ingest this AS2 NDJSON file instead of a generated size.")
    parser.add_argument("--runs", type=int, default=3, help="Runs (the median is reported).")
    parser.add_argument("--no-profile", action="store_true", help="Skip the read/load profile run.")
    parser.add_argument("--json", action="store_true", help="Print the figures as one JSON object.")
    parser.add_argument("--no-append", action="store_true", help="Do not append to benchmarks/RESULTS.md.")
    args = parser.parse_args()
    fig = measure_as2_ingest(args.file or args.size, runs=args.runs, profile=not args.no_profile)
    text = report(fig)
    print(json.dumps(fig) if args.json else text)
    if not args.no_append:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        what = f"--file {args.file.name}" if args.file else f"--size {args.size}"
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(f"\n## AS2 ingest — {stamp}\n\n`python benchmarks/ingest.py {what}`, {machine()}.\n\n"
                    f"```\n{text}\n```\n")


if __name__ == "__main__":
    main()
