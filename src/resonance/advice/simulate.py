"""What a change of one person's metric would do to their percentile among their real peers.

The percentile is the metrics engine's (metrics/percentiles.py):

    percentile(p) = 100 * #{q in group, q != p : value(q) < value(p)} / (|group| - 1)

over the internal people of the peer group (company, department, role or location), a peer
without a value counting 0. `simulate` evaluates it for the person's current value and for the
value plus a delta, against the other peers' actual values in the period (their values are held
fixed: only the person acts).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

import duckdb

from resonance.metrics.memo import Memo, no_memo

PEER_GROUPS = ("company", "department", "role", "location")


@dataclass(frozen=True, slots=True)
class Peers:
    group: str  # company | department | role | location
    key: str | None  # the department, role, ... (None for company)
    size: int
    includes_person: bool = True
    """False for an external person, who is compared with the group without being in it."""

    def phrase(self) -> str:
        """'among engineers', 'in Engineering', 'in the company'."""
        if self.group == "company" or not self.key:
            return "in the company"
        if self.group == "role":
            name = self.key.lower()
            return f"among {name if name.endswith('s') else name + 's'}"
        return f"in {self.key}"


def peers_of(
    con: duckdb.DuckDBPyConnection, person_id: str, preferred: str = "role", memo: Memo = no_memo
) -> Peers:
    """The peer group to compare with: `preferred` if the person has one, else department, else company."""
    row = con.execute(
        "SELECT department, role, location, coalesce(is_external, false) FROM people WHERE person_id = ?",
        [person_id],
    ).fetchall()
    attrs = dict(zip(("department", "role", "location"), row[0][:3], strict=True)) if row else {}
    external = bool(row[0][3]) if row else True
    for group in (preferred, "department", "company"):
        if group == "company":
            key = None
        else:
            key = attrs.get(group)
            if not key:
                continue
        size = memo(("advice_group_size", group, key), lambda g=group, k=key: _group_size(con, g, k))
        return Peers(group, key, size, includes_person=not external)
    raise AssertionError("unreachable")


def _group_size(con: duckdb.DuckDBPyConnection, group: str, key: str | None) -> int:
    rows = con.execute(
        f"""SELECT count(*) FROM people WHERE NOT coalesce(is_external, false)
            AND {"true" if group == "company" else group + " = ?"}""",
        [] if group == "company" else [key],
    ).fetchall()
    return int(rows[0][0])


def simulate(
    con: duckdb.DuckDBPyConnection, person_id: str, period: str, metric: str, delta: float, peers: Peers
) -> dict[str, Any]:
    """{"metric", "value", "new_value", "percentile", "new_percentile", "peers"} for value + delta."""
    where = "true" if peers.group == "company" else f"{peers.group} = ?"
    params: list[Any] = [] if peers.group == "company" else [peers.key]
    rows = con.execute(
        f"""
        WITH g AS (SELECT person_id FROM people WHERE NOT coalesce(is_external, false) AND {where}),
        v AS (
            SELECT g.person_id, coalesce(pm.value, 0)::DOUBLE AS value FROM g
            LEFT JOIN person_metrics pm ON pm.period = ? AND pm.metric = ? AND pm.person_id = g.person_id
        ),
        me AS (SELECT coalesce((SELECT value FROM person_metrics WHERE period = ? AND metric = ?
                                AND person_id = ?), 0)::DOUBLE AS value)
        -- One pass over the peers' values (three sub-queries over v scanned them three times).
        SELECT count(v.person_id), any_value(me.value),
               count(v.person_id) FILTER (WHERE v.person_id <> ? AND v.value < me.value),
               count(v.person_id) FILTER (WHERE v.person_id <> ? AND v.value < me.value + ?)
        FROM me LEFT JOIN v ON true
        """,
        [*params, period, metric, period, metric, person_id, person_id, person_id, float(delta)],
    ).fetchall()[0]
    n, value, below, below_new = int(rows[0]), float(rows[1]), int(rows[2]), int(rows[3])
    others = max(n - 1, 1)
    return {
        "metric": metric,
        "value": round(value, 4),
        "new_value": round(value + delta, 4),
        "delta": round(delta, 4),
        "percentile": round(100.0 * below / others, 1) if n > 1 else 0.0,
        "new_percentile": round(100.0 * below_new / others, 1) if n > 1 else 0.0,
        "peers": {"group": peers.group, "key": peers.key, "size": n, "phrase": peers.phrase()},
    }


class Simulator:
    """`simulate` for one person, period and peer group, many metrics and deltas: each metric's peer
    values are read once (one query, shared through `memo` by everybody in the group) and every delta is
    then a binary search, with the same result as `simulate` (advice tries several changes per metric)."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, person_id: str, period: str, peers: Peers, memo: Memo = no_memo
    ) -> None:
        self.con, self.person_id, self.period, self.peers, self.memo = con, person_id, period, peers, memo
        self._metrics: dict[str, tuple[int, float, list[float]]] = {}
        self._mine: dict[str, float] | None = None

    def _values(self, metric: str) -> tuple[int, float, list[float]]:
        """(peers counted, the person's value, every peer's value sorted, the person's own included when
        they are in the group)."""
        if metric not in self._metrics:
            peers = self.peers
            group_values = self.memo(("advice_peer_values", self.period, metric, peers.group, peers.key),
                                     lambda: _group_values(self.con, self.period, metric, peers))
            if self._mine is None:  # the person's own values, every metric in one read
                self._mine = dict(self.con.execute(
                    "SELECT metric, value::DOUBLE FROM person_metrics WHERE period = ? AND person_id = ?",
                    [self.period, self.person_id],
                ).fetchall())
            self._metrics[metric] = (len(group_values), float(self._mine.get(metric, 0.0)), group_values)
        return self._metrics[metric]

    def _below(self, values: list[float], value: float, x: float) -> int:
        """How many *other* peers have a value below x (the person's own value, when in the group, is not one)."""
        below = bisect_left(values, x)
        return below - 1 if self.peers.includes_person and value < x else below

    def simulate(self, metric: str, delta: float) -> dict[str, Any]:
        """What `simulate(con, person_id, period, metric, delta, peers)` returns."""
        n, value, values = self._values(metric)
        below, below_new = self._below(values, value, value), self._below(values, value, value + float(delta))
        peers = self.peers
        return {
            "metric": metric,
            "value": round(value, 4),
            "new_value": round(value + delta, 4),
            "delta": round(delta, 4),
            "percentile": round(100.0 * below / max(n - 1, 1), 1) if n > 1 else 0.0,
            "new_percentile": round(100.0 * below_new / max(n - 1, 1), 1) if n > 1 else 0.0,
            "peers": {"group": peers.group, "key": peers.key, "size": n, "phrase": peers.phrase()},
        }


def _group_values(con: duckdb.DuckDBPyConnection, period: str, metric: str, peers: Peers) -> list[float]:
    """Every internal member's value of `metric` in the period, sorted (0 for a member without one)."""
    where = "true" if peers.group == "company" else f"{peers.group} = ?"
    params: list[Any] = [] if peers.group == "company" else [peers.key]
    rows = con.execute(
        f"""
        WITH g AS (SELECT person_id FROM people WHERE NOT coalesce(is_external, false) AND {where})
        SELECT coalesce(pm.value, 0)::DOUBLE FROM g
        LEFT JOIN person_metrics pm ON pm.period = ? AND pm.metric = ? AND pm.person_id = g.person_id
        ORDER BY 1
        """,
        [*params, period, metric],
    ).fetchall()
    return [float(r[0]) for r in rows]
