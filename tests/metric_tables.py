"""The metric tables as rows, and their differences: how tests compare two computes
(engines, order of ingest, incremental against full) table by table."""

from __future__ import annotations

import math

from resonance.metrics.tables import STORAGE_ORDER

PERIOD_TABLES = {
    "person_metrics": "period, person_id, metric",
    "person_breakdown": "period, person_id, metric, kind",
    "person_percentiles": "period, person_id, metric, peer_group",
    "person_persona": "period, person_id",
    "item_value": "period, item_id",
    "person_network": "period, person_id",
    "person_reach": "period, person_id, dimension, name",
    "person_ties": "period, person_id, partner_id",
    "reaction_pairs": "period, reactor_id, author_id",
}
"""Tables with one row per period and key, with the columns that order them."""
TABLES = {**PERIOD_TABLES, "metric_reactions": "event_id", "metric_contributions": "event_id"}
"""Every metric table: the period tables and the event-level ones."""


def snapshot(con, tables: dict[str, str] = TABLES) -> dict[str, list[tuple]]:
    """Every row of each table, in key order."""
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY {k}").fetchall() for t, k in tables.items()}


def differences(a: dict[str, list[tuple]], b: dict[str, list[tuple]], tol: float = 1.5e-6) -> list[str]:
    """What differs between two snapshots (floats within `tol`); empty when they are equal."""
    out = []
    for table in a:
        if len(a[table]) != len(b[table]):
            out.append(f"{table}: {len(a[table])} rows vs {len(b[table])}")
            continue
        for x, y in zip(a[table], b[table], strict=True):
            same = all(
                math.isclose(u, v, abs_tol=tol) if isinstance(u, float) and isinstance(v, float) else u == v
                for u, v in zip(x, y, strict=True)
            )
            if not same:
                out.append(f"{table}: {x} != {y}")
    return out


def _nulls_last(value):
    """A sort key that orders like DuckDB's ORDER BY (NULLS LAST), tuples element by element."""
    if isinstance(value, tuple):
        return tuple(_nulls_last(v) for v in value)
    return (value is None, value if value is not None else 0)


def storage_order(con) -> dict[str, tuple[int, int]]:
    """Per metric table: (rows, breaks) in storage order. Rows are meant to be stored part after part
    (a period, or a month for the event-level tables), each part sorted by the person a dashboard reads
    (tables.STORAGE_ORDER): what lets DuckDB's row-group statistics skip the rest. A break is a part
    that starts again after another, or a row stored after one it sorts before within its part."""
    out = {}
    for table, (part, order) in STORAGE_ORDER.items():
        rows = con.execute(f"SELECT {part}, ({order}) FROM {table} ORDER BY rowid").fetchall()
        seen: set = set()
        breaks = 0
        for prev, row in zip([None, *rows], rows, strict=False):
            if prev is None or prev[0] != row[0]:
                breaks += row[0] in seen
                seen.add(row[0])
            elif _nulls_last(prev[1]) > _nulls_last(row[1]):
                breaks += 1
        out[table] = (len(rows), breaks)
    return out
