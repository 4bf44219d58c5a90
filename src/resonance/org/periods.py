"""Which period a roll-up, an advice or a review shows when none is asked for.

The metrics engine's default is the latest computed month. Data often ends with a thin tail
(a few events dated after the export, CRM close dates in the future), so that month can hold
almost nobody; here the default is the latest month in which at least half as many people
have figures as in the busiest month.
"""

from __future__ import annotations

import duckdb

from resonance.metrics.memo import Memo, no_memo
from resonance.metrics.periods import Period, parse_period
from resonance.metrics.report import resolve_period


def default_period(con: duckdb.DuckDBPyConnection, period: str | None = None, memo: Memo = no_memo) -> Period:
    """`period` if given (it must be computed), else the latest substantial month (`memo`: resonance.metrics.memo)."""
    if period:
        return resolve_period(con, period, memo)
    return resolve_period(con, memo(("substantial_month",), lambda: _substantial_month(con)), memo)


def _substantial_month(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute(
        """WITH m AS (
               SELECT mp.period, mp.period_start, count(DISTINCT pm.person_id) AS people
               FROM metric_periods mp LEFT JOIN person_metrics pm USING (period)
               WHERE mp.period_type = 'month' GROUP BY ALL)
           SELECT period FROM m WHERE people >= 0.5 * (SELECT max(people) FROM m) AND people > 0
           ORDER BY period_start DESC LIMIT 1"""
    ).fetchall()
    return str(rows[0][0]) if rows else None


def trend_periods(con: duckdb.DuckDBPyConnection, p: Period, length: int = 12) -> list[Period]:
    """The last `length` computed periods of p's type up to p, oldest first."""
    rows = con.execute(
        """SELECT period FROM metric_periods WHERE period_type = ? AND period_start <= ?
           ORDER BY period_start DESC LIMIT ?""",
        [p.type, p.start, length],
    ).fetchall()
    return [parse_period(r[0]) for r in rows][::-1]
