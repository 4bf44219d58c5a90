"""The person graph: who interacts with whom, and trusted paths between people.

Edges are aggregated in DuckDB from the canonical tables over a window ending
at "as of" (default one year), between resolved persons (`identities`):

| interaction | from -> to | weight |
|---|---|---|
| a reply, answer or comment to someone's item | replier -> author | 1 |
| a reaction with a known actor (like, share, bookmark, accept, vote) | reactor -> author | 0.5 |
| kudos, mention | giver -> person | 2 (kudos), 0.5 (mention) |
| a message or e-mail with recipients (at most 20) | sender -> each recipient | 1 |
| an introduction (`Invite` of a person to a colleague) | introducer -> both | 2 |
| a meeting attended together (at most 12 attendees) | each pair | 1 |
| reporting line (directory) | manager <-> report | 5 |

Edges are undirected for reaching people; a tie is **trusted** when both sides
initiated contact (reciprocal), when it is a reporting line, or when its
strength reaches `trusted_strength`. Warm paths use trusted ties only; among
shortest paths (fewest hops) the one with the strongest ties wins.

The graph is small (people, not events), so once aggregated it lives in igraph.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import igraph as ig
import numpy as np
import pyarrow as pa

from resonance.knowledge.corpus import resolve_as_of

DEFAULT_WINDOW_DAYS = 365
MAX_RECIPIENTS = 20    # larger mailings are broadcasts, not ties
MAX_MEETING_SIZE = 12  # larger meetings are all-hands, not ties
TRUSTED_STRENGTH = 3.0

EDGES_SQL = f"""
WITH ev AS (
    SELECT e.*, a.person_id AS actor_pid FROM events e
    JOIN identities a ON a.identity = e.actor
    WHERE e.time > ? AND e.time <= ?
),
item_author AS (
    SELECT i.item_id, p.person_id AS author_pid FROM items i JOIN identities p ON p.identity = i.author
),
pairs AS (
    -- replies, answers, comments to someone's item
    SELECT ca.person_id AS src, pa.author_pid AS dst, 1.0 AS w, 'reply' AS how
    FROM items c JOIN identities ca ON ca.identity = c.author
    JOIN item_author pa ON pa.item_id = c.parent_id
    WHERE c.created > ? AND c.created <= ?
    UNION ALL
    -- reactions by a known actor
    SELECT ev.actor_pid, ia.author_pid, 0.5, 'reaction'
    FROM ev JOIN item_author ia ON ia.item_id = ev.object
    WHERE ev.verb IN ('Like', 'Announce', 'Add', 'Accept', 'Vote')
    UNION ALL
    -- kudos and mentions name a person
    SELECT ev.actor_pid, o.person_id, CASE ev.verb WHEN 'Kudos' THEN 2.0 ELSE 0.5 END, lower(ev.verb)
    FROM ev JOIN identities o ON o.identity = ev.object
    WHERE ev.verb IN ('Kudos', 'Mention') AND ev.object_type = 'person'
    UNION ALL
    -- messages and e-mail
    SELECT ev.actor_pid, r.person_id, 1.0, 'message'
    FROM (SELECT actor_pid, unnest(recipients) AS rcpt FROM ev
          WHERE len(recipients) BETWEEN 1 AND {MAX_RECIPIENTS} AND verb = 'Create') ev
    JOIN identities r ON r.identity = ev.rcpt
    UNION ALL
    -- introductions: the introducer knows both sides
    SELECT ev.actor_pid, o.person_id, 2.0, 'introduction'
    FROM ev JOIN identities o ON o.identity = ev.object WHERE ev.verb = 'Invite' AND ev.object_type = 'person'
    UNION ALL
    SELECT ev.actor_pid, t.person_id, 2.0, 'introduction'
    FROM ev JOIN identities t ON t.identity = ev.target WHERE ev.verb = 'Invite' AND ev.object_type = 'person'
    UNION ALL
    -- meetings attended together
    SELECT a1.actor_pid, a2.actor_pid, 1.0, 'meeting'
    FROM (SELECT DISTINCT object, actor_pid FROM ev WHERE verb = 'Attend') a1
    JOIN (SELECT DISTINCT object, actor_pid FROM ev WHERE verb = 'Attend') a2
      ON a1.object = a2.object AND a1.actor_pid < a2.actor_pid
    WHERE a1.object IN (SELECT object FROM ev WHERE verb = 'Attend' GROUP BY object
                        HAVING count(DISTINCT actor_pid) <= {MAX_MEETING_SIZE})
    UNION ALL
    SELECT person_id, manager_id, 5.0, 'manager' FROM people WHERE manager_id IS NOT NULL
    UNION ALL
    SELECT manager_id, person_id, 5.0, 'manager' FROM people WHERE manager_id IS NOT NULL
)
SELECT least(src, dst) AS a, greatest(src, dst) AS b,
       sum(w)::DOUBLE AS strength,
       count(*) FILTER (WHERE src < dst) > 0 AND count(*) FILTER (WHERE src > dst) > 0 AS reciprocal,
       bool_or(how = 'manager') AS reporting,
       count(*) FILTER (WHERE how = 'meeting') AS meetings,
       count(*) FILTER (WHERE how = 'message') AS messages,
       count(*) FILTER (WHERE how IN ('reply', 'reaction', 'kudos', 'mention')) AS social,
       count(*) FILTER (WHERE how = 'introduction') AS introductions
FROM pairs WHERE src IS NOT NULL AND dst IS NOT NULL AND src <> dst
GROUP BY ALL
"""


def person_edges(
    con: duckdb.DuckDBPyConnection, as_of: datetime | str | None = None, window_days: int = DEFAULT_WINDOW_DAYS
) -> pa.Table:
    """Undirected person-person ties over the window ending at `as_of`, with their strength and kinds."""
    end = resolve_as_of(con, as_of)
    start = end - timedelta(days=window_days)
    return con.sql(EDGES_SQL, params=[start, end, start, end]).to_arrow_table()


@dataclass(slots=True)
class PersonGraph:
    """The person graph in igraph, with names and trusted ties."""

    graph: ig.Graph
    index: dict[str, int]
    edges: pa.Table
    trusted_strength: float = TRUSTED_STRENGTH
    _trusted: ig.Graph | None = field(default=None, repr=False)

    @property
    def trusted(self) -> ig.Graph:
        """The subgraph of trusted ties (same vertices)."""
        if self._trusted is None:
            e = self.edges
            keep = np.flatnonzero(
                e.column("reciprocal").to_numpy(zero_copy_only=False)
                | e.column("reporting").to_numpy(zero_copy_only=False)
                | (e.column("strength").to_numpy() >= self.trusted_strength)
            )
            self._trusted = self.graph.subgraph_edges(keep.tolist(), delete_vertices=False)
        return self._trusted

    def distances_from(self, person: str, trusted: bool = False, cutoff: int | None = None) -> dict[str, int]:
        """Hop distance from `person` to everyone reachable (breadth-first)."""
        if person not in self.index:
            return {}
        g = self.trusted if trusted else self.graph
        dist = np.asarray(g.distances(source=[self.index[person]])[0], dtype=float)
        reach = np.isfinite(dist) & (dist <= (cutoff if cutoff is not None else np.inf))
        names = g.vs["name"]
        return {names[i]: int(dist[i]) for i in np.flatnonzero(reach)}

    def path(self, source: str, target: str, trusted: bool = True) -> list[str] | None:
        """The shortest (fewest hops, then strongest ties) path from source to target, or None."""
        if source not in self.index or target not in self.index:
            return None
        if source == target:
            return [source]
        g = self.trusted if trusted else self.graph
        # Hops dominate (each edge costs 1); among equal hop counts, strong ties cost less.
        weights = [1.0 + 0.1 / (1.0 + s) for s in g.es["strength"]] if g.ecount() else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            paths = g.get_shortest_paths(self.index[source], to=self.index[target], weights=weights, output="vpath")
        vpath = paths[0] if paths else []
        if not vpath:
            return None
        names = g.vs["name"]
        return [names[v] for v in vpath]

    def paths(self, source: str, targets: list[str], trusted: bool = True) -> dict[str, list[str]]:
        """Best paths from one source to many targets (one Dijkstra run)."""
        if source not in self.index:
            return {}
        g = self.trusted if trusted else self.graph
        known = [t for t in targets if t in self.index and t != source]
        if not known:
            return {}
        weights = [1.0 + 0.1 / (1.0 + s) for s in g.es["strength"]] if g.ecount() else None
        with warnings.catch_warnings():  # unreachable targets are expected: they get no path
            warnings.simplefilter("ignore", RuntimeWarning)
            vpaths = g.get_shortest_paths(self.index[source], to=[self.index[t] for t in known], weights=weights,
                                          output="vpath")
        names = g.vs["name"]
        return {t: [names[v] for v in vp] for t, vp in zip(known, vpaths, strict=True) if vp}

    def tie(self, a: str, b: str) -> dict | None:
        """The tie between two people (strength, kinds), if any."""
        if a not in self.index or b not in self.index:
            return None
        eid = self.graph.get_eid(self.index[a], self.index[b], directed=False, error=False)
        if eid < 0:
            return None
        return dict(self.graph.es[eid].attributes())


def build_graph(
    con: duckdb.DuckDBPyConnection,
    as_of: datetime | str | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    trusted_strength: float = TRUSTED_STRENGTH,
) -> PersonGraph:
    """The person graph as of a date (see module docstring for what makes an edge)."""
    edges = person_edges(con, as_of, window_days)
    a = edges.column("a").to_pylist()
    b = edges.column("b").to_pylist()
    names = sorted(set(a) | set(b))
    index = {n: i for i, n in enumerate(names)}
    g = ig.Graph(n=len(names), edges=list(zip(np.array([index[x] for x in a], dtype=np.int64).tolist(),
                                              [index[x] for x in b], strict=True)), directed=False)
    g.vs["name"] = names
    for col in ("strength", "reciprocal", "reporting", "meetings", "messages", "social", "introductions"):
        g.es[col] = edges.column(col).to_pylist()
    return PersonGraph(graph=g, index=index, edges=edges, trusted_strength=trusted_strength)
