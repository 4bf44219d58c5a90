"""Small Ibis helpers the stages share."""

from __future__ import annotations

import ibis
import ibis.selectors as s


def left_join_on(left: ibis.Table, right: ibis.Table, keys: str | list[str]) -> ibis.Table:
    """Left join on equal-named key columns, keeping the left side's keys only."""
    return left.left_join(right, keys).select(~s.endswith("_right"))


def join_on(left: ibis.Table, right: ibis.Table, keys: str | list[str]) -> ibis.Table:
    """Inner join on equal-named key columns, keeping one copy of the keys."""
    return left.join(right, keys).select(~s.endswith("_right"))


def union_all(*tables: ibis.Table) -> ibis.Table:
    """UNION ALL of tables with the same columns."""
    out = tables[0]
    for t in tables[1:]:
        out = out.union(t, distinct=False)
    return out
