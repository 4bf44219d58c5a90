"""Network: whom a person interacts with, how far that reaches, and how it bridges.

Ties of a period (resolve.ties): reactions and kudos between two named people,
follows, mentions, message recipients and meeting co-attendance (kinds in
`network.kinds`). The person graph is undirected, an edge weighted by the
number of interactions. Per person:

- partners: distinct people interacted with;
- reach2: distinct people within two steps;
- departments / locations: distinct departments (locations) of partners other
  than the person's own;
- external_contacts: partners who are external (customers);
- effective_size: Burt's effective size n - 2t/n (n partners, t ties among them):
  the non-redundant contacts;
- burt_constraint: Burt's constraint (weighted; low = brokerage, high = closed group);
- betweenness: normalised betweenness, estimated from a deterministic sample of
  `betweenness_samples` source people (exact when the graph is smaller);
- community: Leiden community (modularity, `leiden_resolution`), labelled C1,
  C2, ... by size.

    Network = w_es * effective_size + w_d * departments + w_l * locations + w_x * external_contacts

(weights in `[network.weights]`). Counting runs in the engine; the graph
algorithms run with igraph on the aggregated person graph of each period.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from typing import Any

import ibis
import ibis.selectors as s
import igraph as ig
import numpy as np
import pyarrow as pa

from resonance.metrics.eminence import concat_or_empty, vertex_ids
from resonance.metrics.engine import Engine
from resonance.metrics.relations import dbl, rounded

GRAPH_SCHEMA = pa.schema(
    [
        ("period", pa.string()),
        ("gid", pa.int64()),
        ("reach2", pa.int64()),
        ("effective_size", pa.float64()),
        ("burt_constraint", pa.float64()),
        ("betweenness", pa.float64()),
        ("community", pa.string()),
        ("community_size", pa.int64()),
    ]
)

COMPONENTS = ("effective_size", "departments", "locations", "external_contacts")


def undirected_edges(ties_p: ibis.Table) -> ibis.Table:
    """(period, a, b, weight) with a < b: interactions between two people, both directions summed."""
    t = ties_p.select("period", a=ibis.least(ties_p.a, ties_p.b), b=ibis.greatest(ties_p.a, ties_p.b))
    return t.group_by(["period", "a", "b"]).aggregate(weight=t.count())


def partner_rows(und: ibis.Table) -> ibis.Table:
    """(period, person_id, partner_id, weight): each undirected edge from both ends."""
    return und.select("period", person_id=und.a, partner_id=und.b, weight=und.weight).union(
        und.select("period", person_id=und.b, partner_id=und.a, weight=und.weight), distinct=False
    )


def breadth(partners: ibis.Table, people: ibis.Table) -> tuple[ibis.Table, ibis.Table]:
    """Counts per person (partners, departments, locations, external_contacts) and reach rows
    (period, person_id, dimension, name, partners)."""
    them = people.select(
        _pid=people.person_id,
        _dept=people.department,
        _loc=people.location,
        _ext=people.is_external.fill_null(False),
    )
    me = people.select(_me=people.person_id, _my_dept=people.department, _my_loc=people.location)
    j = partners.left_join(them, partners.partner_id == them._pid)
    j = j.left_join(me, j.person_id == me._me)
    other_dept = ibis.ifelse(
        j._dept.notnull() & (j._my_dept.isnull() | (j._dept != j._my_dept)), j._dept, None
    )
    other_loc = ibis.ifelse(j._loc.notnull() & (j._my_loc.isnull() | (j._loc != j._my_loc)), j._loc, None)
    counts = j.group_by(["period", "person_id"]).aggregate(
        partners=j.partner_id.nunique(),
        departments=other_dept.nunique(),
        locations=other_loc.nunique(),
        external_contacts=ibis.ifelse(j._ext.fill_null(False), j.partner_id, None).nunique(),
    )
    d = j.filter(j._dept.notnull())
    by_dept = d.group_by(["period", "person_id", d._dept.name("name")]).aggregate(partners=d.count())
    loc = j.filter(j._loc.notnull())
    by_loc = loc.group_by(["period", "person_id", loc._loc.name("name")]).aggregate(partners=loc.count())
    reach = by_dept.select(
        "period",
        "person_id",
        dimension=ibis.literal("department"),
        name=by_dept.name,
        partners=by_dept.partners.cast("int64"),
    ).union(
        by_loc.select(
            "period",
            "person_id",
            dimension=ibis.literal("location"),
            name=by_loc.name,
            partners=by_loc.partners.cast("int64"),
        ),
        distinct=False,
    )
    return counts, reach


def graph_measures(
    und_by_period: Iterable[tuple[str, pa.Table]], names: pa.Array, rules: dict[str, Any]
) -> pa.Table:
    """reach2, effective size, constraint, betweenness and community per person, per period (igraph).

    `und_by_period` yields each period's (period, ga, gb, weight) rows, one period at a time (only one
    period's graph is held), people as integers numbered in person id order (`names[gid]` is the id).
    Vertices are ordered by person id and samples are chosen by a
    hash of the id, so that results do not depend on row order."""
    cfg = rules["network"]
    samples = int(cfg["betweenness_samples"])
    # Rank of each person's id hash: the betweenness sample of a period is its people with the lowest.
    keys = np.array([hashlib.md5(str(x).encode()).hexdigest() for x in names.to_pylist()])
    hash_rank = np.empty(len(keys), dtype=np.int64)
    hash_rank[np.argsort(keys, kind="stable")] = np.arange(len(keys))
    out = []
    for period, part in und_by_period:
        ga = part.column("ga").to_numpy()
        gb = part.column("gb").to_numpy()
        vertices = np.unique(np.concatenate([ga, gb]))
        ia = np.searchsorted(vertices, ga)
        ib = np.searchsorted(vertices, gb)
        n = len(vertices)
        g = ig.Graph(n=n, edges=np.column_stack([ia, ib]).tolist(), directed=False)
        weights = part.column("weight").to_numpy().astype(float)
        g.es["weight"] = weights.tolist()
        degree = np.array(g.degree(), dtype=float)
        reach2 = np.array(g.neighborhood_size(order=2), dtype=np.int64) - 1
        local_cc = np.array(g.transitivity_local_undirected(mode="zero"), dtype=float)
        effective = degree - local_cc * np.maximum(degree - 1, 0)
        constraint = np.nan_to_num(np.array(g.constraint(weights="weight"), dtype=float), nan=1.0)
        betweenness = _betweenness(g, hash_rank[vertices], samples)
        community, community_size = _communities(g, cfg)
        out.append(
            pa.table(
                {
                    "period": pa.array([period] * n, pa.string()),
                    "gid": pa.array(vertices, pa.int64()),
                    "reach2": pa.array(reach2, pa.int64()),
                    "effective_size": pa.array(effective, pa.float64()),
                    "burt_constraint": pa.array(constraint, pa.float64()),
                    "betweenness": pa.array(betweenness, pa.float64()),
                    "community": pa.array(community, pa.string()),
                    "community_size": pa.array(community_size, pa.int64()),
                }
            )
        )
    return concat_or_empty(out, GRAPH_SCHEMA)


def _betweenness(g: ig.Graph, hash_rank: np.ndarray, samples: int) -> np.ndarray:
    n = g.vcount()
    if n < 3:
        return np.zeros(n)
    if n <= samples:
        raw = np.array(g.betweenness(directed=False), dtype=float)
    else:
        # A fixed, order-independent sample of sources: the ids with the smallest hashes.
        sources = np.argsort(hash_rank, kind="stable")[:samples]
        raw = np.array(g.betweenness(directed=False, sources=sources.tolist()), dtype=float) * n / samples
    return raw / ((n - 1) * (n - 2) / 2)


def _communities(g: ig.Graph, cfg: dict[str, Any]) -> tuple[list[str], np.ndarray]:
    """Leiden communities labelled C1, C2, ... by decreasing size (ties: smallest member id first)."""
    state = random.getstate()
    random.seed(int(cfg["seed"]))
    try:
        parts = g.community_leiden(
            objective_function="modularity",
            weights="weight",
            resolution=float(cfg["leiden_resolution"]),
            n_iterations=-1,
        )
    finally:
        random.setstate(state)
    membership = np.array(parts.membership, dtype=np.int64)
    k = int(membership.max()) + 1 if len(membership) else 0
    sizes = np.bincount(membership, minlength=k)
    first = np.full(k, len(membership), dtype=np.int64)
    np.minimum.at(first, membership, np.arange(len(membership)))
    order = np.lexsort((first, -sizes))
    label = np.empty(k, dtype=np.int64)
    label[order] = np.arange(1, k + 1)
    return [f"C{x}" for x in label[membership]], sizes[membership]


def network(
    engine: Engine, ties_p: ibis.Table, people: ibis.Table, rules: dict[str, Any]
) -> tuple[ibis.Table, ibis.Table, ibis.Table, ibis.Table]:
    """(person_network rows, person_reach rows, breakdown (period, person_id, kind, value),
    partner rows (period, person_id, partner_id, weight))."""
    und = engine.materialize(undirected_edges(ties_p), "net_edges")
    partners = engine.materialize(partner_rows(und), "net_partners")
    counts, reach = breadth(partners, people)
    counts = engine.materialize(counts, "net_counts")
    ends = und.select(person_id=und.a).union(und.select(person_id=und.b), distinct=True)
    ids = vertex_ids(engine, ends)
    ia = ids.select(a=ids.person_id, ga=ids.gid)
    ib = ids.select(b=ids.person_id, gb=ids.gid)
    und_ids = und.join(ia, "a").join(ib, "b").select("period", "ga", "gb", "weight")
    names = engine.to_arrow(ids.order_by("gid").select("person_id")).column("person_id").combine_chunks()
    measures = graph_measures(engine.groups(und_ids.order_by(["period", "ga", "gb"]), "period"), names, rules)
    graph = engine.upload(measures, "net_graph").join(ids, "gid").drop("gid")
    j = counts.join(graph, ["period", "person_id"]).select(~s.endswith("_right"))
    w = {k: dbl(v) for k, v in rules["network"]["weights"].items()}
    value = (
        w["effective_size"] * j.effective_size
        + w["departments"] * j.departments
        + w["locations"] * j.locations
        + w["external_contacts"] * j.external_contacts
    )
    table = j.select(
        "period",
        "person_id",
        partners=j.partners.cast("int64"),
        reach2=j.reach2.cast("int64"),
        departments=j.departments.cast("int64"),
        locations=j.locations.cast("int64"),
        external_contacts=j.external_contacts.cast("int64"),
        effective_size=rounded(j.effective_size),
        burt_constraint=rounded(j.burt_constraint),
        betweenness=rounded(j.betweenness),
        community=j.community,
        community_size=j.community_size.cast("int64"),
        value=rounded(value),
    )
    table = engine.materialize(table, "net_table")
    parts = [
        table.select("period", "person_id", kind=ibis.literal(c), value=(w[c] * table[c]).cast("float64"))
        for c in COMPONENTS
    ]
    breakdown = parts[0]
    for p in parts[1:]:
        breakdown = breakdown.union(p, distinct=False)
    return table, reach, breakdown.filter(breakdown.value != 0), partners
