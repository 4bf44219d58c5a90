"""Eminence: standing earned from whom you get reactions (weighted PageRank).

The endorsement graph of a period has an edge reactor -> author weighted by the
reaction credit that reactor gave that author (the same diminished, anti-gaming
damped credit as Reaction, see reaction.py), plus follower -> followed
(`eminence.follow`) and mentioner -> mentioned (`eminence.mention`). Its nodes
are everyone who took part in the period.

Anonymous reactions (Stack Exchange votes) have no reactor whose standing could
be used: they count as from an average reactor. Each node starts with a prior

    t(v) = 1 + A(v) / W_avg

where A(v) is v's anonymous reaction credit and W_avg the average total
endorsement a named reactor gives in the period: an average reactor has one
unit of standing and passes it on over W_avg points. Eminence is the PageRank
with that restart (teleport) distribution, damping d:

    r(v) = (1 - d) t(v)/Z + d * ( sum_u r(u) w(u, v) / W(u) + D t(v)/Z ),   Z = sum t

where D is the rank held by people who endorse no one (it restarts like the
surfer). It is reported as N * r(v) over the period's N nodes, so that 1.0 is
the average participant. The breakdown splits it exactly into `base` (the
restart share everyone gets), each anonymous reaction kind, and each named
endorsement kind.

Two implementations: igraph (ARPACK) on the aggregated person graph
(collected as Arrow, solved per period), and a join-based power iteration in
Ibis that runs inside DuckDB or Spark (each iteration materialised), for
person graphs too large to collect. A test checks they agree.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.selectors as s
import igraph as ig
import numpy as np
import pyarrow as pa

from resonance.metrics.engine import Engine
from resonance.metrics.reaction import diminish
from resonance.metrics.relations import dbl, rounded


def _endorsement(kind: ibis.StringValue, rules: dict[str, Any]) -> ibis.NumericValue:
    """How much a reaction kind endorses its author (1 = its full reaction credit)."""
    weights = {k: dbl(v) for k, v in rules["eminence"]["endorsement"].items()}
    return kind.substitute(weights, else_=dbl(1.0))


def endorsement_edges(
    reactions_p: ibis.Table, pairs_t: ibis.Table, endorsements_p: ibis.Table, rules: dict[str, Any]
) -> ibis.Table:
    """(period, src, dst, kind, weight): named endorsements by kind."""
    c = float(rules["reaction"]["full_credit_per_reactor"])
    named = reactions_p.filter(reactions_p.reactor_id.notnull() & (reactions_p.weight > 0))
    by_kind = named.group_by(["period", "reactor_id", "author_id", "kind"]).aggregate(
        points=named.weight.sum()
    )
    p = pairs_t.select("period", "reactor_id", "author_id", "volume", "counted")
    j = by_kind.join(p, ["period", "reactor_id", "author_id"])
    reaction_edges = j.select(
        "period",
        src=j.reactor_id,
        dst=j.author_id,
        kind=j.kind,
        weight=diminish(j.counted, c) * j.points / j.volume * _endorsement(j.kind, rules),
    )
    e = endorsements_p
    per_pair = e.group_by(["period", "source_id", "target_id", "kind"]).aggregate(n=e.count())
    kind_weight = per_pair.kind.substitute(
        {"follow": dbl(rules["eminence"]["follow"]), "mention": dbl(rules["eminence"]["mention"])},
        else_=dbl(0.0),
    )
    # A follow counts once per pair; repeated mentions have diminishing returns like reactions.
    weight = ibis.ifelse(
        per_pair.kind == "follow", kind_weight, diminish(per_pair.n.cast("float64") * kind_weight, c)
    )
    social_edges = per_pair.select(
        "period", src=per_pair.source_id, dst=per_pair.target_id, kind=per_pair.kind, weight=weight
    )
    out = reaction_edges.union(social_edges, distinct=False)
    return out.filter(out.weight > 0)


def anonymous_credit(reactions_p: ibis.Table, rules: dict[str, Any]) -> ibis.Table:
    """(period, person_id, kind, points): anonymous reaction credit per person and kind."""
    c = float(rules["reaction"]["full_credit_per_reactor"])
    a = reactions_p.filter(reactions_p.reactor_id.isnull() & (reactions_p.weight > 0))
    return a.group_by(["period", a.author_id.name("person_id"), "kind"]).aggregate(
        points=(diminish(a.weight, c) * _endorsement(a.kind, rules)).sum()
    )


def graph_inputs(
    edges_k: ibis.Table, anon_k: ibis.Table, participants: ibis.Table
) -> tuple[ibis.Table, ibis.Table]:
    """The PageRank inputs: nodes (period, person_id, t, out_w) with the unnormalised prior t, and
    edges (period, src, dst, weight) summed over kinds."""
    edges = edges_k.group_by(["period", "src", "dst"]).aggregate(weight=edges_k.weight.sum())
    out_w = edges.group_by(["period", edges.src.name("person_id")]).aggregate(out_w=edges.weight.sum())
    w_avg = out_w.group_by("period").aggregate(w_avg=out_w.out_w.mean())
    anon = anon_k.group_by(["period", "person_id"]).aggregate(anon=anon_k.points.sum())
    ids = (
        participants.select("period", "person_id")
        .union(edges.select("period", person_id=edges.src), distinct=True)
        .union(edges.select("period", person_id=edges.dst), distinct=True)
        .union(anon.select("period", "person_id"), distinct=True)
    )
    nodes = (
        ids.left_join(out_w, ["period", "person_id"])
        .select(~s.endswith("_right"))
        .left_join(anon, ["period", "person_id"])
        .select(~s.endswith("_right"))
        .left_join(w_avg, "period")
        .select(~s.endswith("_right"))
    )
    nodes = nodes.select(
        "period",
        "person_id",
        t=1.0 + nodes.anon.fill_null(0.0) / nodes.w_avg.fill_null(1.0),
        out_w=nodes.out_w.fill_null(0.0),
        w_avg=nodes.w_avg.fill_null(1.0),
    )
    return nodes, edges


def vertex_ids(engine: Engine, people: ibis.Table) -> ibis.Table:
    """(person_id, gid): the distinct people of `people.person_id` numbered 0.. in person id order, so
    that graphs are built from integers (fast, little memory) with vertices in the same order as the ids."""
    ids = people.select("person_id").distinct()
    return engine.materialize(ids.mutate(gid=ibis.row_number().over(order_by="person_id")), "vertex_ids")


def pagerank_igraph(engine: Engine, nodes: ibis.Table, edges: ibis.Table, damping: float) -> ibis.Table:
    """(period, person_id, rank): personalized PageRank per period with igraph (ARPACK).

    The aggregated graph comes as Arrow, with people as integers, the edges one period at a time
    (`Engine.groups`); vertices are ordered by person id so the result does not depend on the order
    rows arrive in."""
    ids = vertex_ids(engine, nodes)
    nid = nodes.join(ids, "person_id")
    n_tab = engine.to_arrow(nid.select("period", "gid", "t").order_by(["period", "gid"]))
    src = ids.select(src=ids.person_id, gs=ids.gid)
    dst = ids.select(dst=ids.person_id, gd=ids.gid)
    eid = edges.join(src, "src").join(dst, "dst")
    # Edges are streamed one period at a time (the largest input); periods are in the same order.
    edge_groups = engine.groups(eid.select("period", "gs", "gd", "weight").order_by(["period", "gs", "gd"]), "period")
    next_edges = next(edge_groups, None)
    out = []
    for period, n_slice in slices_by(n_tab, "period"):
        gids = n_slice.column("gid").to_numpy()
        g = ig.Graph(n=len(gids), directed=True)
        weights = None
        while next_edges is not None and next_edges[0] < period:  # edges of a period without nodes: none
            next_edges = next(edge_groups, None)
        if next_edges is not None and next_edges[0] == period:
            e_slice = next_edges[1]
            next_edges = next(edge_groups, None)
            s_idx = np.searchsorted(gids, e_slice.column("gs").to_numpy())
            d_idx = np.searchsorted(gids, e_slice.column("gd").to_numpy())
            g.add_edges(np.column_stack([s_idx, d_idx]).tolist())
            weights = e_slice.column("weight").to_numpy().tolist()
        ranks = personalized_pagerank(g, damping, weights, n_slice.column("t").to_numpy().tolist())
        out.append(
            pa.table(
                {
                    "period": n_slice.column("period"),
                    "gid": n_slice.column("gid"),
                    "rank": pa.array(ranks, pa.float64()),
                }
            )
        )
    for _ in edge_groups:  # finish the stream before the next statement on the engine
        pass
    ranked = engine.upload(concat_or_empty(out, RANK_SCHEMA), "ranks")
    ranked = ranked.join(ids, "gid")
    return engine.materialize(ranked.select("period", "person_id", "rank"), "ranks_named")


def personalized_pagerank(g: ig.Graph, damping: float, weights: list[float] | None, reset: list[float]) -> list[float]:
    """igraph's personalized PageRank with ARPACK; PRPACK when ARPACK fails. ARPACK starts from a random
    vector and now and then fails on the very same graph ("LAPACK error in tridiagonal eigenvalue
    calculation", seen by benchmarks/run.py on a recompute of an unchanged store); PRPACK solves the
    same equations directly (the results agree to about 1e-13)."""
    try:
        return g.personalized_pagerank(damping=damping, weights=weights, reset=reset, directed=True,
                                       implementation="arpack")
    except ig.InternalError:
        return g.personalized_pagerank(damping=damping, weights=weights, reset=reset, directed=True,
                                       implementation="prpack")


RANK_SCHEMA = pa.schema([("period", pa.string()), ("gid", pa.int64()), ("rank", pa.float64())])


def slices_by(table: pa.Table, column: str):
    """Yield (value, slice) for each run of equal values of `column` in a table sorted by it."""
    if table.num_rows == 0:
        return
    encoded = table.column(column).combine_chunks().dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    change = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [len(codes)]])
    for lo, hi in zip(starts, stops, strict=True):
        yield str(encoded.dictionary[int(codes[lo])].as_py()), table.slice(int(lo), int(hi - lo))


def concat_or_empty(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    if not tables:
        return schema.empty_table()
    return pa.concat_tables([t.select(schema.names).cast(schema) for t in tables])


def pagerank_ibis(
    engine: Engine,
    nodes: ibis.Table,
    edges: ibis.Table,
    damping: float,
    max_iterations: int = 100,
    tolerance: float = 1e-10,
) -> ibis.Table:
    """(period, person_id, rank): the same PageRank as a join-based power iteration in Ibis.

    Runs wherever the engine runs (DuckDB, Spark); every iteration is materialised so
    that plans stay small, and it stops when no rank moves more than `tolerance`."""
    z = nodes.group_by("period").aggregate(_z=nodes.t.sum())
    base = nodes.join(z, "period")
    base = engine.materialize(
        base.select("period", "person_id", t=base.t / base._z, dangling=base.out_w <= 0), "pr_nodes"
    )
    out_w = nodes.select(_p=nodes.period, _s=nodes.person_id, _w=nodes.out_w)
    e = edges.join(out_w, (edges.period == out_w._p) & (edges.src == out_w._s))
    e = engine.materialize(e.select("period", "src", "dst", p=e.weight / e._w), "pr_edges")
    rank = engine.materialize(base.select("period", "person_id", rank=base.t), "pr_rank")
    d = float(damping)
    checked = rank
    for i in range(1, max_iterations + 1):
        r = rank.select(_p=rank.period, _id=rank.person_id, _r=rank.rank)
        flow = e.join(r, (e.period == r._p) & (e.src == r._id))
        flow = flow.group_by(["period", flow.dst.name("person_id")]).aggregate(_f=(flow._r * flow.p).sum())
        dang = base.filter(base.dangling).join(r, (base.period == r._p) & (base.person_id == r._id))
        dang = dang.group_by("period").aggregate(_d=dang._r.sum())
        new = (
            base.left_join(flow, ["period", "person_id"])
            .select(~s.endswith("_right"))
            .left_join(dang, "period")
            .select(~s.endswith("_right"))
        )
        new = engine.materialize(
            new.select(
                "period",
                "person_id",
                rank=(1 - d) * new.t + d * (new._f.fill_null(0.0) + new._d.fill_null(0.0) * new.t),
            ),
            "pr_rank",
        )
        if rank is not checked:
            engine.release(rank)
        rank = new
        # Convergence is checked every few iterations (each check is one more query).
        if i % 5 == 0 or i == max_iterations:
            c = checked.select(_p=checked.period, _id=checked.person_id, _r=checked.rank)
            cmp = rank.join(c, (rank.period == c._p) & (rank.person_id == c._id))
            delta = engine.scalar((cmp.rank - cmp._r).abs().max())
            engine.release(checked)
            checked = rank
            # The change over 5 steps bounds the remaining error (the map contracts by d per step).
            if delta is None or delta != delta or float(delta) < tolerance:
                break
    return rank


def pagerank_method(engine: Engine, edges: ibis.Table, cfg: dict[str, Any]) -> str:
    """'igraph' or 'ibis' for `eminence.pagerank` ('auto': igraph unless the graph is too big to
    collect from a Spark cluster; DuckDB already holds everything on one machine)."""
    method = cfg["pagerank"]
    if method not in ("igraph", "ibis", "auto"):
        raise ValueError(f"eminence.pagerank must be 'igraph', 'ibis' or 'auto', not {method!r}")
    if method != "auto":
        return method
    if engine.name == "duckdb":
        return "igraph"
    n_edges = engine.scalar(edges.count())
    return "ibis" if int(n_edges or 0) > int(cfg.get("collect_max_edges", 2_000_000)) else "igraph"


def eminence(
    engine: Engine,
    reactions_p: ibis.Table,
    pairs_t: ibis.Table,
    endorsements_p: ibis.Table,
    participants: ibis.Table,
    rules: dict[str, Any],
) -> tuple[ibis.Table, ibis.Table]:
    """(values (period, person_id, value), breakdown (period, person_id, kind, value)) of Eminence."""
    cfg = rules["eminence"]
    d = float(cfg["damping"])
    edges_k = engine.materialize(endorsement_edges(reactions_p, pairs_t, endorsements_p, rules), "em_edges")
    anon_k = engine.materialize(anonymous_credit(reactions_p, rules), "em_anon")
    nodes, edges = graph_inputs(edges_k, anon_k, participants)
    nodes = engine.materialize(nodes, "em_nodes")
    edges = engine.materialize(edges, "em_edges_sum")
    method = pagerank_method(engine, edges, cfg)
    if method == "ibis":
        ranks = pagerank_ibis(engine, nodes, edges, d, int(cfg["max_iterations"]), float(cfg["tolerance"]))
    else:
        ranks = pagerank_igraph(engine, nodes, edges, d)

    # Per-period constants: N nodes, Z = sum of priors, D = rank held by nodes endorsing no one.
    nr = nodes.join(ranks, ["period", "person_id"]).select(~s.endswith("_right"))
    consts = nr.group_by("period").aggregate(
        _n=nr.count(),
        _z=nr.t.sum(),
        _dang=ibis.ifelse(nr.out_w <= 0, nr["rank"], 0.0).sum(),
        _wavg=nr.w_avg.max(),
    )
    consts = engine.materialize(consts, "em_consts")
    values = ranks.join(consts, "period")
    values = values.select("period", "person_id", value=rounded(values["rank"] * values._n))

    restart = consts.select(
        "period", _share=consts._n * ((1 - d) + d * consts._dang) / consts._z, _wavg2=consts._wavg
    )
    base_part = nodes.join(restart, "period").select(
        "period", "person_id", kind=ibis.literal("base"), value=restart._share
    )
    anon_part = anon_k.join(restart, "period")
    anon_part = anon_part.select(
        "period",
        "person_id",
        kind=anon_part.kind,
        value=anon_part._share * anon_part.points / anon_part._wavg2,
    )
    r = ranks.select(_p=ranks.period, _id=ranks.person_id, _r=ranks["rank"])
    ow = nodes.select(_p2=nodes.period, _id2=nodes.person_id, _ow=nodes.out_w)
    named = edges_k.join(r, (edges_k.period == r._p) & (edges_k.src == r._id))
    named = named.join(ow, (named.period == ow._p2) & (named.src == ow._id2))
    named = named.join(consts, "period")
    named = named.select(
        "period",
        person_id=named.dst,
        kind=named.kind,
        value=named._n * d * named._r * named.weight / named._ow,
    )
    parts = base_part.union(anon_part, distinct=False).union(named, distinct=False)
    breakdown = parts.group_by(["period", "person_id", "kind"]).aggregate(value=parts.value.sum())
    return values, breakdown
