"""The benchmark suite at one size: ingest, compute vs floor, incremental, PageRank, dashboard under load,
peak memory, mbox vs Perceval. Prints the figures and appends them to benchmarks/RESULTS.md.

    python benchmarks/run.py --size 100k|1m|10m [--json] [--runs 3] [--skip load,networkx] [--no-append]

Sizes (AS2 events / people, one year): 100k / 1,000; 1m / 5,000; 10m / 50,000. Data comes from
`resonance generate` (cached in benchmarks/.cache/, ignored by git) ending on a Friday, so that
"one more day" is a working day. Each measurement is the median of `--runs` runs, each in a fresh
child process whose own peak RSS is recorded:

- ingest: a fresh store, the directory, then the AS2 NDJSON (all but the last day, then the last
  day): AS2 events per second;
- compute: `run_pipeline` (every metric, every period of every default type) on the store holding
  all but the last day; floor: the per-person aggregates as one hand-written DuckDB query
  (`benchmarks/compute.py`) on the same store;
- incremental: the last day ingested, then the incremental compute (only the touched periods),
  against a full recompute of the same store; the two results are compared;
- PageRank on the endorsement graph of every period (reaction pairs): Resonance's join-based
  PageRank inside DuckDB, Resonance's igraph path, and networkx (capped in time);
- dashboard: a real `resonance serve` on 127.0.0.1, 50 signed-in clients for 60 s
  (`benchmarks/loadgen.py`), p50/p95/p99 latency, requests/s, errors;
- mbox: the e-mail connector against Perceval's mbox backend on the same generated mbox.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402 - after the path to this folder
    CACHE,
    SIZES,
    SRC,
    append_results,
    copy_store,
    count_lines,
    generated,
    machine,
    median,
    proc_cpu_s,
    rss_mb,
    run_child,
    served,
    setup_accounts,
    split_last_day,
)

sys.path.insert(0, str(SRC))
WARM_PATHS = ("/me", "/api/me/metrics")
"""Opened once per user before the measured window (after the knowledge panels are ready)."""
STEPS = ("ingest", "compute", "incremental", "pagerank", "networkx", "load", "mbox")

# --- child programs (each runs in a fresh interpreter; prints one JSON line) --------------------
CHILD_INGEST = """
import json, sys, time
from resonance.ingest import run_ingest
from resonance.store import open_store
db, directory, base, day, keep = sys.argv[1:6]
store = open_store(db)
run_ingest(store.con, "directory", [directory])
t = time.perf_counter()
r1 = run_ingest(store.con, "as2", [base])
first = time.perf_counter() - t
if keep != "-":
    # A snapshot of the store before the last day (for compute and incremental), not timed.
    store.con.execute("CHECKPOINT")
    store.close()
    import shutil
    shutil.copyfile(db, keep)
    store = open_store(db)
t = time.perf_counter()
r2 = run_ingest(store.con, "as2", [day])
second = time.perf_counter() - t
events = store.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
items = store.con.execute("SELECT count(*) FROM items").fetchall()[0][0]
store.close()
print(json.dumps({"seconds": first + second, "events": events, "items": items,
                  "rejected": r1.rejected + r2.rejected}))
"""

CHILD_COMPUTE = """
import json, sys, time
from resonance.metrics.pipeline import run_pipeline
from resonance.store import open_store
db = sys.argv[1]
store = open_store(db)
t = time.perf_counter()
summary = run_pipeline(store.con)
seconds = time.perf_counter() - t
people = store.con.execute("SELECT count(*) FROM people").fetchall()[0][0]
store.close()
print(json.dumps({"seconds": seconds, "periods": summary.get("periods"), "people": people,
                  "stages": summary.get("seconds", {})}))
"""

CHILD_FLOOR = """
import json, sys, time
from compute import floor_sql
from resonance.store import open_store
db, runs = sys.argv[1], int(sys.argv[2])
store = open_store(db)
sql = floor_sql()
times = []
for _ in range(runs):
    t = time.perf_counter()
    store.con.execute(sql).fetchall()
    times.append(time.perf_counter() - t)
store.close()
print(json.dumps({"seconds": times}))
"""

CHILD_INCREMENTAL = """
import inspect, json, sys, time
from resonance.metrics import pipeline
from resonance.store import open_store
db, mode = sys.argv[1], sys.argv[2]
store = open_store(db)
params = inspect.signature(pipeline.run_pipeline).parameters
if mode == "incremental":
    if "incremental" not in params:
        store.close()
        print(json.dumps({"unavailable": "run_pipeline has no `incremental` parameter on this branch"}))
        sys.exit(0)
    t = time.perf_counter()
    summary = pipeline.run_pipeline(store.con, incremental=True)
else:
    t = time.perf_counter()
    summary = pipeline.run_pipeline(store.con)
seconds = time.perf_counter() - t
store.close()
print(json.dumps({"seconds": seconds, "periods": summary.get("periods"),
                  "summary": {k: v for k, v in summary.items() if isinstance(v, (int, float, str, list))}},
                 default=str))
"""

CHILD_COMPARE = """
import json, sys
import duckdb
a, b = sys.argv[1:3]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
out = {}
for table, cols in (("person_metrics", "period, person_id, metric, round(value, 9)"),
                    ("person_percentiles", "period, person_id, metric, peer_group, peer_key, round(percentile, 6)"),
                    ("person_persona", "period, person_id, persona")):
    q = f"SELECT {cols} FROM a.{table} EXCEPT ALL SELECT {cols} FROM b.{table}"
    r = f"SELECT {cols} FROM b.{table} EXCEPT ALL SELECT {cols} FROM a.{table}"
    n = con.execute(f"SELECT (SELECT count(*) FROM ({q})) + (SELECT count(*) FROM ({r}))").fetchall()[0][0]
    rows = con.execute(f"SELECT count(*) FROM a.{table}").fetchall()[0][0]
    out[table] = {"rows": rows, "differences": n}
print(json.dumps(out))
"""

CHILD_PAGERANK = """
import json, sys, time
import numpy as np
import pyarrow as pa
from resonance.metrics.eminence import pagerank_ibis, pagerank_igraph, slices_by
from resonance.metrics.engine import make_engine
from resonance.metrics.rules import load_rules
from resonance.store import open_store
db, networkx_cap = sys.argv[1], float(sys.argv[2])
store = open_store(db)
d = float(load_rules()["eminence"]["damping"])
# The endorsement graph of every period: reactor -> author, weighted by the credit counted after
# anti-gaming (reaction_pairs); every person taking part is a node with a uniform prior.
edges_a = store.con.sql(
    "SELECT period, reactor_id AS src, author_id AS dst, sum(counted)::DOUBLE AS weight FROM reaction_pairs "
    "WHERE counted > 0 AND reactor_id <> author_id GROUP BY ALL ORDER BY period, src, dst").to_arrow_table()
nodes_a = store.con.sql(
    "WITH e AS (SELECT period, reactor_id AS src, author_id AS dst, counted FROM reaction_pairs "
    "           WHERE counted > 0 AND reactor_id <> author_id), "
    "ids AS (SELECT period, src AS person_id FROM e UNION SELECT period, dst FROM e), "
    "ow AS (SELECT period, src AS person_id, sum(counted) AS out_w FROM e GROUP BY ALL) "
    "SELECT ids.period, ids.person_id, 1.0::DOUBLE AS t, coalesce(ow.out_w, 0)::DOUBLE AS out_w "
    "FROM ids LEFT JOIN ow USING (period, person_id) ORDER BY 1, 2").to_arrow_table()
engine = make_engine(store.con, "duckdb")
nodes = engine.upload(nodes_a, "bench_nodes")
edges = engine.upload(edges_a, "bench_edges")
out = {"periods": len(set(nodes_a.column("period").to_pylist())), "nodes": nodes_a.num_rows,
       "edges": edges_a.num_rows}
largest = max((s.num_rows, p) for p, s in slices_by(nodes_a, "period"))
out["largest_period"] = {"period": largest[1], "nodes": largest[0],
                         "edges": sum(1 for p in edges_a.column("period").to_pylist() if p == largest[1])}
t = time.perf_counter()
ranks_ibis = engine.to_arrow(pagerank_ibis(engine, nodes, edges, d))
out["pagerank_s"] = time.perf_counter() - t
t = time.perf_counter()
ranks_ig = engine.to_arrow(pagerank_igraph(engine, nodes, edges, d))
out["pagerank_igraph_s"] = time.perf_counter() - t

def normalised(tab):
    # Both are probability vectors per period up to the normalisation each one uses.
    tab = tab.sort_by([("period", "ascending"), ("person_id", "ascending")])
    vals = {}
    for p, s in slices_by(tab, "period"):
        r = s.column("rank").to_numpy()
        vals[p] = (s.column("person_id").to_pylist(), r / r.sum())
    return vals

a, b = normalised(ranks_ibis), normalised(ranks_ig)
out["max_abs_diff_ibis_igraph"] = max(float(np.abs(a[p][1] - b[p][1]).max()) for p in a)
if networkx_cap > 0:
    import networkx as nx
    edge_slices = dict(slices_by(edges_a, "period"))
    t = time.perf_counter()
    done = 0
    diff = 0.0
    for p, s in slices_by(nodes_a, "period"):
        g = nx.DiGraph()
        g.add_nodes_from(s.column("person_id").to_pylist())
        e = edge_slices.get(p)
        if e is not None:
            g.add_weighted_edges_from(zip(e.column("src").to_pylist(), e.column("dst").to_pylist(),
                                          e.column("weight").to_pylist(), strict=True))
        pr = nx.pagerank(g, alpha=d, weight="weight", tol=1e-10, max_iter=1000)
        names, ref = b[p]
        diff = max(diff, float(np.abs(np.array([pr[n] for n in names]) - ref).max()))
        done += 1
        if time.perf_counter() - t > networkx_cap:
            break
    elapsed = time.perf_counter() - t
    out["networkx_periods"] = done
    out["pagerank_networkx_s"] = elapsed if done == out["periods"] else None
    out["pagerank_networkx_partial_s"] = elapsed
    out["max_abs_diff_networkx_igraph"] = diff
engine.close()
store.close()
print(json.dumps(out))
"""

# --- the steps ----------------------------------------------------------------------------------
def drop(*stores: Path) -> None:
    """Delete a step's store copies (and WAL) as soon as it is done: at 10M each is about 4 GB, and DuckDB's
    spill files need the room (a full recompute once stopped on a full disk)."""
    for db in stores:
        for suffix in ("", ".wal"):
            Path(str(db) + suffix).unlink(missing_ok=True)


class Bench:
    def __init__(self, size: str, runs: int, work: Path, log: Any) -> None:
        self.size, self.runs, self.work, self.log = size, runs, work, log
        self.data = generated(size, log=log)
        self.base, self.day, self.last_day = split_last_day(self.data)
        # Beside the data: regenerating the data removes them.
        self.base_store = self.data / "base.duckdb"
        """The store before the last day (ingested once; copied for every compute)."""
        self.computed_store = self.data / "computed.duckdb"
        """The base store after a full compute (for PageRank and the dashboard)."""
        self.fig: dict[str, Any] = {"size": size, "runs": runs}

    def ingest(self) -> None:
        n_as2 = count_lines(self.base) + count_lines(self.day)
        rates, rss, secs = [], [], []
        for k in range(self.runs):
            db = self.work / f"ingest-{k}.duckdb"
            keep = str(self.base_store) if (k == 0 and not self.base_store.exists()) else "-"
            r = run_child(CHILD_INGEST, str(db), str(self.data / "directory.csv"), str(self.base), str(self.day), keep)
            db.unlink(missing_ok=True)
            Path(str(db) + ".wal").unlink(missing_ok=True)
            rates.append(n_as2 / r.out["seconds"])
            secs.append(r.out["seconds"])
            rss.append(r.peak_rss_mb)
            self.fig.update(events=r.out["events"], items=r.out["items"], ingest_rejected=r.out["rejected"])
            self.log(f"  ingest run {k + 1}: {n_as2:,} AS2 lines in {r.out['seconds']:.1f} s = "
                     f"{n_as2 / r.out['seconds']:,.0f} events/s, peak RSS {r.peak_rss_mb:,.0f} MB")
        self.fig.update(as2_lines=n_as2, events_per_s=round(median(rates)), ingest_s=round(median(secs), 2),
                        ingest_runs_s=[round(s, 2) for s in secs], peak_rss_ingest_mb=round(max(rss)))

    def _ensure_base(self) -> None:
        if not self.base_store.exists():
            db = self.work / "base-build.duckdb"
            run_child(CHILD_INGEST, str(db), str(self.data / "directory.csv"), str(self.base), str(self.day),
                      str(self.base_store))
            db.unlink(missing_ok=True)

    def compute(self) -> None:
        self._ensure_base()
        db = copy_store(self.base_store, self.work / "compute.duckdb")
        times, rss, stages = [], [], []
        for k in range(self.runs):
            r = run_child(CHILD_COMPUTE, str(db))
            times.append(r.out["seconds"])
            rss.append(r.peak_rss_mb)
            stages.append(r.out["stages"])
            self.fig.update(periods=r.out["periods"], people=r.out["people"])
            self.log(f"  compute run {k + 1}: {r.out['seconds']:.1f} s, peak RSS {r.peak_rss_mb:,.0f} MB")
        floor = run_child(CHILD_FLOOR, str(db), str(self.runs)).out["seconds"]
        self.log(f"  floor: {', '.join(f'{s:.2f}' for s in floor)} s")
        self.fig.update(
            compute_s=round(median(times), 2), compute_runs_s=[round(t, 2) for t in times],
            floor_s=round(median(floor), 3), floor_runs_s=[round(t, 3) for t in floor],
            peak_rss_compute_mb=round(max(rss)),
            compute_stages_s={k: round(median([s.get(k, 0.0) for s in stages]), 2) for k in stages[-1]},
        )
        self.fig["compute_over_floor"] = round(self.fig["compute_s"] / self.fig["floor_s"], 1)
        shutil.move(db, self.computed_store)

    def incremental(self) -> None:
        self._ensure_computed()
        # The store as computed before the last day, plus the last day's events.
        inc = copy_store(self.computed_store, self.work / "incremental.duckdb")
        run_child("""
import sys
from resonance.ingest import run_ingest
from resonance.store import open_store
s = open_store(sys.argv[1]); run_ingest(s.con, "as2", [sys.argv[2]]); s.con.execute("CHECKPOINT"); s.close()
print("{}")""", str(inc), str(self.day))
        day_events = count_lines(self.day)
        after_day = self.work / "after-day.duckdb"
        shutil.move(inc, after_day)  # the copy is not needed again: one store less on the disk (4 GB at 10M)
        incs, full = [], None
        for k in range(self.runs):
            db = copy_store(after_day, self.work / f"inc-{k}.duckdb")
            r = run_child(CHILD_INCREMENTAL, str(db), "incremental")
            if "unavailable" in r.out:
                self.fig.update(incremental_s=None, incremental_speedup=None,
                                incremental_note=r.out["unavailable"])
                self.log(f"  incremental: unavailable ({r.out['unavailable']})")
                return
            incs.append(r.out["seconds"])
            self.fig["incremental_mode"] = r.out["summary"].get("mode")
            if r.out["summary"].get("full_reason"):
                self.fig["incremental_full_reason"] = r.out["summary"]["full_reason"]
            self.log(f"  incremental run {k + 1}: {r.out['seconds']:.2f} s ({day_events:,} new events)")
            if k < self.runs - 1:
                db.unlink()
        last_inc = db
        r = run_child(CHILD_INCREMENTAL, str(after_day), "full")
        full = r.out["seconds"]
        self.log(f"  full recompute after the day: {full:.1f} s")
        diff = run_child(CHILD_COMPARE, str(last_inc), str(after_day)).out
        self.fig.update(incremental_s=round(median(incs), 2), incremental_runs_s=[round(t, 2) for t in incs],
                        full_recompute_s=round(full, 2), incremental_speedup=round(full / median(incs), 1),
                        incremental_day_events=day_events, incremental_day=self.last_day.isoformat(),
                        incremental_equals_full=all(v["differences"] == 0 for v in diff.values()),
                        incremental_diff=diff)
        drop(last_inc, after_day)

    def _ensure_computed(self) -> None:
        if not self.computed_store.exists():
            self._ensure_base()
            db = copy_store(self.base_store, self.work / "compute.duckdb")
            run_child(CHILD_COMPUTE, str(db))
            shutil.move(db, self.computed_store)

    def pagerank(self, networkx_cap: float) -> None:
        self._ensure_computed()
        db = copy_store(self.computed_store, self.work / "pagerank.duckdb")
        r = run_child(CHILD_PAGERANK, str(db), str(networkx_cap)).out
        drop(db)
        self.log(f"  pagerank on {r['periods']} period graphs ({r['nodes']:,} nodes, {r['edges']:,} edges): "
                 f"resonance (DuckDB) {r['pagerank_s']:.2f} s, igraph {r['pagerank_igraph_s']:.2f} s"
                 + (f", networkx {r.get('pagerank_networkx_partial_s', 0):.2f} s for {r.get('networkx_periods')} "
                    "periods" if networkx_cap > 0 else ""))
        self.fig.update({k: (round(v, 3) if isinstance(v, float) and k.endswith("_s") else v) for k, v in r.items()
                         if k not in ("periods", "nodes", "edges")})
        self.fig["pagerank_graph"] = {"periods": r["periods"], "nodes": r["nodes"], "edges": r["edges"]}
        if networkx_cap <= 0:
            self.fig.update(pagerank_networkx_s=None, pagerank_networkx_note="skipped")
        elif r.get("pagerank_networkx_s") is None:
            self.fig["pagerank_networkx_note"] = (f"stopped after {networkx_cap:.0f} s: {r['networkx_periods']} of "
                                                  f"{r['periods']} periods")

    def load(self, clients: int, duration: float, think: tuple[float, float], ramp: float | None) -> None:
        from loadgen import World, dashboard_read, run_load

        self._ensure_computed()
        db = copy_store(self.computed_store, self.work / "serve.duckdb")
        setup = setup_accounts(db, clients)
        accounts = [tuple(a) for a in setup["accounts"]]
        world = World(setup["receivers"], setup["items"], setup["periods"])
        with served(db) as (url, proc):
            cpu0: float | None = None

            def measuring() -> None:
                nonlocal cpu0
                cpu0 = proc_cpu_s(proc.pid)

            report = run_load(url, accounts, world, dashboard_read, duration_s=duration, think=think,
                              warm_paths=WARM_PATHS, on_start=measuring, ramp_s=ramp)
            cpu1 = proc_cpu_s(proc.pid)
            server_rss = rss_mb(proc.pid)
        drop(db)
        f = report.figures()
        self.fig.update(p50_ms=f["p50_ms"], p95_ms=f["p95_ms"], p99_ms=f["p99_ms"], rps=f["rps"],
                        errors=f["errors"], load_requests=f["requests"], load_clients=clients,
                        load_seconds=duration, load_think_s=list(think), server_rss_mb=server_rss,
                        load_ramp_s=think[1] if ramp is None else ramp,
                        load_warm_up_s=f["warm_up_s"],
                        load_endpoints={k: {x: v[x] for x in ("requests", "p50_ms", "p95_ms", "p99_ms", "errors")}
                                        for k, v in f["endpoints"].items()},
                        load_error_samples=f["error_samples"],
                        server_cpu_ms_per_request=round(1000 * (cpu1 - cpu0) / max(1, f["requests"]), 1)
                        if cpu0 is not None and cpu1 is not None else None)
        self.log(f"  dashboard: {clients} clients x {duration:.0f} s (think {think[0]}-{think[1]} s, "
                 f"starting over {self.fig['load_ramp_s']} s): "
                 f"{f['requests']:,} requests, {f['rps']} req/s, p50 {f['p50_ms']} ms, p95 {f['p95_ms']} ms, "
                 f"p99 {f['p99_ms']} ms, errors {f['errors']}")
        for name, e in sorted(f["endpoints"].items()):
            self.log(f"    {name:28s} {e['requests']:6d}  p50 {e['p50_ms']}  p95 {e['p95_ms']}  p99 {e['p99_ms']}")

    def mbox(self) -> None:
        try:
            import perceval  # noqa: F401
        except ImportError:
            self.fig.update(mbox_msgs_per_s=None, perceval_msgs_per_s=None,
                            mbox_note="perceval is not installed (pip install -e '.[bench]')")
            return
        from email_vs_perceval import run_perceval, run_resonance, timed

        data = generated("100k", formats="email", people=300, events=1)
        src = data / "mail.mbox"
        folder = self.work / "mbox"
        folder.mkdir(exist_ok=True)
        shutil.copyfile(src, folder / "mail.mbox")
        mbox = folder / "mail.mbox"
        run_perceval(folder), run_resonance(mbox)  # warm up
        p_rates, r_rates = [], []
        n_p = n_r = 0
        for _ in range(self.runs):  # alternate, so machine noise hits both alike
            w, _, n_p = timed(lambda: run_perceval(folder))
            p_rates.append(n_p / w)
            w, _, n_r = timed(lambda: run_resonance(mbox))
            r_rates.append(n_r / w)
        self.fig.update(mbox_messages=n_r, perceval_messages=n_p, mbox_msgs_per_s=round(median(r_rates)),
                        perceval_msgs_per_s=round(median(p_rates)),
                        mbox_over_perceval=round(median(r_rates) / median(p_rates), 1))
        self.log(f"  mbox ({n_r:,} messages, {src.stat().st_size / 1e6:.1f} MB): resonance "
                 f"{self.fig['mbox_msgs_per_s']:,} msg/s, perceval {self.fig['perceval_msgs_per_s']:,} msg/s")


# --- output -------------------------------------------------------------------------------------
def summary_lines(fig: dict[str, Any]) -> list[str]:
    def g(key: str, fmt: str = "{}") -> str:
        v = fig.get(key)
        return "n/a" if v is None else fmt.format(v)

    errors = [f"{k[:-6]} failed: {v.splitlines()[-1] if v else v}" for k, v in sorted(fig.items())
              if k.endswith("_error")]
    lines = errors + [
        f"size {fig['size']}: {g('events', '{:,}')} events, {g('items', '{:,}')} items, {g('people', '{:,}')} people, "
        f"{g('periods')} periods; median of {fig['runs']} runs",
        f"ingest AS2      : {g('events_per_s', '{:,}')} events/s ({g('as2_lines', '{:,}')} lines in "
        f"{g('ingest_s')} s), peak RSS {g('peak_rss_ingest_mb', '{:,}')} MB",
        f"compute         : {g('compute_s')} s, floor {g('floor_s')} s, compute/floor {g('compute_over_floor')}, "
        f"peak RSS {g('peak_rss_compute_mb', '{:,}')} MB",
    ]
    if fig.get("compute_stages_s"):
        lines.append("  stages (s)    : " + ", ".join(f"{k} {v}" for k, v in fig["compute_stages_s"].items()))
    if "incremental_s" in fig or "incremental_note" in fig:
        if fig.get("incremental_s") is not None:
            lines.append(f"incremental     : one more day ({g('incremental_day_events', '{:,}')} events, "
                         f"{g('incremental_day')}) {g('incremental_s')} s vs full recompute "
                         f"{g('full_recompute_s')} s = {g('incremental_speedup')}x; mode {g('incremental_mode')}, "
                         f"equal to full: {g('incremental_equals_full')}")
        else:
            lines.append(f"incremental     : n/a ({fig.get('incremental_note')})")
    if "pagerank_s" in fig:
        graph = fig.get("pagerank_graph", {})
        lines.append(
            f"pagerank        : {graph.get('periods')} period graphs, {graph.get('nodes', 0):,} nodes, "
            f"{graph.get('edges', 0):,} edges: resonance in DuckDB {g('pagerank_s')} s, igraph "
            f"{g('pagerank_igraph_s')} s, networkx {g('pagerank_networkx_s')} s"
            + (f" ({fig['pagerank_networkx_note']})" if fig.get("pagerank_networkx_note") else ""))
    if "p95_ms" in fig:
        lines.append(
            f"dashboard load  : {g('load_clients')} clients x {g('load_seconds')} s, think "
            f"{fig['load_think_s'][0]}-{fig['load_think_s'][1]} s, clients starting over {g('load_ramp_s')} s: "
            f"{g('load_requests', '{:,}')} requests, "
            f"{g('rps')} req/s, p50 {g('p50_ms')} ms, p95 {g('p95_ms')} ms, p99 {g('p99_ms')} ms, errors "
            f"{g('errors')}; server CPU {g('server_cpu_ms_per_request')} ms per request, peak RSS "
            f"{g('server_rss_mb', '{:,}')} MB")
        for name, e in fig.get("load_endpoints", {}).items():
            lines.append(f"  {name:30s}: {e['requests']:6,} req, p50 {e['p50_ms']} ms, p95 {e['p95_ms']} ms, "
                         f"p99 {e['p99_ms']} ms, errors {e['errors']}")
    if "mbox_msgs_per_s" in fig:
        lines.append(f"mbox            : {g('mbox_messages', '{:,}')} messages: resonance "
                     f"{g('mbox_msgs_per_s', '{:,}')} msg/s, perceval {g('perceval_msgs_per_s', '{:,}')} msg/s "
                     f"({g('mbox_over_perceval')}x)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="100k")
    parser.add_argument("--runs", type=int, default=3, help="Runs per measurement (the median is reported).")
    parser.add_argument("--json", action="store_true", help="Print only the JSON object on stdout.")
    parser.add_argument("--skip", default="", help=f"Comma-separated steps to skip: {', '.join(STEPS)}.")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of dashboard load.")
    parser.add_argument("--think", default="0.5,1.5",
                        help="Think time between a client's requests, min,max seconds (0,0: back to back).")
    parser.add_argument("--ramp", type=float, default=None,
                        help="Seconds over which the clients start (default: one think time, as locust's spawn "
                             "rate; 0: all at once).")
    parser.add_argument("--networkx-cap", type=float, default=None,
                        help="Seconds networkx may run (default: 600 at 100k, 120 above).")
    parser.add_argument("--no-append", action="store_true", help="Do not append to benchmarks/RESULTS.md.")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - set(STEPS)
    if unknown:
        parser.error(f"unknown steps to skip: {', '.join(sorted(unknown))}")
    think = tuple(float(x) for x in args.think.split(","))
    out = sys.stderr if args.json else sys.stdout

    def log(msg: str) -> None:
        print(msg, file=out, flush=True)

    described = machine()
    log(f"benchmark {args.size}: {described}")
    started = time.perf_counter()
    work = CACHE / f"work-{args.size}-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    cap = args.networkx_cap if args.networkx_cap is not None else (600.0 if args.size == "100k" else 120.0)
    try:
        bench = Bench(args.size, args.runs, work, log)
        steps = {
            "ingest": bench.ingest,
            "compute": bench.compute,
            "incremental": bench.incremental,
            "pagerank": lambda: bench.pagerank(0.0 if "networkx" in skip else cap),
            "load": lambda: bench.load(args.clients, args.duration, think, args.ramp),  # type: ignore[arg-type]
            "mbox": bench.mbox,
        }
        for name, step in steps.items():
            if name in skip:
                continue
            try:
                step()
            except Exception as exc:  # one failing step must not lose the others' figures
                bench.fig[f"{name}_error"] = f"{type(exc).__name__}: {str(exc)[-1500:]}"
                log(f"  {name} FAILED: {bench.fig[f'{name}_error']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    fig = bench.fig
    fig["peak_rss_mb"] = {"ingest": fig.get("peak_rss_ingest_mb"), "compute": fig.get("peak_rss_compute_mb")}
    fig["machine"] = described
    fig["wall_s"] = round(time.perf_counter() - started)
    lines = summary_lines(fig)
    if args.json:
        print(json.dumps(fig, sort_keys=True))
    else:
        print("\n".join(lines))
    if not args.no_append:
        cmd = f"python benchmarks/run.py --size {args.size} --runs {args.runs}" + (f" --skip {args.skip}"
                                                                                     if args.skip else "")
        append_results(f"benchmark suite {args.size}",
                       f"`{cmd}` on {described}; {fig['wall_s']} s in all.\n\n```\n" + "\n".join(lines)
                       + "\n```\n\n<details><summary>JSON</summary>\n\n```json\n"
                       + json.dumps(fig, sort_keys=True) + "\n```\n</details>\n")


if __name__ == "__main__":
    main()
