"""E-mail connector vs Perceval's mbox backend, on the same mbox, messages per second.

    python benchmarks/email_vs_perceval.py [--mbox PATH] [--repeat 3] [--no-append]

Both read the same (gzip) mbox from disk and parse every message: Perceval with
`perceval.backends.core.mbox.MBox(...).fetch()` (headers + decoded body per message),
Resonance with the `email` connector's `read()` (Arrow batches of items, events and
profiles: what the store loads). Each side runs once to warm up, then `--repeat`
times alternately; the best run of each counts, in wall-clock time and in CPU time
of the whole process (all threads: the connector inflates gzip in a helper thread),
so a busy shared machine cannot flatter either side. The full ingest into a DuckDB
file (loader, idempotency anti-join, people) is timed too and reported separately.
Needs `pip install perceval` (the `bench` extra). Appends to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DEFAULT_MBOX = ROOT.parent / "shared" / "data" / "mail" / "usrp-users-2019.mbox.gz"
if not DEFAULT_MBOX.exists():
    DEFAULT_MBOX = Path("/work/shared/data/mail/usrp-users-2019.mbox.gz")


def run_perceval(folder: Path) -> int:
    from perceval.backends.core.mbox import MBox

    return sum(1 for _ in MBox("file://" + str(folder), str(folder)).fetch())


def run_resonance(mbox: Path) -> int:
    import resonance.sources.email as email_source

    # Start cold every run: the connector memoises repeated header values within a run.
    for cache in (email_source._ADDRESS_CACHE, email_source._LIST_CACHE, email_source._REPLY_TO_CACHE,
                  email_source._PARAM_CACHE, email_source._EXTRA_CACHE, email_source._MEDIA_TYPES):
        cache.clear()
    n = 0
    for batch in email_source.EmailSource().read(mbox):
        if batch.items is not None:
            n += batch.items.num_rows
    return n


def run_ingest_store(mbox: Path, db: Path) -> int:
    from resonance.ingest import run_ingest
    from resonance.store import open_store

    if db.exists():
        db.unlink()
    store = open_store(db)
    try:
        report = run_ingest(store.con, "email", [mbox])
        return report.counts.ingested["items"]
    finally:
        store.close()


def timed(fn) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """(wall seconds, process CPU seconds, messages) of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    n = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mbox", type=Path, default=DEFAULT_MBOX)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-append", action="store_true", help="Do not append to benchmarks/RESULTS.md.")
    args = parser.parse_args()
    try:
        import perceval  # noqa: F401
    except ImportError:
        sys.exit("Perceval is not installed: pip install perceval (or pip install -e '.[bench]')")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "mbox"
        folder.mkdir()
        shutil.copy(args.mbox, folder / args.mbox.name)
        mbox = folder / args.mbox.name
        run_perceval(folder), run_resonance(mbox)  # warm up (imports, page cache)
        p_wall = p_cpu = r_wall = r_cpu = i_wall = float("inf")
        p_n = r_n = i_n = 0
        for _ in range(args.repeat):  # alternate, so machine noise hits both alike
            w, c, p_n = timed(lambda: run_perceval(folder))
            p_wall, p_cpu = min(p_wall, w), min(p_cpu, c)
            w, c, r_n = timed(lambda: run_resonance(mbox))
            r_wall, r_cpu = min(r_wall, w), min(r_cpu, c)
            w, _, i_n = timed(lambda: run_ingest_store(mbox, Path(tmp) / "bench.duckdb"))
            i_wall = min(i_wall, w)

    lines = [
        f"perceval mbox backend : {p_n:6d} messages, best {p_wall:6.3f} s wall = {p_n / p_wall:8,.0f} msg/s, "
        f"{p_cpu:6.3f} s CPU = {p_n / p_cpu:8,.0f} msg/s",
        f"resonance email read  : {r_n:6d} messages, best {r_wall:6.3f} s wall = {r_n / r_wall:8,.0f} msg/s, "
        f"{r_cpu:6.3f} s CPU = {r_n / r_cpu:8,.0f} msg/s",
        f"resonance full ingest : {i_n:6d} messages, best {i_wall:6.3f} s wall = {i_n / i_wall:8,.0f} msg/s "
        "(into DuckDB; a Message-ID seen twice is stored once)",
        f"ratio read/perceval   : {(r_n / r_wall) / (p_n / p_wall):.1f}x wall, {(r_n / r_cpu) / (p_n / p_cpu):.1f}x CPU"
        f"   (full ingest/perceval: {(i_n / i_wall) / (p_n / p_wall):.1f}x wall)",
    ]
    print("\n".join(lines))
    if not args.no_append:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        load = f"load average {os.getloadavg()[0]:.1f} (shared 2-CPU machine)"
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(f"\n## email vs Perceval — {stamp}\n\n"
                    f"Input `{args.mbox.name}` ({args.mbox.stat().st_size / 1e6:.1f} MB), best of {args.repeat}, "
                    f"Python {platform.python_version()}, {platform.machine()}, {load}.\n\n```\n"
                    + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
