"""Org roll-ups: the figures are the aggregation of the individual metrics (a property test over
random small companies), and every shown figure respects k and the differencing rules."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.org_company import Person, load_directory, person_id, write_metrics

from resonance.metrics.report import METRICS
from resonance.org.figures import PERSONAS
from resonance.org.rollup import contract, rollup
from resonance.store import open_store

DEPTS = ["Eng", "Sales", "Ops"]
LOCS = ["Berlin", "Lyon"]
ROLES = ["engineer", "manager", None]


@st.composite
def companies(draw):
    n = draw(st.integers(min_value=3, max_value=24))
    people = []
    for i in range(n):
        manager = None if i == 0 else f"P{draw(st.integers(0, i - 1)):02d}"
        if i > 0 and draw(st.booleans()) and draw(st.booleans()):
            manager = None  # a few roots: a forest, as in real directories
        people.append(
            Person(
                f"P{i:02d}",
                manager,
                draw(st.sampled_from(DEPTS + [None])),
                draw(st.sampled_from(LOCS)),
                draw(st.sampled_from(ROLES)),
            )
        )
    positive = st.floats(min_value=0.01, max_value=100, allow_nan=False).map(lambda x: round(x, 3))
    value = st.one_of(st.just(0.0), positive)
    metrics = {p.id: {m: draw(value) for m in METRICS} for p in people}
    personas = {p.id: draw(st.sampled_from(PERSONAS)) for p in people if draw(st.booleans())}
    k = draw(st.integers(min_value=3, max_value=5))
    return people, metrics, personas, k


def members_of(people: list[Person], by: str, unit: str, ids: dict[str, str]) -> set[str]:
    """The unit's members, recomputed from the directory independently of the roll-up code."""
    native = {v: key for key, v in ids.items()}
    if by == "manager":
        root = native[unit]
        children: dict[str, list[str]] = {}
        for p in people:
            if p.manager:
                children.setdefault(p.manager, []).append(p.id)
        out, todo = set(), list(children.get(root, []))
        while todo:
            x = todo.pop()
            if x not in out and x != root:
                out.add(x)
                todo.extend(children.get(x, []))
        return out
    return {p.id for p in people if (getattr(p, by) or "(not recorded)") == unit}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(companies())
def test_org_figures_equal_the_aggregation_of_individual_metrics(company):
    people, metrics, personas, k = company
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "org.duckdb")
        try:
            con = store.con
            load_directory(con, people, direct=True)
            write_metrics(con, "2026-03", metrics, personas)
            ids = {p.id: person_id(con, p.id) for p in people}
            shown_sets: list[set[str]] = []
            for by in ("department", "location", "role", "manager"):
                result = rollup(con, by, "2026-03", min_group_size=k)
                out = contract(result)
                assert set(out) == {"by", "period", "min_group_size", "groups", "suppressed"}
                assert out["min_group_size"] == k and out["period"] == "2026-03"
                for g in out["groups"]:
                    members = members_of(people, by, g["unit"], ids)
                    assert g["size"] == len(members) >= k
                    for m in METRICS:
                        vals = np.array([metrics[x][m] for x in sorted(members)])
                        fig = g["metrics"][m]
                        assert fig["mean"] == pytest.approx(vals.mean(), abs=1e-4)
                        q = np.quantile(vals, [0.25, 0.5, 0.75])
                        assert [fig["p25"], fig["median"], fig["p75"]] == pytest.approx(q, abs=1e-4)
                        assert fig["active_share"] == pytest.approx((vals > 0).mean(), abs=1e-4)
                    for name in PERSONAS:
                        share = sum(personas.get(x, "Observer") == name for x in members) / len(members)
                        assert g["metrics"]["persona"][name] == pytest.approx(share, abs=1e-4)
                    shown_sets.append(members)
                if result["scope"] is not None:
                    shown_sets.append({p.id for p in people})
            # No two shown figures, across all four views, differ by fewer than k people.
            for a, b in itertools.combinations(shown_sets, 2):
                assert len(a ^ b) == 0 or len(a ^ b) >= k, (sorted(a), sorted(b))
        finally:
            store.close()
