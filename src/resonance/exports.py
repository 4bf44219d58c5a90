"""Writing query results to files people open in spreadsheets, safely.

CSV injection: a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return is taken as a formula by Excel, LibreOffice and Google Sheets
(`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`). Names, titles and departments come
from source systems anyone may have typed into, so every CSV export goes
through `copy_query`, which prefixes such text cells with a single quote (the
OWASP recommendation; the spreadsheet shows the text as typed). Numbers are
left alone (`-2.5` stays a number), and Parquet keeps values as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

FORMULA_START = r"^[=+\-@\t\r]"
TEXT_TYPES = ("VARCHAR", "JSON")


def neutralised_sql(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> str:
    """`sql` wrapped so that every text cell that a spreadsheet would run as a formula starts with '."""
    columns = con.execute(f"DESCRIBE ({sql})", params or []).fetchall()
    select = []
    for name, dtype, *_ in columns:
        quoted = '"' + name.replace('"', '""') + '"'
        if dtype in TEXT_TYPES or dtype.endswith("[]"):
            select.append(f"CASE WHEN regexp_matches({quoted}::VARCHAR, '{FORMULA_START}') "
                          f"THEN '''' || {quoted}::VARCHAR ELSE {quoted}::VARCHAR END AS {quoted}")
        else:
            select.append(quoted)
    return f"SELECT {', '.join(select)} FROM ({sql}) AS export_q"


def copy_query(con: duckdb.DuckDBPyConnection, sql: str, out: Path | str, params: list[Any] | None = None) -> None:
    """Write the rows of `sql` to `out`: Parquet if it ends in .parquet, else CSV with a header,
    text cells neutralised against formula injection."""
    out = Path(out)
    target = "'" + str(out).replace("'", "''") + "'"
    if out.suffix.lower() == ".parquet":
        con.execute(f"COPY ({sql}) TO {target} (FORMAT parquet)", params or [])
    else:
        con.execute(f"COPY ({neutralised_sql(con, sql, params)}) TO {target} (FORMAT csv, HEADER true)",
                    params or [])
