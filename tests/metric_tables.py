"""The metric tables as rows, and their differences: how tests compare two computes
(engines, order of ingest, incremental against full) table by table."""

from __future__ import annotations

import math

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
