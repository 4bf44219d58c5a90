"""The figures of a cell: distributions of the individual metrics, computed in DuckDB.

Per metric: mean, quartiles (p25, median, p75; linear interpolation, `quantile_cont`) and the
share of members with a value above 0; per persona, the share of members (a member with no
persona in the period is an Observer, as on the personal dashboard). Members without a metric
row count as 0, exactly as in the percentiles of the metrics engine. Never a minimum, a maximum
or a list: nothing that is one person's figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from resonance.metrics.report import METRICS

PERSONAS = ("Engager", "Catalyst", "Responder", "Broadcaster", "Observer")
STATS = ("mean", "p25", "median", "p75", "active_share")


def cell_figures(
    con: duckdb.DuckDBPyConnection, groups: Sequence[tuple[str, frozenset[str]]], period: str
) -> dict[str, dict]:
    """{key: {"activity": {"mean", "p25", "median", "p75", "active_share"}, ..., "persona": {name: share}}}."""
    if not groups:
        return {}
    table = pa.table(
        {
            "key": [k for k, members in groups for _ in members],
            "person_id": [p for _, members in groups for p in sorted(members)],
        }
    )
    cur = con.cursor()
    try:
        cur.register("_org_fig", table)
        rows = cur.execute(
            """
            WITH m AS (
                SELECT g.key, coalesce(pm.value, 0)::DOUBLE AS value, mt.metric
                FROM _org_fig g CROSS JOIN (SELECT unnest(?::VARCHAR[]) AS metric) mt
                LEFT JOIN person_metrics pm
                       ON pm.period = ? AND pm.person_id = g.person_id AND pm.metric = mt.metric
            )
            SELECT key, metric, avg(value), quantile_cont(value, [0.25, 0.5, 0.75]), avg((value > 0)::INTEGER)
            FROM m GROUP BY ALL
            """,
            [list(METRICS), period],
        ).fetchall()
        personas = cur.execute(
            """SELECT g.key, coalesce(pp.persona, 'Observer'), count(*) / any_value(n)
               FROM (SELECT *, count(*) OVER (PARTITION BY key) AS n FROM _org_fig) g
               LEFT JOIN person_persona pp ON pp.period = ? AND pp.person_id = g.person_id
               GROUP BY ALL""",
            [period],
        ).fetchall()
        cur.unregister("_org_fig")
    finally:
        cur.close()
    out: dict[str, dict] = {k: {"persona": dict.fromkeys(PERSONAS, 0.0)} for k, _ in groups}
    for key, metric, mean, q, active in rows:
        out[key][metric] = {
            "mean": _r(mean),
            "p25": _r(q[0]),
            "median": _r(q[1]),
            "p75": _r(q[2]),
            "active_share": _r(active),
        }
    for key, persona, share in personas:
        out[key]["persona"][persona] = _r(share)
    return out


def _r(x: float | None) -> float:
    return round(float(x or 0.0), 4)
