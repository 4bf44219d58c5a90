"""The metrics against reality: a Stack Exchange dump and Krackhardt's high-tech managers.

- Stack Exchange (quantumcomputing, 2018): reputation is earned from up votes and
  accepted answers, so Reaction should rank people much like reputation does, and
  Eminence too (less closely: it also weighs who reacts).
- Krackhardt (1987): advice ties fed as kudos. Eminence must equal PageRank of the
  advice network (and agree with advice in-degree, the classic expert ranking), and
  the brokerage figures must equal networkx's on the same graph.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta

import networkx as nx
import pyarrow as pa
import pytest

from conftest import rows
from metrics_synth import load
from resonance.ingest import run_ingest
from resonance.metrics.pipeline import run_pipeline
from resonance.store.loader import Batch

pytestmark = pytest.mark.slow


def spearman(con, table: str, x: str, y: str, where: str = "TRUE") -> tuple[float, int]:
    """Spearman's rank correlation (average ranks for ties), computed in DuckDB."""
    rho, n = con.execute(f"""
        WITH r AS (SELECT {x} AS x, {y} AS y FROM {table} WHERE {where}),
        rk AS (
            SELECT (rank() OVER (ORDER BY x)
                    + count(*) OVER (ORDER BY x RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) / 2.0 AS rx,
                   (rank() OVER (ORDER BY y)
                    + count(*) OVER (ORDER BY y RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) / 2.0 AS ry
            FROM r)
        SELECT corr(rx, ry), count(*) FROM rk""").fetchall()[0]
    return float(rho), int(n)


def test_stackexchange_reaction_and_eminence_follow_reputation(store, data_dir):
    con = store.con
    run_ingest(con, "stackexchange", [data_dir / "stackexchange" / "quantumcomputing-2018"])
    # One window over the whole dump (2018-03 .. 2018-09), like the reputation it is compared with.
    summary = run_pipeline(con, periods=["r365:2018-12-31"])
    assert summary["periods"] == 1
    con.execute("""
        CREATE TEMP TABLE se AS
        SELECT p.person_id, (p.extra ->> 'reputation')::DOUBLE AS reputation,
               coalesce(max(m.value) FILTER (WHERE m.metric = 'reaction'), 0) AS reaction,
               coalesce(max(m.value) FILTER (WHERE m.metric = 'eminence'), 0) AS eminence,
               p.person_id IN (SELECT i.person_id FROM items it JOIN identities i ON i.identity = it.author
                               WHERE it.kind IN ('question', 'answer')) AS poster
        FROM profiles p LEFT JOIN person_metrics m ON m.person_id = p.person_id AND m.period = 'r365:2018-12-31'
        WHERE p.source = 'stackexchange'
        GROUP BY ALL""")
    figures = {
        (metric, population): spearman(con, "se", metric, "reputation", where)
        for metric in ("reaction", "eminence")
        for population, where in (("posters", "poster"), ("reputation>=200", "reputation >= 200"),
                                  ("everyone", "TRUE"))
    }
    for (metric, population), (rho, n) in figures.items():
        print(f"Spearman({metric}, reputation) over {population} (n={n}): {rho:.3f}")
    # Users who asked or answered: the association bonus (+100 for accounts elsewhere) and
    # comment-only users blur the bottom of the ranking, so "everyone" is only printed.
    assert figures[("reaction", "posters")][0] > 0.7
    assert figures[("reaction", "reputation>=200")][0] > 0.8
    assert figures[("eminence", "posters")][0] > 0.6
    assert figures[("eminence", "reputation>=200")][0] > 0.7
    # The top of the site: the five highest reputations are all in Reaction's top ten.
    top_rep = [r[0] for r in rows(store, "SELECT person_id FROM se ORDER BY reputation DESC LIMIT 5")]
    top_reaction = {r[0] for r in rows(store, "SELECT person_id FROM se ORDER BY reaction DESC LIMIT 10")}
    assert set(top_rep) <= top_reaction


def _krackhardt(data_dir) -> tuple[list[tuple[int, int]], dict[int, tuple[str, str]]]:
    folder = data_dir / "org-networks" / "krackhardt-hightech"
    with open(folder / "Advice.csv", newline="") as f:
        ties = [(int(r["ego"]), int(r["alter"])) for r in csv.DictReader(f, delimiter=";") if r["edge"] == "1"]
    with open(folder / "Krack-High-Tec-Attributes.csv", newline="") as f:
        attrs = {int(r["ID"]): (f"Dept {r['DEPT']}", f"Level {r['LEVEL']}") for r in csv.DictReader(f, delimiter=";")}
    return [(a, b) for a, b in ties if a != b], attrs


def test_krackhardt_eminence_and_brokerage_on_the_advice_network(store, data_dir):
    ties, attrs = _krackhardt(data_dir)
    assert len(ties) == 190 and len(attrs) == 21
    key = {i: f"hr:K{i:02d}" for i in attrs}
    profiles = pa.table({
        "source": ["hr"] * 21, "native_id": [f"K{i:02d}" for i in attrs], "identities": [[key[i]] for i in attrs],
        "display_name": [f"Manager {i}" for i in attrs], "department": [attrs[i][0] for i in attrs],
        "role": [attrs[i][1] for i in attrs], "location": ["HQ"] * 21,
    })
    # "ego seeks advice from alter" becomes a kudos from ego to alter, all in March 2026.
    start = datetime(2026, 3, 2)
    events = pa.table({
        "source": ["krackhardt"] * len(ties), "native_id": [f"advice:{a}:{b}" for a, b in ties],
        "time": [start + timedelta(hours=n) for n in range(len(ties))], "actor": [key[a] for a, _ in ties],
        "verb": ["Kudos"] * len(ties), "object": [key[b] for _, b in ties], "object_type": ["person"] * len(ties),
    })
    load(store.con, Batch(events=events, profiles=profiles))
    run_pipeline(store.con, periods=["2026-03"])

    advice = nx.DiGraph()
    advice.add_nodes_from(key.values())
    advice.add_edges_from((key[a], key[b]) for a, b in ties)
    eminence = dict(rows(store, "SELECT person_id, value FROM person_metrics WHERE metric = 'eminence'"))
    pagerank = nx.pagerank(advice, alpha=0.85, tol=1e-12, max_iter=1000)
    # Every tie has the same weight (one kudos, 3 points), nobody is anonymous: Eminence is N x PageRank.
    for person, value in eminence.items():
        assert value == pytest.approx(21 * pagerank[person], abs=2e-6), person
    store.con.execute("CREATE TEMP TABLE k (person_id VARCHAR, eminence DOUBLE, indegree DOUBLE)")
    store.con.executemany("INSERT INTO k VALUES (?, ?, ?)",
                          [[p, eminence[p], advice.in_degree(p)] for p in key.values()])
    rho, _ = spearman(store.con, "k", "eminence", "indegree")
    print(f"Spearman(Eminence, advice in-degree) on Krackhardt's managers: {rho:.3f}")
    assert rho > 0.9

    # Brokerage: the undirected interaction graph (weight 2 where advice goes both ways).
    und = nx.Graph()
    for a, b in ties:
        u, v = key[a], key[b]
        und.add_edge(u, v, weight=und.get_edge_data(u, v, {"weight": 0})["weight"] + 1)
    net = {r[0]: r[1:] for r in rows(store, "SELECT person_id, partners, effective_size, burt_constraint, "
                                            "betweenness, reach2 FROM person_network")}
    betweenness = nx.betweenness_centrality(und, normalized=True)
    effective = nx.effective_size(und)
    constraint = nx.constraint(und, weight="weight")
    for person, (partners, eff, con_, btw, reach2) in net.items():
        assert partners == und.degree(person)
        assert eff == pytest.approx(effective[person], abs=1e-5)
        assert con_ == pytest.approx(constraint[person], abs=1e-5)
        assert btw == pytest.approx(betweenness[person], abs=1e-5)
        assert reach2 == len(nx.single_source_shortest_path_length(und, person, cutoff=2)) - 1
    brokers = sorted(net, key=lambda p: -net[p][3])[:3]
    print("Krackhardt brokers by betweenness:", brokers, "advice in-degree:", [advice.in_degree(p) for p in brokers])
