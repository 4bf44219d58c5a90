"""Ingest speed of the stackexchange, csv and directory connectors on real data, records per second.

    python benchmarks/connectors.py [--data ../shared/data] [--repeat 3] [--json] [--no-append]

Workloads (the shared public data, read from disk):
- `stackexchange`: the whole quantumcomputing-2018 dump folder (every XML row of
  every file is a record);
- `csv`: all 21,635 Enron messages (messages-with-recipients.tsv, multi-valued
  recipients, RFC 2822 dates);
- `directory`: Enron's employees.tsv (156 rows; start-up cost dominates);
- `csv x10`: the Enron messages ten times over (ids suffixed, 216,350 rows), to show
  throughput once fixed costs are amortised (`--scale` changes the factor).

For each, two figures, median and best of `--repeat` runs after one warm-up:
- `parse`: the connector alone (`Source.read()` -> Arrow batches), input records/s;
- `ingest`: `run_ingest` into a fresh DuckDB file (loader, idempotency, people), input records/s.
Appends a section to benchmarks/RESULTS.md unless `--no-append`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DEFAULT_DATA = ROOT.parent / "shared" / "data"
if not DEFAULT_DATA.exists():
    DEFAULT_DATA = Path("/work/shared/data")

ENRON_CSV = {"header": "false", "source": "enron",
             "column_map": {"id": "1", "time": "3", "actor": "4", "to": "5", "title": "6"},
             "constants": {"verb": "Create", "object_kind": "message"}}
ENRON_DIRECTORY = {"header": "false", "id_prefix": "enron",
                   "column_map": {"id": "1", "name": "2", "role": "3", "department": "4", "title": "5"}}


def xml_records(folder: Path) -> int:
    return sum(f.read_bytes().count(b"<row ") for f in folder.glob("*.xml"))


def line_records(path: Path) -> int:
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())


def scaled(messages: Path, factor: int, out: Path) -> Path:
    """The messages `factor` times, each copy's ids suffixed so every row is new."""
    lines = messages.read_bytes().splitlines(keepends=True)
    with open(out, "wb") as f:
        for copy in range(factor):
            suffix = f"#{copy}\t".encode()
            f.writelines(line.replace(b"\t", suffix, 1) for line in lines)
    return out


def workloads(data: Path, tmp: Path, factor: int) -> list[tuple[str, str, Path, dict, int]]:
    se = data / "stackexchange" / "quantumcomputing-2018"
    messages = data / "enron" / "messages-with-recipients.tsv"
    employees = data / "enron" / "employees.tsv"
    big = scaled(messages, factor, tmp / "messages-scaled.tsv")
    return [
        ("stackexchange", "stackexchange", se, {}, xml_records(se)),
        ("csv", "csv", messages, ENRON_CSV, line_records(messages)),
        ("directory", "directory", employees, ENRON_DIRECTORY, line_records(employees)),
        (f"csv x{factor}", "csv", big, ENRON_CSV, line_records(big)),
    ]


def parse_once(kind: str, path: Path, options: dict) -> int:
    from resonance.sources import get_source

    rows = 0
    for batch in get_source(kind, **options).read(path):
        for table in (batch.events, batch.items, batch.profiles, batch.rejects):
            rows += table.num_rows if table is not None else 0
    return rows


def ingest_once(kind: str, path: Path, options: dict) -> dict:
    from resonance.ingest import run_ingest
    from resonance.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.duckdb")
        try:
            return run_ingest(store.con, kind, [path], options).as_dict()
        finally:
            store.close()


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """(median seconds, best seconds, last result) of `repeat` runs after a warm-up."""
    fn()  # warm-up: imports, page cache
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="The shared data folder.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=int, default=10, help="Copies of the Enron messages in `csv xN`.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--no-append", action="store_true", help="Do not append to benchmarks/RESULTS.md.")
    args = parser.parse_args()

    load_at_start = os.getloadavg()[0]
    results = {}
    tmp = Path(tempfile.mkdtemp(prefix="resonance-bench-"))
    for name, kind, path, options, records in workloads(args.data, tmp, args.scale):
        parse_s, parse_best, _ = timed(lambda k=kind, p=path, o=options: parse_once(k, p, o), args.repeat)
        ingest_s, ingest_best, report = timed(lambda k=kind, p=path, o=options: ingest_once(k, p, o), args.repeat)
        results[name] = {
            "input": str(path.relative_to(args.data)) if path.is_relative_to(args.data) else path.name,
            "records": records,
            "parse_s": round(parse_s, 3), "parse_records_per_s": round(records / parse_s),
            "parse_best_records_per_s": round(records / parse_best),
            "ingest_s": round(ingest_s, 3), "ingest_records_per_s": round(records / ingest_s),
            "ingest_best_records_per_s": round(records / ingest_best),
            "ingested": report["ingested"], "rejected": report["rejected"],
        }
    shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    lines = [f"{'workload':<14} {'records':>8} {'parse s':>8} {'parse rec/s':>12} {'(best)':>9} {'ingest s':>9} "
             f"{'ingest rec/s':>13} {'(best)':>9} {'ingested':>9} {'rejected':>9}"]
    for name, r in results.items():
        lines.append(f"{name:<14} {r['records']:>8,} {r['parse_s']:>8.3f} {r['parse_records_per_s']:>12,} "
                     f"{r['parse_best_records_per_s']:>9,} {r['ingest_s']:>9.3f} {r['ingest_records_per_s']:>13,} "
                     f"{r['ingest_best_records_per_s']:>9,} {r['ingested']:>9,} {r['rejected']:>9,}")
    if not args.json:
        print("\n".join(lines))
    if not args.no_append:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(
                f"\n## connectors: stackexchange, csv, directory — {stamp}\n\n"
                f"`python benchmarks/connectors.py`: median (and best) of {args.repeat} runs after a warm-up, "
                f"Python {platform.python_version()}, {platform.machine()}, {_cpus()} CPUs, load average "
                f"{load_at_start:.1f} at the start (the machine is shared: figures vary with load). "
                "Records = input records (XML rows of every dump file; lines of the TSV). "
                "`parse` = connector to Arrow batches; `ingest` = into a new DuckDB store, people included.\n\n"
                "```\n" + "\n".join(lines) + "\n```\n"
            )


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
