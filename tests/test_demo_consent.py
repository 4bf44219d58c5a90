"""`resonance demo` opts most employees in to expert finding, through the consent module, audited."""

from __future__ import annotations

from pathlib import Path

from conftest import rows
from resonance.demo import EXPERT_OPT_IN_PERCENT, opt_in_demo_experts
from resonance.generate import GenerateOptions, generate
from resonance.ingest import run_ingest
from resonance.privacy.consent import consent_granted, consent_history, set_consent, set_consent_many


def _company(store, tmp_path: Path) -> list[str]:
    generate(GenerateOptions(people=120, days=5, seed=7, formats=("directory",)), tmp_path / "co")
    run_ingest(store.con, "directory", [tmp_path / "co" / "directory.csv"])
    return [r[0] for r in rows(store, "SELECT person_id FROM people WHERE department IS NOT NULL ORDER BY 1")]


def test_demo_opts_most_employees_in_with_one_audit_row_each(store, tmp_path: Path):
    employees = _company(store, tmp_path)
    assert len(employees) == 120
    # Someone had already turned it off: the demo must not overrule a choice.
    refuser = employees[0]
    set_consent(store.con, refuser, "expert_finding", False, changed_by=refuser, via="web")

    n = opt_in_demo_experts(store.con)
    granted = {r[0] for r in rows(store, "SELECT person_id FROM consent WHERE purpose = 'expert_finding' AND granted")}
    assert n == len(granted)
    # "Most people": the share is about EXPERT_OPT_IN_PERCENT, never everyone, never a handful.
    assert 0.6 * len(employees) <= n <= 0.95 * len(employees)
    assert abs(n / len(employees) - EXPERT_OPT_IN_PERCENT / 100) < 0.15
    assert granted <= set(employees)
    assert not consent_granted(store.con, refuser, "expert_finding")
    someone = sorted(granted)[0]
    assert consent_granted(store.con, someone, "expert_finding")
    history = consent_history(store.con, someone)
    assert [(h["purpose"], h["granted"], h["changed_by"], h["via"]) for h in history] == [
        ("expert_finding", True, "resonance demo", "demo")]
    assert rows(store, "SELECT count(*) FROM consent_log WHERE via = 'demo'")[0][0] == n

    # A second demo run changes nothing and writes no audit noise.
    assert opt_in_demo_experts(store.con) == 0
    assert rows(store, "SELECT count(*) FROM consent_log WHERE via = 'demo'")[0][0] == n


def test_set_consent_many_writes_only_changes(store, tmp_path: Path):
    employees = _company(store, tmp_path)[:5]
    assert set_consent_many(store.con, employees, "kudos", False, changed_by="admin", via="cli",
                            keep_choices=False) == 5
    # Already off for all five: nothing to change.
    assert set_consent_many(store.con, employees, "kudos", False, changed_by="admin", via="cli",
                            keep_choices=False) == 0
    assert set_consent_many(store.con, employees[:2], "kudos", True, changed_by="admin", via="cli",
                            keep_choices=False) == 2
    assert [consent_granted(store.con, p, "kudos") for p in employees] == [True, True, False, False, False]
    assert rows(store, "SELECT count(*) FROM consent_log WHERE purpose = 'kudos'")[0][0] == 7
