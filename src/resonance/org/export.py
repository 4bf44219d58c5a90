"""CSV and Parquet export of the roll-up aggregates (never a row per person).

One row per shown unit: by, period, unit, label, size, then `<metric>_<stat>` for every metric
and statistic and `persona_<name>` shares. Text cells that a spreadsheet would read as a formula
(starting with `=`, `+`, `-`, `@`, a tab or a carriage return) are prefixed with `'` (OWASP's
advice against CSV injection); numbers stay numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from resonance.metrics.report import METRICS
from resonance.org.figures import PERSONAS, STATS

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str | None) -> str | None:
    """A text cell that no spreadsheet evaluates."""
    if value and value.startswith(FORMULA_START):
        return "'" + value
    return value


def rows_of(result: Mapping[str, Any]) -> pa.Table:
    """The roll-up as an Arrow table, one row per shown unit."""
    cols: dict[str, list] = {"by": [], "period": [], "unit": [], "label": [], "size": []}
    numeric = [f"{m}_{s}" for m in METRICS for s in STATS] + [f"persona_{p.lower()}" for p in PERSONAS]
    for name in numeric:
        cols[name] = []
    for g in result["groups"]:
        cols["by"].append(safe_cell(result["by"]))
        cols["period"].append(safe_cell(result["period"]))
        cols["unit"].append(safe_cell(str(g["unit"])))
        cols["label"].append(safe_cell(str(g.get("label", g["unit"]))))
        cols["size"].append(int(g["size"]))
        for m in METRICS:
            for s in STATS:
                cols[f"{m}_{s}"].append(float(g["metrics"][m][s]))
        for p in PERSONAS:
            cols[f"persona_{p.lower()}"].append(float(g["metrics"]["persona"][p]))
    schema = pa.schema(
        [pa.field(n, pa.string()) for n in ("by", "period", "unit", "label")]
        + [pa.field("size", pa.int64())]
        + [pa.field(n, pa.float64()) for n in numeric]
    )
    return pa.table(cols, schema=schema)


def write_rollup(con: duckdb.DuckDBPyConnection, result: Mapping[str, Any], out: Path | str) -> int:
    """Write the roll-up to a .csv or .parquet file (by its suffix); returns the number of rows."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"{out}: use a .csv or .parquet file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    table = rows_of(result)
    cur = con.cursor()
    try:
        cur.register("_org_export", table)
        fmt = "parquet" if suffix == ".parquet" else "csv, header true"
        path = str(out).replace("'", "''")
        cur.execute(f"COPY (SELECT * FROM _org_export) TO '{path}' (FORMAT {fmt})")
        cur.unregister("_org_export")
    finally:
        cur.close()
    return table.num_rows
