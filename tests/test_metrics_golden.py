"""Golden tables, one per metric stage: CSV in -> run the stage -> compare with the expected CSV.

The inputs and the hand-worked expected outputs live in tests/data/metrics/<stage>/;
README.md there shows the arithmetic. A reader sees a metric's definition by
reading its golden files.
"""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pytest

from resonance.metrics import activity, antigaming, eminence, knowledge, network, percentiles, persona, reaction
from resonance.metrics import resolve as resolve_mod
from resonance.metrics.engine import DuckDBEngine
from resonance.metrics.rules import load_rules

GOLDEN = Path(__file__).parent / "data" / "metrics"
RULES = load_rules(None)


class Golden:
    """Reads a stage's CSV inputs into the engine and compares results with expected CSVs."""

    def __init__(self, store, stage: str) -> None:
        self.con = store.con
        self.folder = GOLDEN / stage
        self.engine = DuckDBEngine(store.con)

    def arrow(self, name: str) -> pa.Table:
        path = self.folder / f"{name}.csv"
        table = self.con.sql(f"SELECT * FROM read_csv('{path}', header = true, all_varchar = true)").to_arrow_table()
        return pa.table({c: _typed(c, table.column(c)) for c in table.column_names})

    def input(self, name: str):
        return self.engine.upload(self.arrow(name), name)

    def check(self, expected: str, actual, ignore: tuple[str, ...] = ()) -> None:
        want = self.arrow(expected).to_pylist()
        columns = list(want[0]) if want else []
        got = self.engine.to_arrow(actual.select(*columns)).to_pylist() if columns else []
        key = [c for c in columns if not _is_number(c)]

        def sort(rows):
            return sorted(rows, key=lambda r: tuple(str(r[c]) for c in key))

        assert len(got) == len(want), f"{expected}: {len(got)} rows, expected {len(want)}:\n{sort(got)}"
        for g, w in zip(sort(got), sort(want), strict=True):
            for c in columns:
                if c in ignore:
                    continue
                if _is_number(c) and w[c] is not None:
                    assert g[c] is not None and math.isclose(g[c], w[c], abs_tol=1e-6), (expected, c, g, w)
                else:
                    assert g[c] == w[c], (expected, c, g, w)

    def close(self) -> None:
        self.engine.close()


NUMBERS = {"weight", "value", "volume", "reciprocal_volume", "allowance", "counted", "given", "received",
           "percentile", "effective_size", "burt_constraint", "betweenness"}
INTEGERS = {"contributions", "reads", "reactions", "reuse", "partners", "reach2", "departments", "locations",
            "external_contacts", "peers"}
TIMES = {"time", "created"}
BOOLS = {"damped", "is_external"}


def _is_number(column: str) -> bool:
    return column in NUMBERS or column in INTEGERS


def _typed(column: str, values: pa.ChunkedArray) -> pa.Array:
    py = values.to_pylist()
    if column == "recipients":
        return pa.array([v.split("|") if v else [] for v in py], pa.list_(pa.string()))
    if column in NUMBERS:
        return pa.array([float(v) if v not in (None, "") else None for v in py], pa.float64())
    if column in INTEGERS:
        return pa.array([int(v) if v not in (None, "") else None for v in py], pa.int64())
    if column in TIMES:
        return pa.array([v if v else None for v in py], pa.string()).cast(pa.timestamp("us"))
    if column in BOOLS:
        return pa.array([None if v in (None, "") else v == "true" for v in py], pa.bool_())
    return pa.array([v if v not in ("",) else None for v in py], pa.string())


@pytest.fixture
def golden(store):
    made: list[Golden] = []

    def make(stage: str) -> Golden:
        g = Golden(store, stage)
        made.append(g)
        return g

    yield make
    for g in made:
        g.close()


def test_resolve(golden):
    g = golden("resolve")
    events, items, ids = g.input("events"), g.input("items"), g.input("identities")
    g.check("expected_contributions", resolve_mod.contributions(events, items, ids, RULES))
    reactions = resolve_mod.reactions(events, items, ids, RULES)
    g.check("expected_reactions", reactions)
    endorsements = resolve_mod.endorsements(events, ids)
    g.check("expected_endorsements", endorsements)
    g.check("expected_ties", resolve_mod.ties(events, reactions, endorsements, ids, RULES))


def test_activity(golden):
    g = golden("activity")
    g.check("expected_activity", activity.activity(g.input("contributions_p"), RULES))


def test_antigaming(golden):
    g = golden("antigaming")
    g.check("expected_pairs", antigaming.pairs(g.input("reactions_p"), RULES))


def test_reaction(golden):
    g = golden("reaction")
    g.check("expected_reaction", reaction.reaction(g.input("reactions_p"), g.input("pairs"), RULES))


@pytest.mark.parametrize("implementation", ["igraph", "ibis"])
def test_eminence(golden, implementation):
    g = golden("eminence")
    rules = {**RULES, "eminence": {**RULES["eminence"], "pagerank": implementation}}
    values, breakdown = eminence.eminence(
        g.engine, g.input("reactions_p"), g.input("pairs"), g.input("endorsements_p"), g.input("participants"),
        rules,
    )
    g.check("expected_eminence", values)
    g.check("expected_breakdown", breakdown)


def test_knowledge(golden):
    g = golden("knowledge")
    items, breakdown = knowledge.item_values(
        g.input("reactions_p"), g.input("pairs"), g.input("eminence"), g.input("items"), g.input("identities"),
        g.input("people"), RULES,
    )
    g.check("expected_item_value", items)
    g.check("expected_breakdown", breakdown)


def test_network(golden):
    g = golden("network")
    table, reach, _, _ = network.network(g.engine, g.input("ties_p"), g.input("people"), RULES)
    g.check("expected_network", table)
    g.check("expected_reach", reach)


def test_persona(golden):
    g = golden("persona")
    g.check("expected_persona", persona.personas(g.input("contributions_p"), g.input("reactions_p"), RULES))


def test_percentiles(golden):
    g = golden("percentiles")
    g.check("expected_percentiles", percentiles.percentiles(g.input("person_metrics"), g.input("people"), RULES))
