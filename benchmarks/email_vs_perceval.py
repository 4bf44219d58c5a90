"""E-mail connector vs Perceval's mbox backend, on the same mbox, messages per second.

    python benchmarks/email_vs_perceval.py [--mbox PATH] [--repeat 3] [--no-append]

Both read the same (gzip) mbox from disk and parse every message: Perceval with
`perceval.backends.core.mbox.MBox(...).fetch()` (headers + decoded body per message),
Resonance with the `email` connector's `read()` (Arrow batches of items, events and
profiles: what the store loads). Each side runs once to warm up, then `--repeat`
times alternately; the best run of each counts. The full ingest into a DuckDB file
(loader, idempotency anti-join, people) is timed too and reported separately.
Needs `pip install perceval` (the `bench` extra). Appends to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
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
                  email_source._PARAM_CACHE):
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


def best_of(fn, repeat: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    best, n = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - start)
    return best, n


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
        p_time = r_time = float("inf")
        p_n = r_n = 0
        for _ in range(args.repeat):  # alternate, so machine noise hits both alike
            t, p_n = best_of(lambda: run_perceval(folder), 1)
            p_time = min(p_time, t)
            t, r_n = best_of(lambda: run_resonance(mbox), 1)
            r_time = min(r_time, t)
        i_time, i_n = best_of(lambda: run_ingest_store(mbox, Path(tmp) / "bench.duckdb"), args.repeat)

    p_rate, r_rate, i_rate = p_n / p_time, r_n / r_time, i_n / i_time
    lines = [
        f"perceval mbox backend : {p_n:6d} messages in {p_time:7.3f} s = {p_rate:9,.0f} msg/s",
        f"resonance email read  : {r_n:6d} messages in {r_time:7.3f} s = {r_rate:9,.0f} msg/s",
        f"resonance full ingest : {i_n:6d} messages in {i_time:7.3f} s = {i_rate:9,.0f} msg/s (into DuckDB)",
        f"ratio read/perceval   : {r_rate / p_rate:.1f}x   (full ingest/perceval: {i_rate / p_rate:.1f}x)",
    ]
    print("\n".join(lines))
    if not args.no_append:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(f"\n## email vs Perceval — {stamp}\n\n"
                    f"Input `{args.mbox.name}` ({args.mbox.stat().st_size / 1e6:.1f} MB), best of {args.repeat}, "
                    f"Python {platform.python_version()}, {platform.machine()}.\n\n```\n"
                    + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
