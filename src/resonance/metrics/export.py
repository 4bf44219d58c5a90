"""The per-person metric table for administrators and data engineers (CSV or Parquet)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from resonance.exports import copy_query
from resonance.metrics.report import MetricsNotComputed, resolve_period
from resonance.metrics.tables import has_metric_tables

METRICS = ("activity", "reaction", "eminence", "network", "knowledge_value")

EXPORT_SQL = """
SELECT m.period, mp.period_type, p.person_id, p.display_name, p.department, p.location, p.role, p.title,
       {values},
       {percentiles},
       pe.persona
FROM (SELECT DISTINCT period, person_id FROM person_metrics WHERE ? IS NULL OR period = ?) m
JOIN metric_periods mp USING (period)
JOIN people p USING (person_id)
LEFT JOIN person_persona pe USING (period, person_id)
ORDER BY mp.period_type, mp.period_start, p.person_id
"""


def export_sql() -> str:
    values = ",\n       ".join(
        f"coalesce((SELECT value FROM person_metrics x "
        f"WHERE x.period = m.period AND x.person_id = m.person_id "
        f"AND x.metric = '{name}'), 0) AS {name}"
        for name in METRICS
    )
    pct = ",\n       ".join(
        f"(SELECT percentile FROM person_percentiles x "
        f"WHERE x.period = m.period AND x.person_id = m.person_id "
        f"AND x.metric = '{name}' AND x.peer_group = 'company') AS {name}_pct_company"
        for name in METRICS
    )
    return EXPORT_SQL.format(values=values, percentiles=pct)


def export_metrics(con: duckdb.DuckDBPyConnection, out: Path | str, period: str | None = None) -> int:
    """Write one row per person and period (every metric, its company percentile, the persona) to a
    .csv or .parquet file; returns the number of rows."""
    if not has_metric_tables(con):
        raise MetricsNotComputed("no metrics yet: run `resonance compute`")
    label = resolve_period(con, period).label if period else None
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sql = export_sql()
    copy_query(con, sql, out, [label, label])  # CSV cells neutralised against formula injection
    return int(con.execute(f"SELECT count(*) FROM ({sql})", [label, label]).fetchall()[0][0])
