"""Synthetic-company generator: speed and peak memory at scale, and the demo's set-up time.

Two measurements, each in a fresh child process so that peak RSS is the
generator's alone:
1. `--events` AS2 events (default 1M) for `--people` people over `--days` days:
   seconds, events per second, MB written, peak RSS.
2. `--demo`: the `resonance demo` size (2,000 people, one year, every format):
   generation seconds, then ingest seconds of every format whose connector exists.
Appends to benchmarks/RESULTS.md unless `--no-append`.

    python benchmarks/generate.py --events 1000000
    python benchmarks/generate.py --events 10000000 --people 100000 --demo
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from resonance.generate import FORMATS  # noqa: E402 - after the path to this checkout

CHILD_GENERATE = """
import json, sys, time
from resonance.generate import GenerateOptions, generate
opts = json.loads(sys.argv[1])
t = time.perf_counter()
m = generate(GenerateOptions(people=opts["people"], days=opts["days"], events=opts["events"],
                             formats=tuple(opts["formats"])), opts["out"])
print(json.dumps({"seconds": time.perf_counter() - t, "files": m["files"]}))
"""

CHILD_INGEST = """
import json, sys, time
from pathlib import Path
from resonance.demo import INGEST_ORDER, connector_options
from resonance.generate import OUTPUTS
from resonance.ingest import run_ingest
from resonance.sources import registry
from resonance.store import open_store
out = Path(sys.argv[1]); manifest = json.loads((out / "manifest.json").read_text())
store = open_store(out / "bench.duckdb")
result = {}
for kind in INGEST_ORDER:
    path = out / OUTPUTS[kind][0]
    if kind not in registry() or not path.exists():
        continue
    opts = connector_options(registry()[kind].option_help, manifest, out)
    t = time.perf_counter()
    r = run_ingest(store.con, kind, [path], opts)
    result[kind] = {"seconds": time.perf_counter() - t, "ingested": r.ingested, "rejected": r.rejected}
store.close()
print(json.dumps(result))
"""


def child(code: str, *args: str) -> tuple[dict, float, float]:
    """Run `code` in a fresh interpreter; returns its JSON output, its peak RSS in MB and its CPU seconds
    (user + system: on a shared machine CPU time says more than wall time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss is the largest child so far: the generation child runs first, so this is its peak.
    return json.loads(proc.stdout.strip().splitlines()[-1]), after.ru_maxrss / 1024, cpu


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--demo", action="store_true", help="Also time generate + ingest at the demo size.")
    parser.add_argument("--no-append", action="store_true", help="Do not append to benchmarks/RESULTS.md.")
    args = parser.parse_args()

    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="resonance-gen-") as tmp:
        out = Path(tmp) / "scale"
        opts = {"people": args.people, "days": args.days, "events": args.events, "formats": ["as2"],
                "out": str(out)}
        load = os.getloadavg()[0]
        result, rss, cpu = child(CHILD_GENERATE, json.dumps(opts))
        events = result["files"]["activity.ndjson"]["records"]
        lines.append(
            f"AS2 {events:,} events, {args.people:,} people, {args.days} days: {result['seconds']:.1f} s wall, "
            f"{cpu:.1f} s CPU, {events / result['seconds']:,.0f} events/s, {size_mb(out):,.0f} MB written, "
            f"peak RSS {rss:,.0f} MB (load average {load:.1f})"
        )
        print(lines[-1], flush=True)
    if args.demo:
        with tempfile.TemporaryDirectory(prefix="resonance-demo-") as tmp:
            out = Path(tmp) / "demo"
            opts = {"people": 2000, "days": 365, "events": None, "formats": list(FORMATS), "out": str(out)}
            load = os.getloadavg()[0]
            gen, _, gen_cpu = child(CHILD_GENERATE, json.dumps(opts))
            files = ", ".join(f"{k} {v.get('records', 0):,}" for k, v in gen["files"].items())
            lines.append(f"demo size generate (2,000 people, 365 days, {', '.join(FORMATS)}): "
                         f"{gen['seconds']:.1f} s wall, {gen_cpu:.1f} s CPU, {size_mb(out):,.0f} MB ({files}) "
                         f"(load average {load:.1f})")
            print(lines[-1], flush=True)
            started = time.perf_counter()
            ing, _, ing_cpu = child(CHILD_INGEST, str(out))
            total = time.perf_counter() - started
            detail = ", ".join(f"{k} {v['seconds']:.1f} s ({v['ingested']:,} rows, {v['rejected']} rejected)"
                               for k, v in ing.items())
            lines.append(f"demo size ingest: {total:.1f} s wall, {ing_cpu:.1f} s CPU incl. start-up; {detail}")
            print(lines[-1], flush=True)
    if not args.no_append:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(f"\n## generator — {stamp}\n\nPython {platform.python_version()}, {platform.machine()}, "
                    f"{os.cpu_count()} CPUs (shared).\n\n```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
