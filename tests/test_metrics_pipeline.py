"""The metrics pipeline end to end on a small synthetic company: tables, report, evidence, CLI, rules."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from conftest import rows
from metrics_synth import build_company
from resonance.metrics.evidence import evidence
from resonance.metrics.periods import PeriodError, parse_period, periods_between
from resonance.metrics.pipeline import run_pipeline
from resonance.metrics.report import MetricsNotComputed, PersonNotFound, person_report
from resonance.metrics.rules import RulesError, describe_rules, load_rules

METRICS = {"activity", "reaction", "eminence", "network", "knowledge_value"}


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    from resonance.store import open_store

    store = open_store(tmp_path_factory.mktemp("metrics") / "company.duckdb")
    c = build_company(store.con, n_people=40, n_events=2000, days=90, seed=3)
    summary = run_pipeline(store.con, periods=["month", "week", "r90"])
    yield store, c, summary
    store.close()


def test_pipeline_writes_every_table(company):
    store, c, summary = company
    assert summary["periods"] > 0 and summary["people"] > 30
    for table in ("person_metrics", "person_breakdown", "person_percentiles", "person_persona", "item_value",
                  "person_network", "person_reach", "person_ties", "reaction_pairs", "metric_reactions",
                  "metric_contributions", "metric_periods"):
        assert summary["rows"].get(table, rows(store, f"SELECT count(*) FROM {table}")[0][0]) > 0, table
    assert {m for (m,) in rows(store, "SELECT DISTINCT metric FROM person_metrics")} == METRICS
    # Eminence is scaled so that the average participant of a period has 1.
    for period, mean in rows(store, "SELECT period, avg(value) FROM person_metrics WHERE metric = 'eminence' "
                                    "GROUP BY period"):
        assert mean == pytest.approx(1.0, abs=1e-5), period
    lo, hi = rows(store, "SELECT min(percentile), max(percentile) FROM person_percentiles")[0]
    assert lo >= 0 and hi <= 100 and hi == 100
    # Breakdowns add up to the value (knowledge value: before the floor at 0 per item, none here).
    bad = rows(store, """
        SELECT m.period, m.person_id, m.metric, m.value, sum(b.value) FROM person_metrics m
        JOIN person_breakdown b USING (period, person_id, metric)
        WHERE m.metric IN ('activity', 'reaction', 'eminence', 'network')
        GROUP BY ALL HAVING abs(m.value - sum(b.value)) > 1e-4 * greatest(1, m.value)""")
    assert bad == []
    runs = rows(store, "SELECT status, engine FROM metric_runs ORDER BY run_id")
    assert runs[0] == ("done", "duckdb")


def test_person_report_shape(company):
    store, c, _ = company
    report = person_report(store.con, c.people[1])
    assert set(report) == {"person", "period", "metrics", "persona", "top_items", "network_detail"}
    assert {"id", "display_name", "department", "location", "role", "title", "identities"} <= set(report["person"])
    assert set(report["period"]) == {"label", "type", "start", "end"}
    assert report["period"]["type"] == "month"  # the latest month by default
    assert set(report["metrics"]) == METRICS
    for m in report["metrics"].values():
        assert set(m) == {"value", "percentiles", "trend", "breakdown"}
        assert set(m["percentiles"]) == {"company", "department", "role", "location"}
        assert all(0 <= p <= 100 for p in m["percentiles"].values())
        assert 1 <= len(m["trend"]) <= 12 and m["trend"][-1]["period"] == report["period"]["label"]
        assert m["trend"][-1]["value"] == m["value"]
    assert {"name", "reason", "rule"} <= set(report["persona"])
    assert report["persona"]["name"] in {"Engager", "Catalyst", "Responder", "Broadcaster", "Observer"}
    for item in report["top_items"]:
        assert {"item_id", "kind", "title", "value", "created"} <= set(item)
    assert {"by_department", "by_location"} <= set(report["network_detail"])


def test_person_named_by_id_email_or_identity(company):
    store, c, _ = company
    by_id = person_report(store.con, c.people[2], "2026-02")
    by_email = person_report(store.con, c.emails[2].upper(), "2026-02")
    by_key = person_report(store.con, "email:" + c.emails[2], "2026-02")
    assert by_id == by_email == by_key
    with pytest.raises(PersonNotFound):
        person_report(store.con, "nobody@nowhere.example")
    with pytest.raises(MetricsNotComputed, match="resonance compute --period 2020-01"):
        person_report(store.con, c.people[2], "2020-01")


def test_reports_read_for_a_group_of_people_equal_reports_read_alone(company, monkeypatch):
    """With a memo (the web's read cache), a period's figures are read for a range of person ids at once
    and shared; every person's report equals the one read alone, in every kind of period, and the reads
    are shared (groups of 7 people here, so that the company spans several groups)."""
    import resonance.metrics.report as report

    store, c, _ = company
    monkeypatch.setattr(report, "GROUP_SIZE", 7)
    remembered: dict = {}
    asked: list = []

    def memo(key, compute):
        asked.append(key)
        if key not in remembered:
            remembered[key] = compute()
        return remembered[key]

    people = [r[0] for r in store.con.execute("SELECT person_id FROM people ORDER BY person_id").fetchall()]
    periods = [r[0] for r in store.con.execute(
        "SELECT any_value(period ORDER BY period_start DESC) FROM metric_periods GROUP BY period_type").fetchall()]
    assert len(periods) >= 3 and len(people) > 30
    for period in periods:
        for pid in people:
            assert person_report(store.con, pid, period, memo=memo) == person_report(store.con, pid, period)
    groups = {k for k in remembered if k[0] == "report_figures"}
    assert len(groups) == len(periods) * -(-len(people) // 7)  # each group read once per period
    assert len(asked) > 3 * len(remembered)


def test_evidence_is_paged_and_matches_the_figures(company):
    store, c, _ = company
    pid = c.people[1]
    report = person_report(store.con, pid, "2026-02")
    first = evidence(store.con, pid, "reaction", "2026-02", page=1, page_size=5)
    assert first["total"] >= len(first["items"]) and first["page_size"] == 5
    everything = evidence(store.con, pid, "reaction", "2026-02", page_size=1000)["items"]
    assert len(everything) == first["total"]
    # Reaction points shown in evidence are the raw weights; the figure is at most their sum.
    assert report["metrics"]["reaction"]["value"] <= sum(i["weight"] for i in everything) + 1e-6
    acts = evidence(store.con, pid, "activity", "2026-02", page_size=1000)["items"]
    assert sum(i["weight"] for i in acts) == pytest.approx(report["metrics"]["activity"]["value"])
    kv = evidence(store.con, pid, "knowledge_value", "2026-02", page_size=1000)["items"]
    assert sum(i["value"] for i in kv) == pytest.approx(report["metrics"]["knowledge_value"]["value"])
    net = evidence(store.con, pid, "network", "2026-02", page_size=1000)
    assert net["total"] == report["network_detail"]["partners"]
    with pytest.raises(ValueError):
        evidence(store.con, pid, "popularity")


def test_recomputing_one_period_leaves_the_others(company):
    store, c, _ = company
    before = rows(store, "SELECT * FROM person_metrics ORDER BY ALL")
    run_pipeline(store.con, periods=["2026-02"])
    after = rows(store, "SELECT * FROM person_metrics ORDER BY ALL")
    assert before == after


def test_periods():
    assert parse_period("2026-W05").start == datetime(2026, 1, 26)
    assert parse_period("2026-03").end == datetime(2026, 4, 1)
    assert parse_period("2026-Q1").as_dict() == {"label": "2026-Q1", "type": "quarter", "start": "2026-01-01",
                                                 "end": "2026-03-31"}
    assert parse_period("2026-H2").start == datetime(2026, 7, 1)
    r90 = parse_period("r90:2026-03-31")
    assert (r90.start, r90.end) == (datetime(2026, 1, 1), datetime(2026, 4, 1))
    assert parse_period("2021-W01").start == datetime(2021, 1, 4)  # ISO year differs from the calendar's
    with pytest.raises(PeriodError):
        parse_period("March")
    labels = [p.label for p in periods_between(datetime(2025, 12, 30), datetime(2026, 2, 2), ["week", "r90"])]
    assert labels[:2] == ["r90:2025-12-31", "r90:2026-01-31"] and "2026-W06" in labels and "2026-W01" in labels


def test_rules_override(tmp_path):
    rules = load_rules()
    assert rules["reaction"]["weights"]["share"] > rules["reaction"]["weights"]["like"]
    own = tmp_path / "mine.toml"
    own.write_text("[reaction.weights]\nlike = 2\n[antigaming]\nenabled = false\n")
    mine = load_rules(own)
    assert mine["reaction"]["weights"]["like"] == 2.0 and mine["antigaming"]["enabled"] is False
    assert mine["reaction"]["weights"]["share"] == rules["reaction"]["weights"]["share"]
    rows_ = {r["key"]: r for r in describe_rules(mine)}
    assert rows_["reaction.weights.like"]["changed"] and rows_["reaction.weights.like"]["description"]
    assert all(r["description"] for r in rows_.values()), [k for k, r in rows_.items() if not r["description"]]
    typo = tmp_path / "typo.toml"
    typo.write_text("[reaction.weights]\nlikes = 2\n")
    with pytest.raises(RulesError, match="reaction.weights.likes"):
        load_rules(typo)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[antigaming]\nratio = 'high'\n")
    with pytest.raises(RulesError, match="must be a number"):
        load_rules(wrong)


def resonance(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "resonance", *args], capture_output=True, text=True, timeout=300)


def test_cli_compute_person_evidence_export_rules(tmp_path):
    from typer.testing import CliRunner

    from resonance.cli import app
    from resonance.store import open_store

    db = tmp_path / "cli.duckdb"
    with open_store(db) as store:
        c = build_company(store.con, n_people=25, n_events=800, days=60, seed=5)
    # The real command line, in its own process, for compute and person.
    out = resonance("compute", "--db", str(db), "--period", "month", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["periods"] in (2, 3)
    person = resonance("person", c.emails[3], "--db", str(db), "--period", "2026-02", "--json")
    assert person.returncode == 0, person.stderr
    report = json.loads(person.stdout)
    assert set(report) >= {"person", "period", "metrics", "persona", "top_items"}
    assert report["person"]["id"] == c.people[3] and report["period"]["label"] == "2026-02"

    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(app, list(args))

    human = cli("person", c.people[3], "--db", str(db))
    assert human.exit_code == 0 and "persona" in human.stdout
    ev = cli("evidence", c.people[3], "--metric", "activity", "--db", str(db), "--period", "2026-02",
             "--page-size", "2", "--json")
    assert ev.exit_code == 0, ev.output
    assert len(json.loads(ev.stdout)["items"]) <= 2
    for name in ("m.csv", "m.parquet"):
        exp = cli("export", "metrics", "--db", str(db), "--out", str(tmp_path / name))
        assert exp.exit_code == 0, exp.output
    import duckdb

    cols = duckdb.sql(f"SELECT * FROM '{tmp_path / 'm.parquet'}'").columns
    assert {"period", "person_id", "activity", "reaction", "eminence", "network", "knowledge_value",
            "persona"} <= set(cols)
    assert Path(tmp_path / "m.csv").read_text().startswith("period,")
    missing = cli("person", "nobody@nowhere.example", "--db", str(db))
    assert missing.exit_code != 0 and "no person" in missing.output
    assert json.loads(cli("rules", "--json").stdout)["eminence"]["damping"] == 0.85
    own = tmp_path / "own.toml"
    own.write_text("[eminence]\ndamping = 0.5\n")
    listing = cli("rules", "--rules", str(own)).stdout
    assert "full_credit_per_reactor = 3.0" in listing and "damping = 0.5  # changed; default 0.85" in listing


def test_future_dated_events_open_no_period(store, tmp_path):
    """Calendars and CRMs hold meetings and close dates ahead of today: they must not
    create periods that have not happened (the dashboard would open on an empty month)."""
    import json as _json
    from datetime import datetime as _dt

    from resonance.ingest import run_ingest
    from resonance.metrics.pipeline import run_pipeline

    lines = [
        {"id": "urn:t:1", "type": "Create", "actor": "mailto:ann@acme.example", "published": "2026-03-02T10:00:00Z",
         "object": {"id": "urn:i:1", "type": "Note", "content": "hello"}},
        {"id": "urn:t:2", "type": "Like", "actor": "mailto:bob@acme.example", "published": "2026-03-03T10:00:00Z",
         "object": "urn:i:1"},
        {"id": "urn:t:3", "type": "Like", "actor": "mailto:cy@acme.example", "published": "2099-01-01T10:00:00Z",
         "object": "urn:i:1"},
    ]
    path = tmp_path / "future.ndjson"
    path.write_text("\n".join(_json.dumps(x) for x in lines) + "\n")
    run_ingest(store.con, "as2", [path])
    summary = run_pipeline(store.con, periods=["month"], as_of=_dt(2026, 3, 31))
    assert summary["as_of"].startswith("2026-03-31")
    labels = [r[0] for r in store.con.execute("SELECT DISTINCT period FROM metric_periods").fetchall()]
    assert labels == ["2026-03"]
    run_pipeline(store.con, periods=["month"])  # default: now — 2099 is still in the future
    last = store.con.execute("SELECT max(period_end) FROM metric_periods").fetchall()[0][0]
    assert last.year < 2099
