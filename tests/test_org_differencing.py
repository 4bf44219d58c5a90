"""Differencing attacks: scripted attempts to isolate one person by subtracting two shown
figures (subtree minus child subtree, overlapping filters, a changing team, opt-out, partition
totals, a quarter minus its months). Every attempt must find at least one of the two figures
suppressed."""

from __future__ import annotations

import pytest
from tests.org_company import Person, load_directory, person_id, write_metrics

from resonance.org.rollup import rollup
from resonance.privacy.consent import set_consent

K = 5


def units(result) -> dict[str, int]:
    return {g["unit"]: g["size"] for g in result["groups"]}


def company(con, extra: list[Person] | None = None) -> list[Person]:
    """CEO C; M reports to C and leads X (individual contributor) and L; L leads five engineers.
    Eng has 9 people: 8 in Berlin, one (E9) in Lyon. Sales 8, Ops 2."""
    people = [
        Person("C", None, "Exec", "Berlin", "manager"),
        Person("M", "C", "Eng", "Berlin", "manager"),
        Person("X", "M", "Eng", "Berlin", "engineer"),
        Person("L", "M", "Eng", "Berlin", "manager"),
    ]
    people += [Person(f"E{i}", "L", "Eng", "Berlin", "engineer") for i in range(1, 6)]
    people += [Person("E9", "C", "Eng", "Lyon", "engineer")]
    people += [Person(f"S{i}", "C", "Sales", "Lyon", "sales") for i in range(1, 9)]
    people += [Person(f"O{i}", "C", "Ops", "Lyon", "ops") for i in range(1, 3)]
    people += extra or []
    load_directory(con, people)
    values = {p.id: {"activity": float(i + 1), "knowledge_value": float(3 * i % 7)} for i, p in enumerate(people)}
    for period in ("2026-03", "2026-Q1", "2026-05"):
        write_metrics(con, period, values, {p.id: "Catalyst" for p in people[::3]})
    return people


def both_shown(a: dict[str, int], key_a: str, b: dict[str, int], key_b: str) -> bool:
    return key_a in a and key_b in b


def test_subtree_minus_child_subtree(store):
    con = store.con
    company(con)
    m, lead = person_id(con, "M"), person_id(con, "L")
    by_manager = units(rollup(con, "manager", "2026-03", min_group_size=K))
    # M's subtree (X, L and L's five) minus L's subtree (five) is X and L: two people.
    assert not both_shown(by_manager, m, by_manager, lead)
    for a, b in ((m, lead), (person_id(con, "C"), m)):
        if a in by_manager and b in by_manager:
            assert abs(by_manager[a] - by_manager[b]) >= K


def test_subtree_minus_child_subtree_in_two_requests(store):
    con = store.con
    company(con)
    m, lead = person_id(con, "M"), person_id(con, "L")
    first = units(rollup(con, "manager", "2026-03", unit=m, min_group_size=K))
    second = units(rollup(con, "manager", "2026-03", unit=lead, min_group_size=K))
    assert m in first  # 7 people, nothing released before
    assert lead not in second  # would differ from the first figure by two people


def test_two_overlapping_filters(store):
    con = store.con
    company(con)
    everyone = units(rollup(con, "department", "2026-03", min_group_size=K))
    assert everyone["Eng"] == 9
    berlin = units(rollup(con, "department", "2026-03", filters={"location": "Berlin"}, min_group_size=K))
    assert "Eng" not in berlin  # Eng in Berlin is Eng minus E9: one person apart


def test_two_overlapping_filters_the_other_way_round(store):
    con = store.con
    company(con)
    berlin = units(rollup(con, "department", "2026-03", filters={"location": "Berlin"}, min_group_size=K))
    everyone = units(rollup(con, "department", "2026-03", min_group_size=K))
    assert not both_shown(berlin, "Eng", everyone, "Eng")


def test_a_changing_team_in_the_same_and_overlapping_periods(store):
    con = store.con
    people = company(con)
    before = units(rollup(con, "department", "2026-03", min_group_size=K))
    assert before["Eng"] == 9
    # E9 moves to Sales: the directory is re-imported.
    load_directory(con, [p if p.id != "E9" else Person("E9", "C", "Sales", "Lyon", "sales") for p in people])
    after = units(rollup(con, "department", "2026-03", min_group_size=K))
    assert "Eng" not in after  # Eng before minus Eng after would be E9 alone
    assert "Sales" not in before or "Sales" not in after
    quarter = units(rollup(con, "department", "2026-Q1", min_group_size=K))
    assert "Eng" not in quarter  # the quarter overlaps March: Q1 minus months would isolate E9
    later = units(rollup(con, "department", "2026-05", min_group_size=K))
    assert later["Sales"] == 9  # another period: nothing released to subtract from


def test_opting_out_does_not_reveal_the_person(store):
    con = store.con
    company(con)
    before = units(rollup(con, "location", "2026-03", min_group_size=K))
    assert before["Berlin"] == 9
    set_consent(con, person_id(con, "E3"), "analytics", False, changed_by="E3", via="test")
    after = units(rollup(con, "location", "2026-03", min_group_size=K))
    assert "Berlin" not in after


def test_partition_totals_do_not_reveal_a_small_unit(store):
    con = store.con
    company(con)
    # All locations shown: their sizes and persona counts add up to the company's.
    by_location = rollup(con, "location", "2026-03", min_group_size=K)
    assert by_location["suppressed"] == 0
    total = sum(units(by_location).values())
    by_department = rollup(con, "department", "2026-03", min_group_size=K)
    shown = units(by_department)
    assert "Ops" not in shown and "Exec" not in shown
    # Company total minus the shown departments must cover at least k people.
    assert total - sum(shown.values()) >= K


def test_k_is_never_below_three(store):
    con = store.con
    company(con)
    result = rollup(con, "department", "2026-03", min_group_size=1)
    assert result["min_group_size"] == 3
    assert all(g["size"] >= 3 for g in result["groups"])


@pytest.mark.parametrize("by", ["manager", "department", "location", "role"])
def test_no_view_lists_individuals(store, by):
    con = store.con
    people = company(con)
    result = rollup(con, by, "2026-03", min_group_size=K)
    text = repr(result)
    for p in people:
        if p.id not in ("C", "M", "L"):  # managers name the organisations they lead
            assert f"hr:{p.id}'" not in text


def test_a_managers_view_of_the_rest_of_the_company_leaves_the_company_figure_safe(store):
    """A manager's knowledge flow names their organisation and, per department, the rest of the company.
    Those parts must not cover all of the company but fewer than k people, or the company's own figure,
    shown to an analyst later, would isolate them (here the CEO, alone in Exec)."""
    from resonance.org.flow import knowledge_flow
    from resonance.privacy.guard import MANAGER, Principal

    con = store.con
    people = [Person("C", None, "Exec", "Berlin", "manager"), Person("T", "C", "Eng", "Berlin", "manager")]
    people += [Person(f"E{i}", "T", "Eng", "Berlin", "engineer") for i in range(1, 6)]
    people += [Person(f"F{i}", "C", "Eng", "Lyon", "engineer") for i in range(1, 6)]
    people += [Person(f"S{i}", "C", "Sales", "Lyon", "sales") for i in range(1, 7)]
    load_directory(con, people)
    write_metrics(con, "2026-03", {p.id: {"activity": 1.0} for p in people}, {})
    con.execute(
        """CREATE TABLE IF NOT EXISTS metric_reactions (time TIMESTAMP, kind VARCHAR, reactor_id VARCHAR,
           author_id VARCHAR, weight DOUBLE, item_id VARCHAR, event_id VARCHAR)"""
    )
    ids = {p.id: person_id(con, p.id) for p in people}
    everyone = set(ids.values())
    tara = Principal(user_id=7, username="tara", role=MANAGER, person_id=ids["T"])
    flow = knowledge_flow(con, "department", "2026-03", principal=tara, min_group_size=K)
    team = {ids[f"E{i}"] for i in range(1, 6)}
    by_dept = {d: {ids[p.id] for p in people if p.department == d} for d in ("Exec", "Eng", "Sales")}
    shown_to_tara: set[str] = set(team)
    for u in flow["units"]:
        dept = u["unit"].removeprefix("outside:")
        shown_to_tara |= by_dept[dept] - team if u["unit"].startswith("outside:") else by_dept[dept] & team
    assert len(everyone - shown_to_tara) >= K  # one more unit given up: the CEO is not the only one left
    company = rollup(con, "department", "2026-03", min_group_size=K)
    assert company["scope"] is not None and company["scope"]["size"] == len(everyone)
    assert "Exec" not in units(company)
