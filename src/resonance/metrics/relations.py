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


def dbl(value: float) -> ibis.Value:
    """A DOUBLE constant in SQL on every engine.

    Ibis writes a float literal as `0.1`, which DuckDB and Spark read as a DECIMAL; an
    expression made only of such literals (a CASE of weights) would then be decimal,
    and decimal division rounds differently on each engine. A cast from text is exact
    and is kept by Ibis."""
    return ibis.literal(repr(float(value))).cast("float64")


def rounded(value: ibis.NumericValue, digits: int = 6) -> ibis.NumericValue:
    """`value` rounded half up to `digits` decimals, identically on every engine.

    SQL ROUND differs at exact halves (Spark rounds the decimal text, DuckDB the binary
    value), and products of rounded figures hit exact halves often; this is plain
    IEEE arithmetic, the same everywhere."""
    scale = dbl(10.0**digits)
    return (value * scale + dbl(0.5)).floor().cast("float64") / scale
