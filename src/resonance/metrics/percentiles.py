"""Percentiles: each metric against peers (company, department, role, location).

Peers are the internal people of the group (`people`, not external), whether or
not they were active in the period; a peer without a value has 0. The
percentile is the share of the other peers with a strictly lower value:

    percentile(p) = 100 * #{q in group, q != p : value(q) < value(p)} / (|group| - 1)

so it lies in [0, 100]: 0 for the lowest (and for everyone with nothing), 100
for the single highest; ties share the lower rank. A group of one gives 0.
"""

from __future__ import annotations

from typing import Any

import ibis

from resonance.metrics.relations import dbl, rounded


def percentiles(person_metrics: ibis.Table, people: ibis.Table, rules: dict[str, Any]) -> ibis.Table:
    """(period, person_id, metric, peer_group, peer_key, peers, percentile) for internal people.

    Every peer group in one pass: one membership row per person and group, one join, one window."""
    internal = people.filter(~people.is_external.fill_null(False))
    groups = []
    for group in rules["percentiles"]["peer_groups"]:
        key = ibis.literal("company") if group == "company" else internal[group]
        groups.append(
            internal.select(_pid=internal.person_id, peer_group=ibis.literal(group), peer_key=key.cast("string"))
        )
    members = groups[0]
    for g in groups[1:]:
        members = members.union(g, distinct=False)
    members = members.filter(members.peer_key.notnull() & (members.peer_key != ""))
    sizes = members.group_by(["peer_group", "peer_key"]).aggregate(peers=members.count())
    m = person_metrics.join(members, person_metrics.person_id == members._pid)
    m = m.join(sizes, ["peer_group", "peer_key"])
    m = m.select("period", "person_id", "metric", "value", "peer_group", "peer_key", "peers")
    keys = ["period", "metric", "peer_group", "peer_key"]
    part = ibis.window(group_by=keys, order_by="value")
    whole = ibis.window(group_by=keys)
    m = m.mutate(_rank=ibis.rank().over(part), _rows=m.count().over(whole))
    # Peers with no row have 0, below any positive value.
    lower = m._rank + ibis.ifelse(m.value > 0, m.peers - m._rows, 0)
    pct = ibis.ifelse(m.peers > 1, dbl(100.0) * lower / (m.peers - 1).cast("float64"), dbl(0.0))
    return m.select(
        "period",
        "person_id",
        "metric",
        peer_group=m.peer_group,
        peer_key=m.peer_key,
        peers=m.peers.cast("int64"),
        percentile=rounded(pct, 4),
    )
