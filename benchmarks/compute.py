"""Full metrics compute on a generated company, against the floor.

For each size: `resonance generate` writes a company (directory + Activity Streams),
it is ingested into a fresh store, then timed:
- compute: `run_pipeline` (every metric, every period of every default type:
  week, month, quarter, half, r90), on DuckDB; optionally `--spark` too;
- floor: the per-person aggregates that SQL alone can express, hand-written as
  one DuckDB query over the same store and the same periods: Activity (weighted
  contributions), Reaction (self-reactions excluded, the same weights and
  diminishing returns per reactor, no anti-gaming), distinct interaction
  partners, and reactions per item. The graph algorithms (PageRank, brokerage,
  communities), anti-gaming, knowledge value, personas and percentiles have no
  floor counterpart: the ratio is what all of that costs on top of the
  aggregates.
Each compute runs in a fresh child process, so its peak RSS and CPU time are its own
(DuckDB's memory is bounded by `RESONANCE_MEMORY_LIMIT`, default 2GB; `--memory-limit`).
Prints the figures and appends them to benchmarks/RESULTS.md (unless --no-append).

    python benchmarks/compute.py                      # 100k and 1M events
    python benchmarks/compute.py --sizes 100k --spark
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

from resonance.generate import GenerateOptions, generate  # noqa: E402 - after the path to this checkout
from resonance.ingest import run_ingest  # noqa: E402
from resonance.metrics.pipeline import run_pipeline  # noqa: E402
from resonance.metrics.rules import load_rules  # noqa: E402
from resonance.store import open_store  # noqa: E402

SIZES = {"100k": (100_000, 1_000), "1m": (1_000_000, 5_000), "10m": (10_000_000, 50_000)}
"""events -> (events, people); one year of activity."""

FLOOR_SQL = """
WITH ids AS (SELECT identity, person_id FROM identities),
w_act AS (SELECT * FROM (VALUES {activity_weights}) t(kind, w)),
w_rea AS (SELECT * FROM (VALUES {reaction_weights}) t(kind, w)),
contrib AS (
    SELECT i.created AS time, a.person_id, coalesce(wa.w, {default_weight}) AS w
    FROM items i JOIN ids a ON a.identity = i.author LEFT JOIN w_act wa ON wa.kind = i.kind
    WHERE i.created IS NOT NULL
    UNION ALL
    SELECT e.time, a.person_id, coalesce(wa.w, {default_weight})
    FROM events e JOIN ids a ON a.identity = e.actor
    JOIN w_act wa ON wa.kind = CASE e.verb WHEN 'Update' THEN 'edit' WHEN 'Kudos' THEN 'kudos_given'
                                           WHEN 'Reply' THEN 'reply' END
),
react AS (
    SELECT e.time, r.person_id AS reactor, a.person_id AS author, e.object AS item_id,
           CASE e.verb WHEN 'Like' THEN 'like' WHEN 'Announce' THEN 'share' WHEN 'Add' THEN 'bookmark'
                       WHEN 'View' THEN 'read' WHEN 'Tag' THEN 'tag' WHEN 'Accept' THEN 'accept'
                       WHEN 'Reply' THEN 'reply'
                       WHEN 'Vote' THEN CASE WHEN coalesce(e.value, 1) < 0 THEN 'vote_down' ELSE 'vote_up' END
           END AS kind
    FROM events e JOIN items i ON i.item_id = e.object JOIN ids a ON a.identity = i.author
    LEFT JOIN ids r ON r.identity = e.actor
    WHERE e.object_type = 'item' AND e.verb IN ('Like', 'Announce', 'Add', 'View', 'Tag', 'Accept', 'Reply', 'Vote')
    UNION ALL
    SELECT e.time, r.person_id, a.person_id, e.ctx_item, 'kudos'
    FROM events e JOIN ids a ON a.identity = e.object JOIN ids r ON r.identity = e.actor
    WHERE e.verb = 'Kudos' AND e.object_type = 'person'
    UNION ALL
    SELECT c.created, r.person_id, a.person_id, c.parent_id, CASE WHEN c.kind = 'answer' THEN 'answer' ELSE 'reply' END
    FROM items c JOIN items p ON p.item_id = c.parent_id JOIN ids a ON a.identity = p.author
    JOIN ids r ON r.identity = c.author WHERE c.created IS NOT NULL
),
react_w AS (
    SELECT r.*, wr.w FROM react r JOIN w_rea wr USING (kind)
    WHERE (r.reactor IS NULL OR r.reactor <> r.author) AND wr.w > 0
),
periods AS (SELECT period, period_start, period_end FROM metric_periods),
activity AS (
    SELECT p.period, c.person_id, sum(c.w) AS activity
    FROM contrib c JOIN periods p ON c.time >= p.period_start AND c.time < p.period_end GROUP BY ALL
),
pairs AS (
    SELECT p.period, r.reactor, r.author, sum(r.w) AS points
    FROM react_w r JOIN periods p ON r.time >= p.period_start AND r.time < p.period_end
    WHERE r.reactor IS NOT NULL GROUP BY ALL
),
anon AS (
    SELECT p.period, r.author, sum(CASE WHEN r.w <= {c} THEN r.w ELSE sqrt({c} * r.w) END) AS credit
    FROM react_w r JOIN periods p ON r.time >= p.period_start AND r.time < p.period_end
    WHERE r.reactor IS NULL GROUP BY ALL
),
reaction AS (
    SELECT period, author AS person_id, sum(credit) AS reaction FROM (
        SELECT period, author, CASE WHEN points <= {c} THEN points ELSE sqrt({c} * points) END AS credit FROM pairs
        UNION ALL SELECT period, author, credit FROM anon) GROUP BY ALL
),
partners AS (
    SELECT period, person_id, count(DISTINCT partner) AS partners FROM (
        SELECT period, reactor AS person_id, author AS partner FROM pairs
        UNION ALL SELECT period, author, reactor FROM pairs) GROUP BY ALL
),
item_reactions AS (
    SELECT p.period, r.item_id, count(*) AS reactions
    FROM react_w r JOIN periods p ON r.time >= p.period_start AND r.time < p.period_end
    WHERE r.item_id IS NOT NULL GROUP BY ALL
)
SELECT (SELECT count(*) FROM activity) + (SELECT count(*) FROM reaction) + (SELECT count(*) FROM partners)
       + (SELECT count(*) FROM item_reactions) AS rows_out
"""


def floor_sql() -> str:
    rules = load_rules()

    def values(weights: dict[str, float]) -> str:
        return ", ".join(f"('{k}', {float(v)!r}::DOUBLE)" for k, v in weights.items())

    return FLOOR_SQL.format(
        activity_weights=values(rules["activity"]["weights"]),
        reaction_weights=values(rules["reaction"]["weights"]),
        default_weight=float(rules["activity"]["default_weight"]),
        c=float(rules["reaction"]["full_credit_per_reactor"]),
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


CHILD = """
import json, resource, sys, time
from resonance.metrics.pipeline import run_pipeline
from resonance.store import open_store
db, incremental = sys.argv[1], sys.argv[2] == "1"
store = open_store(db)
cpu, t = time.process_time(), time.perf_counter()
summary = run_pipeline(store.con, incremental=incremental)
seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
store.close()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "cpu_s": cpu, "peak_rss_mb": rss, "summary": summary}))
"""


def compute_child(db: Path, incremental: bool = False, memory_limit: str | None = None) -> dict:
    """run_pipeline in a fresh interpreter: wall and CPU seconds, its own peak RSS, the summary."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    if memory_limit:
        env["RESONANCE_MEMORY_LIMIT"] = memory_limit
    out = subprocess.run([sys.executable, "-c", CHILD, str(db), "1" if incremental else "0"], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_size(name: str, runs: int, spark: bool, workdir: Path, memory_limit: str | None = None) -> dict:
    events, people = SIZES[name]
    data = workdir / f"company-{name}"
    t = time.perf_counter()
    manifest = generate(GenerateOptions(people=people, days=365, events=events, formats=("directory", "as2")),
                        data)
    gen_s = time.perf_counter() - t
    db = workdir / f"store-{name}.duckdb"
    store = open_store(db)
    t = time.perf_counter()
    run_ingest(store.con, "directory", [data / "directory.csv"])
    run_ingest(store.con, "as2", [data / "activity.ndjson"])
    ingest_s = time.perf_counter() - t
    n_events = store.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    n_items = store.con.execute("SELECT count(*) FROM items").fetchall()[0][0]

    store.con.execute("CHECKPOINT")
    store.close()
    compute, children = [], []
    for _ in range(runs):
        child = compute_child(db, memory_limit=memory_limit)
        compute.append(child["seconds"])
        children.append(child)
    summary = children[-1]["summary"]
    # One more compute with nothing new: the incremental path finds no touched period.
    noop = compute_child(db, incremental=True, memory_limit=memory_limit)
    store = open_store(db)
    sql = floor_sql()
    floor = []
    for _ in range(runs):
        t = time.perf_counter()
        store.con.execute(sql).fetchall()
        floor.append(time.perf_counter() - t)
    result = {
        "size": name, "events": n_events, "items": n_items, "people": manifest["people"],
        "periods": summary.get("periods"), "generate_s": gen_s, "ingest_s": ingest_s,
        "compute_s": min(compute), "compute_runs": compute, "floor_s": min(floor),
        "stages": summary.get("seconds", {}), "rows": summary.get("rows", {}),
        "compute_cpu_s": min(c["cpu_s"] for c in children),
        "compute_rss_mb": max(c["peak_rss_mb"] for c in children),
        "noop_incremental_s": noop["seconds"], "noop_mode": noop["summary"].get("mode"),
    }
    result["compute_over_floor"] = result["compute_s"] / result["floor_s"]
    if spark:
        t = time.perf_counter()
        spark_summary = run_pipeline(store.con, engine="spark")
        result["spark_s"] = time.perf_counter() - t
        result["spark_stages"] = spark_summary.get("seconds", {})
    # The planted mutual-admiration ring (generator truth): how much of its members' Reaction is damped.
    ring_file = data / "truth" / "reaction_ring.csv"
    if ring_file.exists():
        result["ring"] = store.con.execute(
            f"""SELECT count(*) FILTER (WHERE damped), count(*)
                FROM reaction_pairs rp
                JOIN identities a ON a.person_id = rp.reactor_id
                JOIN identities b ON b.person_id = rp.author_id
                WHERE rp.period LIKE '%-H%'
                  AND a.identity IN (SELECT 'email:' || lower(email) FROM read_csv('{ring_file}'))
                  AND b.identity IN (SELECT 'email:' || lower(email) FROM read_csv('{ring_file}'))"""
        ).fetchall()[0]
    store.close()
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100k,1m", help="Comma-separated: 100k, 1m, 10m.")
    parser.add_argument("--runs", type=int, default=2, help="Runs of compute and floor (best is reported).")
    parser.add_argument("--spark", action="store_true", help="Also time the Spark engine (local[2]).")
    parser.add_argument("--no-append", action="store_true", help="Do not append to benchmarks/RESULTS.md.")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory limit of the compute (default 2GB).")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="resonance-bench-") as tmp:
        for size in args.sizes.split(","):
            r = run_size(size.strip(), args.runs, args.spark, Path(tmp), args.memory_limit)
            results.append(r)
            print(f"{r['size']}: {r['events']:,} events, {r['items']:,} items, {r['people']:,} people, "
                  f"{r['periods']} periods: compute {r['compute_s']:.1f} s, floor {r['floor_s']:.2f} s, "
                  f"ratio {r['compute_over_floor']:.1f}" + (f", spark {r['spark_s']:.1f} s" if "spark_s" in r else ""))
            print("  stages:", {k: round(v, 1) for k, v in r["stages"].items()})
    load = os.getloadavg()[0]
    limit = args.memory_limit or os.environ.get("RESONANCE_MEMORY_LIMIT", "2GB")
    lines = [
        f"## metrics compute — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"`python benchmarks/compute.py --sizes {args.sizes}{' --spark' if args.spark else ''}`: best of "
        f"{args.runs} runs (each compute in its own process), memory limit {limit}, "
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load:.1f} (shared machine). Compute = `run_pipeline` on DuckDB, every metric for every "
        "period of every default type; floor = Activity, Reaction (no anti-gaming), partners and reactions per "
        "item hand-written as one DuckDB query over the same periods.",
        "",
        "```",
    ]
    for r in results:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
        lines.append(
            f"{r['size']}: {r['events']:,} events / {r['items']:,} items / {r['people']:,} people, "
            f"{r['periods']} periods: compute {r['compute_s']:.1f} s, floor {r['floor_s']:.2f} s, "
            f"compute/floor {r['compute_over_floor']:.1f}; compute CPU {r['compute_cpu_s']:.1f} s; compute peak RSS "
            f"{r['compute_rss_mb']:.0f} MB; ingest {r['ingest_s']:.1f} s; incremental compute with nothing new "
            f"{r['noop_incremental_s']:.2f} s ({r['noop_mode']})"
            + (f"; spark {r['spark_s']:.1f} s" if "spark_s" in r else "")
        )
        lines.append(f"  stages (s): {stages}")
        if r.get("ring"):
            lines.append(f"  generator's planted ring: {r['ring'][0]} of {r['ring'][1]} member pairs damped "
                         "(half-year periods)")
    lines += ["```", ""]
    print("\n".join(lines))
    if not args.no_append:
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
