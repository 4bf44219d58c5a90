"""Spark (local mode) against DuckDB on the same generated company, from the event lake.

For each size: `resonance generate` writes a company (directory + Activity Streams), it is
ingested into a fresh store, then timed:
- export: `export_events` of the whole store to a Parquet lake partitioned by day, then
  an incremental export after one more day of events (only that day is rewritten);
- DuckDB: `run_pipeline` on the store;
- Spark: `run_pipeline(engine="spark", events_parquet=lake)` on `local[2]` (session start
  included, as `resonance compute --engine spark` pays it), results written into the store;
  the two engines' tables are compared;
- PageRank on Spark: the join-based iteration (`eminence.pagerank = "ibis"`, each
  iteration checkpointed) against igraph on the collected graph, when `--pagerank` is given.
Prints the figures and appends them to benchmarks/RESULTS.md (unless --no-append).

    python benchmarks/spark.py --sizes 100k,1m --periods month
    python benchmarks/spark.py --sizes 100k                       # every period type
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from resonance.generate import GenerateOptions, generate  # noqa: E402 - after the path to this checkout
from resonance.ingest import run_ingest  # noqa: E402
from resonance.metrics.lake import export_events  # noqa: E402
from resonance.metrics.pipeline import run_pipeline  # noqa: E402
from resonance.metrics.rules import load_rules  # noqa: E402
from resonance.store import open_store  # noqa: E402

SIZES = {"100k": (100_000, 1_000), "1m": (1_000_000, 5_000), "10m": (10_000_000, 50_000)}
"""events -> (events, people); one year of activity (the same companies as benchmarks/compute.py)."""

TABLES = {
    "person_metrics": "period, person_id, metric",
    "person_percentiles": "period, person_id, metric, peer_group",
    "person_network": "period, person_id",
    "item_value": "period, item_id",
}


def snapshot(con) -> dict[str, list[tuple]]:
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY {k}").fetchall() for t, k in TABLES.items()}


def largest_difference(a: dict, b: dict) -> float:
    worst = 0.0
    for t in TABLES:
        if len(a[t]) != len(b[t]):
            return math.inf
        for x, y in zip(a[t], b[t], strict=True):
            for u, v in zip(x, y, strict=True):
                if isinstance(u, float) and isinstance(v, float):
                    worst = max(worst, abs(u - v))
                elif u != v:
                    return math.inf
    return worst


def run_size(name: str, periods: list[str] | None, pagerank: bool, workdir: Path, session) -> dict:
    events, people = SIZES[name]
    data = workdir / f"company-{name}"
    generate(GenerateOptions(people=people, days=365, events=events, formats=("directory", "as2")), data)
    store = open_store(workdir / f"store-{name}.duckdb")
    run_ingest(store.con, "directory", [data / "directory.csv"])
    run_ingest(store.con, "as2", [data / "activity.ndjson"])
    con = store.con
    n_events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    last = con.execute("SELECT max(time) FROM events").fetchall()[0][0]
    as_of = last + timedelta(days=2)
    r: dict = {"size": name, "events": n_events, "people": people, "periods_arg": periods}

    lake = workdir / f"lake-{name}"
    t = time.perf_counter()
    first = export_events(con, lake)
    r["export_s"] = time.perf_counter() - t
    r["export_days"] = len(first.days_written)
    r["lake_mb"] = sum(p.stat().st_size for p in lake.rglob("*.parquet")) / 2**20
    # One more day of events (a copy of the last day's, a day later): only that day is written.
    con.execute(
        """INSERT INTO events SELECT source, native_id || '+1d', time + INTERVAL 1 DAY, actor, verb, object,
                  object_type, target, recipients, value, ctx_meeting, ctx_account, ctx_opportunity, ctx_item,
                  extra, 999999, ingested_at
           FROM events WHERE CAST(time AS DATE) = CAST(? AS DATE)""",
        [last],
    )
    t = time.perf_counter()
    inc = export_events(con, lake)
    r["export_one_day_s"] = time.perf_counter() - t
    r["export_one_day_days"] = len(inc.days_written)
    print(f"{name}: export {r['export_s']:.1f} s, one more day {r['export_one_day_s']:.2f} s", flush=True)

    t = time.perf_counter()
    duck = run_pipeline(con, periods=periods, as_of=as_of)
    r["duckdb_s"] = time.perf_counter() - t
    r["duckdb_stages"] = duck["seconds"]
    r["periods"] = duck["periods"]
    on_duckdb = snapshot(con)
    print(f"{name}: duckdb {r['duckdb_s']:.1f} s {duck['seconds']}", flush=True)

    t = time.perf_counter()
    sp = run_pipeline(con, engine="spark", periods=periods, as_of=as_of, events_parquet=str(lake),
                      spark_session=session)
    r["spark_s"] = time.perf_counter() - t
    r["spark_stages"] = sp["seconds"]
    r["largest_difference"] = largest_difference(on_duckdb, snapshot(con))
    print(f"{name}: spark {r['spark_s']:.1f} s {sp['seconds']}", flush=True)

    if pagerank:
        rules = load_rules()
        rules["eminence"]["pagerank"] = "ibis"
        t = time.perf_counter()
        sp2 = run_pipeline(con, engine="spark", periods=periods, as_of=as_of, events_parquet=str(lake),
                           spark_session=session, rules=rules)
        r["spark_join_pagerank_s"] = time.perf_counter() - t
        r["spark_join_pagerank_eminence_s"] = sp2["seconds"].get("eminence")
        r["join_pagerank_difference"] = largest_difference(on_duckdb, snapshot(con))
    store.close()
    shutil.rmtree(data, ignore_errors=True)
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100k,1m", help="Comma-separated: 100k, 1m, 10m.")
    parser.add_argument("--periods", default=None, help="Comma-separated period labels/types [default: all types].")
    parser.add_argument("--pagerank", action="store_true", help="Also time the join-based PageRank on Spark.")
    parser.add_argument("--no-append", action="store_true", help="Do not append to benchmarks/RESULTS.md.")
    args = parser.parse_args()
    periods = args.periods.split(",") if args.periods else None
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from resonance.metrics.engine import spark_session

    load = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory(prefix="resonance-spark-bench-") as tmp:
        t = time.perf_counter()
        session = spark_session("local[2]", warehouse=str(Path(tmp) / "warehouse"))
        session.sparkContext.setLogLevel("ERROR")
        start_s = time.perf_counter() - t
        try:
            for size in args.sizes.split(","):
                r = run_size(size.strip(), periods, args.pagerank, Path(tmp), session)
                r["session_start_s"] = start_s
                results.append(r)
                print(r, flush=True)
        finally:
            session.stop()
    lines = [
        f"## Spark (local[2]) vs DuckDB — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"`python benchmarks/spark.py --sizes {args.sizes}"
        + (f" --periods {args.periods}" if args.periods else "") + (" --pagerank" if args.pagerank else "")
        + f"`: one run each, Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load:.1f} at the start (shared machine). Spark reads the events from the Parquet lake "
        "(`export-events`), computes on `local[2]` and writes into the store; Spark's session start "
        f"({results[0]['session_start_s']:.1f} s) is not included.",
        "",
        "```",
    ]
    for r in results:
        lines.append(
            f"{r['size']}: {r['events']:,} events / {r['people']:,} people, {r['periods']} periods: "
            f"DuckDB {r['duckdb_s']:.1f} s, Spark {r['spark_s']:.1f} s (x{r['spark_s'] / r['duckdb_s']:.1f}); "
            f"largest difference {r['largest_difference']:.1e}"
        )
        lines.append(
            f"  export to the lake {r['export_s']:.1f} s ({r['export_days']} days, {r['lake_mb']:.1f} MB); "
            f"one more day {r['export_one_day_s']:.2f} s ({r['export_one_day_days']} day rewritten)"
        )
        lines.append("  duckdb stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["duckdb_stages"].items()))
        lines.append("  spark stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["spark_stages"].items()))
        if "spark_join_pagerank_s" in r:
            lines.append(
                f"  join-based PageRank on Spark: whole run {r['spark_join_pagerank_s']:.1f} s, eminence stage "
                f"{r['spark_join_pagerank_eminence_s']:.1f} s, largest difference {r['join_pagerank_difference']:.1e}"
            )
    lines += ["```", ""]
    print("\n".join(lines))
    if not args.no_append:
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
