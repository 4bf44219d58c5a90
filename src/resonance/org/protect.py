"""Minimum group size and complementary suppression, against differencing, with a release log.

A *cell* is the membership of one figure that would be shown (a unit's distribution, a row of
the knowledge-flow matrix, a trend point), for one period. `protect` decides which cells may be
shown so that, with k the minimum group size (Settings, never below 3):

1. **Size**: every shown cell has at least k people (opted-out people are never members).
2. **Pairs**: for any two shown cells A and B, |A △ B| is 0 or at least k, so the difference of
   two figures (a subtree minus a child subtree, two overlapping filters, the same team before
   and after it changed) never describes fewer than k people.
3. **Residuals**: for any shown cell P, the people of P outside the largest disjoint shown cells
   inside it number 0 or at least k, so that P minus the sum of its shown parts (a department's
   total minus its shown sub-teams) never isolates fewer than k people; and a suppressed cell
   that its shown parts cover exactly is not derivable either (one more part is suppressed).

Rules 2 and 3 hold not only among the cells of one view but against every set released before
(the release log, `org_releases`): other views, other viewers, earlier directory states. Cells
compared are those whose periods overlap (figures over disjoint periods measure different
events; over overlapping ones, such as a quarter and its months, they can be subtracted).

When a rule is broken, the cell to suppress is a candidate of the current view (never one
already released), the smaller one first, and a view's population last. The loop repeats until
nothing changes. Intersections of member sets are computed in DuckDB (a join on hashed
members); the decisions are a small loop in Python over the pairs that overlap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from resonance.metrics.periods import Period
from resonance.org.schema import ensure_org_schema, salt
from resonance.privacy.guard import effective_min_group_size
from resonance.store.db import transaction


@dataclass(slots=True)
class Cell:
    """One figure's membership. `role`: group (a unit), population (the view's whole), counterpart
    (a unit outside the viewer's scope, named only as a flow endpoint)."""

    key: str
    label: str
    members: frozenset[str]
    role: str = "group"
    shown: bool = True
    reason: str | None = None

    @property
    def size(self) -> int:
        return len(self.members)


ROLE_ORDER = {"counterpart": 0, "group": 1, "population": 2}
VIRTUAL = "virtual"
"""The company's whole population, added to a view that does not show it: never shown nor recorded, but a
parent for the residual rule, because an analyst will be shown it. Without it, a manager's view whose
parts (their organisation, and the rest of the company per unit) cover all but one or two people of the
company would let the later company figure isolate them."""
SMALL = "fewer than k people"
PAIR = "differs from another shown figure by fewer than k people"
RESIDUAL = "would leave fewer than k people derivable by subtraction"
DERIVABLE = "its shown parts would add up to it"


def protect(
    con: duckdb.DuckDBPyConnection,
    cells: Sequence[Cell],
    period: Period,
    min_group_size: int,
    viewer: str,
    record: bool = True,
) -> list[Cell]:
    """Mark each cell shown or suppressed (with the reason); record the shown ones in the log."""
    ensure_org_schema(con)
    k = effective_min_group_size(min_group_size)
    cells = list(cells)
    n = len(cells)
    for c in cells:
        c.shown, c.reason = True, None
        if c.size < k:
            c.shown, c.reason = False, SMALL
    if n == 0:
        return cells
    key = salt(con)
    hashes = [_set_hash(key, c.members) for c in cells]
    known = _known(con, hashes, period)
    if all(known[i] or not c.shown for i, c in enumerate(cells)):
        # Every figure was already shown for this period: showing it again reveals nothing new.
        return cells
    given = cells
    company = _company(con)
    if company and not any(c.members == company for c in cells):
        cells = [*cells, Cell("**", "Company", company, role=VIRTUAL)]
        known = [*known, True]  # never the one given up
        n = len(cells)
    cur = con.cursor()
    try:
        cand = pa.table(
            {
                "idx": pa.array([i for i, c in enumerate(cells) for _ in c.members], pa.int32()),
                "person_id": pa.array([p for c in cells for p in sorted(c.members)], pa.string()),
            }
        )
        cur.register("_org_cand_in", cand)
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE _org_cand AS SELECT idx, md5(? || person_id) AS h FROM _org_cand_in",
            [key],
        )
        cur.unregister("_org_cand_in")
        released = cur.execute(
            """SELECT set_hash, max(size) FROM org_releases WHERE period_start < ? AND period_end > ?
               GROUP BY set_hash ORDER BY set_hash""",
            [period.end, period.start],
        ).fetchall()
        rel_index = {h: n + i for i, (h, _) in enumerate(released)}
        size = {i: c.size for i, c in enumerate(cells)}
        size.update({rel_index[h]: int(s) for h, s in released})
        cur.register(
            "_org_rel_idx",
            pa.table({"set_hash": [h for h, _ in released], "node": pa.array(list(rel_index.values()), pa.int32())}),
        )
        pairs = cur.execute(
            """
            WITH nodes AS (
                SELECT idx AS node, h FROM _org_cand
                UNION ALL
                SELECT r.node, m.member FROM _org_rel_idx r JOIN org_release_members m USING (set_hash)
            )
            SELECT c.idx, n.node, count(*) FROM _org_cand c JOIN nodes n ON n.h = c.h
            WHERE n.node <> c.idx GROUP BY ALL
            """
        ).fetchall()
        cur.unregister("_org_rel_idx")
        inter: dict[tuple[int, int], int] = {}
        for a, b, m in pairs:
            inter[(a, b)] = inter[(b, a)] = int(m)
        _decide(cells, n, size, inter, k, known)
        if record:
            for attempt in range(3):
                try:
                    _record(cur, cells, period, viewer)
                    break
                except duckdb.TransactionException:
                    # Another request released an overlapping set at the same moment: the log's
                    # keys are the same, so trying again inserts only what is still missing.
                    if attempt == 2:
                        raise
        cur.execute("DROP TABLE IF EXISTS _org_cand")
    finally:
        cur.close()
    return list(given)


def _company(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Everyone an analyst's company figure would count (internal, not opted out)."""
    from resonance.org.units import CLI_PRINCIPAL, population, scope_for

    return population(con, scope_for(con, CLI_PRINCIPAL))


def _decide(
    cells: list[Cell], n: int, size: dict[int, int], inter: dict[tuple[int, int], int], k: int, known: list[bool]
) -> None:
    """The fixpoint of the three rules over candidates (0..n-1) and released sets (n..).

    A candidate already released for this very period (`known`) is shown like a released set and is
    never the one given up (it reveals nothing new); it still counts as a part of larger cells."""

    def is_candidate(i: int) -> bool:
        return i < n

    def is_virtual(i: int) -> bool:
        return i < n and cells[i].role == VIRTUAL

    def suppressible(i: int) -> bool:
        return i < n and not known[i] and cells[i].shown and not is_virtual(i)

    def visible(i: int) -> bool:
        return not is_candidate(i) or cells[i].shown

    def suppress(i: int, reason: str) -> None:
        cells[i].shown, cells[i].reason = False, reason

    def weight(i: int) -> tuple[int, int, int]:
        # Which candidate to give up first: an outside unit, then a group, the view's population last;
        # among equals the smaller, then the later.
        return (ROLE_ORDER.get(cells[i].role, 1), size[i], -i)

    # Containment does not change as cells are suppressed: the candidate parts of each node, once.
    parts: dict[int, list[int]] = {}
    for (a, b), m in inter.items():
        if is_candidate(a) and not is_virtual(a) and m == size[a] and size[a] < size[b]:
            parts.setdefault(b, []).append(a)
    # The virtual company cell is only a parent: no pair with it is a shown difference.
    neighbours = [
        (a, b, m) for (a, b), m in inter.items() if a < b and is_candidate(a) and not (is_virtual(a) or is_virtual(b))
    ]

    changed = True
    while changed:
        changed = False
        for a, b, m in neighbours:
            if not (visible(a) and visible(b)):
                continue
            diff = size[a] + size[b] - 2 * m
            if 0 < diff < k:
                options = [i for i in (a, b) if suppressible(i)]
                if options:
                    suppress(min(options, key=weight), PAIR)
                    changed = True
        for parent, inside in parts.items():
            chosen = _disjoint_parts([c for c in inside if cells[c].shown], size, inter)
            rest = size[parent] - sum(size[c] for c in chosen)
            options = [c for c in chosen if suppressible(c)]
            if visible(parent) and 0 < rest < k:
                if options:
                    suppress(min(options, key=weight), RESIDUAL)
                elif suppressible(parent):
                    suppress(parent, RESIDUAL)
                else:
                    continue
                changed = True
            elif is_candidate(parent) and not cells[parent].shown and chosen and rest == 0 and options:
                suppress(min(options, key=weight), DERIVABLE)
                changed = True


def _set_hash(key: str, members: frozenset[str]) -> str:
    """The release log's hash of a set (the same as `md5(string_agg(md5(salt || id), ',' ORDER BY ...))`)."""
    hs = sorted(hashlib.md5((key + m).encode()).hexdigest() for m in members)
    return hashlib.md5(",".join(hs).encode()).hexdigest()


def _known(con: duckdb.DuckDBPyConnection, hashes: list[str], period: Period) -> list[bool]:
    rows = con.execute(
        "SELECT set_hash FROM org_releases WHERE period = ? AND set_hash IN (SELECT unnest(?::VARCHAR[]))",
        [period.label, hashes],
    ).fetchall()
    found = {r[0] for r in rows}
    return [h in found for h in hashes]


def _disjoint_parts(inside: list[int], size: dict[int, int], inter: dict[tuple[int, int], int]) -> list[int]:
    """The largest shown parts of a cell that do not overlap (greedy, largest first; equal sets once)."""
    chosen: list[int] = []
    for c in sorted(inside, key=lambda c: (-size[c], c)):
        if all(inter.get((c, p), 0) == 0 for p in chosen):
            chosen.append(c)
    return chosen


def _record(cur: duckdb.DuckDBPyConnection, cells: list[Cell], period: Period, viewer: str) -> None:
    shown = [i for i, c in enumerate(cells) if c.shown and c.role != VIRTUAL]
    if not shown:
        return
    cur.register("_org_shown", pa.table({"idx": pa.array(shown, pa.int32())}))
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE _org_sets AS
           SELECT idx, md5(string_agg(h, ',' ORDER BY h)) AS set_hash, count(*) AS size
           FROM _org_cand WHERE idx IN (SELECT idx FROM _org_shown) GROUP BY idx"""
    )
    cur.unregister("_org_shown")
    labels = pa.table({"idx": pa.array(shown, pa.int32()), "label": [cells[i].label for i in shown]})
    cur.register("_org_labels", labels)
    try:
        with transaction(cur):
            cur.execute(
                """INSERT INTO org_releases
                   SELECT DISTINCT ON (s.set_hash) s.set_hash, ?, ?, ?, s.size, l.label, now()::TIMESTAMP, ?
                   FROM _org_sets s JOIN _org_labels l USING (idx)
                   ON CONFLICT DO NOTHING""",
                [period.label, period.start, period.end, viewer],
            )
            cur.execute(
                """INSERT INTO org_release_members
                   SELECT DISTINCT s.set_hash, c.h FROM _org_sets s JOIN _org_cand c USING (idx)
                   ON CONFLICT DO NOTHING"""
            )
    finally:
        cur.unregister("_org_labels")
        cur.execute("DROP TABLE IF EXISTS _org_sets")
