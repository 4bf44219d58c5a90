"""Opportunities to help and business influence on a small generated company with planted truth."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest

from resonance.demo import INGEST_ORDER, connector_options
from resonance.generate import OUTPUTS, GenerateOptions, generate
from resonance.ingest import run_ingest
from resonance.knowledge.corpus import latest_time
from resonance.knowledge.demand import DemandPolicy, opportunities_to_help
from resonance.knowledge.graph import build_graph
from resonance.knowledge.index import build_index
from resonance.knowledge.introductions import introduction_paths
from resonance.knowledge.outcomes import business_influence, deal_helpers
from resonance.sources import registry
from resonance.store import open_store


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> tuple[Path, Path]:
    """`resonance generate` (160 people, 150 days) ingested with every connector, as the demo does."""
    root = tmp_path_factory.mktemp("company")
    data, db = root / "data", root / "store.duckdb"
    generate(GenerateOptions(people=160, days=150, seed=11), data)
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    sources = registry()
    store = open_store(db)
    try:
        for kind in INGEST_ORDER:
            path = data / OUTPUTS[kind][0]
            if kind in sources and path.exists():
                run_ingest(store.con, kind, [path], connector_options(sources[kind].option_help, manifest, data))
    finally:
        store.close()
    return data, db


@pytest.fixture
def con(company):
    store = open_store(company[1], read_only=True)
    yield store.con
    store.close()


def _truth(con, data: Path) -> set[tuple[str, str]]:
    ids = dict(con.execute("SELECT identity, person_id FROM identities").fetchall())
    with open(data / "truth" / "deal_helpers.csv", encoding="utf-8") as f:
        return {("crm-opportunity:" + r["opportunity_id"], ids["hr:" + r["person_id"]]) for r in csv.DictReader(f)}


def test_credited_helpers_match_the_planted_truth(company, con):
    truth = _truth(con, company[0])
    assert len(truth) >= 5
    credited = {(r["opp"], r["helper"]) for r in deal_helpers(con).to_pylist()}
    hits = credited & truth
    precision, recall = len(hits) / len(credited), len(hits) / len(truth)
    assert precision >= 0.8 and recall >= 0.8, (precision, recall)


def test_business_influence_of_a_helper_has_its_evidence(company, con):
    truth = _truth(con, company[0])
    opp, helper = sorted(truth)[0]
    influence = business_influence(con, helper)
    deal = next(d for d in influence["deals"] if d["opportunity_id"] == opp)
    assert deal["amount"] > 0 and 0 < deal["share"] <= 1 and deal["evidence"]
    assert influence["summary"]["influenced_amount"] >= deal["amount"]
    assert all(e["how"] in deal["how"] for e in deal["evidence"])
    # Nobody earns credit for a deal they own or work on.
    team = con.execute(
        """SELECT DISTINCT p.person_id FROM events e JOIN identities p ON p.identity = e.actor
           WHERE e.verb = 'Join' AND e.object = ?""", [opp]).fetchall()
    for (member,) in team:
        assert opp not in {d["opportunity_id"] for d in business_influence(con, member)["deals"]}


def test_opportunities_to_help_say_why_and_when(con):
    people = [r[0] for r in con.execute(
        "SELECT person_id FROM people WHERE NOT is_external ORDER BY person_id").fetchall()]
    found = []
    for person in people:
        result = opportunities_to_help(con, person)
        found += [(person, o) for o in result["opportunities"] if o["kind"] == "opportunity"]
        if len(found) >= 3:
            break
    assert found, "someone with customer contacts should see an open deal to help"
    person, o = found[0]
    facts = o["facts"]
    assert facts["owner_name"] in o["why"] and "closes in" in o["why"]
    assert person not in facts["team"]  # your own deals are not "opportunities to help"
    assert o["evidence"] and o["action"] in ("offer an introduction", "offer your know-how")
    # What the CRM would not show the person is not shown.
    hidden = opportunities_to_help(con, person, policy=DemandPolicy(crm_visibility="team"))
    assert not [x for x in hidden["opportunities"] if x["kind"] in ("opportunity", "meeting")]


def test_introduction_to_an_account_reaches_one_of_its_contacts(con):
    account, name = con.execute(
        "SELECT item_id, title FROM items WHERE kind = 'account' ORDER BY item_id LIMIT 1").fetchall()[0]
    owner = con.execute(
        "SELECT p.person_id FROM items a JOIN identities p ON p.identity = a.author WHERE a.item_id = ?",
        [account]).fetchall()[0][0]
    result = introduction_paths(con, owner, name)
    assert result["to"]["kind"] == "account" and result["found"]
    last = result["paths"][0]["steps"][-1]
    assert last["organization"] == name and last["is_external"]


def test_upcoming_customer_meeting_with_a_known_contact(con):
    """Two weeks before the end, someone who met a customer's people sees the team's next meeting with them."""
    now = latest_time(con) - timedelta(days=14)
    # People who attended a meeting with an external person who attends another meeting in the next 14 days.
    candidates = [r[0] for r in con.execute(
        """WITH att AS (SELECT e.object, e.time, p.person_id, p.is_external FROM events e
                        JOIN identities i ON i.identity = e.actor JOIN people p USING (person_id)
                        WHERE e.verb = 'Attend' AND e.ctx_account IS NOT NULL),
                soon AS (SELECT * FROM att WHERE time > ? AND time <= ? + INTERVAL 14 DAY)
           SELECT DISTINCT me.person_id FROM att me JOIN att ext ON ext.object = me.object AND ext.is_external
           JOIN soon ON soon.person_id = ext.person_id
           WHERE NOT me.is_external AND me.time <= ?
             AND me.person_id NOT IN (SELECT person_id FROM soon s2 WHERE s2.object = soon.object)
           ORDER BY 1 LIMIT 6""", [now, now, now]).fetchall()]
    assert candidates
    index, graph = build_index(con, as_of=now), build_graph(con, as_of=now)
    meetings = [o for p in candidates
                for o in opportunities_to_help(con, p, as_of=now, index=index, graph=graph)["opportunities"]
                if o["kind"] == "meeting"]
    assert meetings
    m = meetings[0]
    assert m["why"].startswith("colleagues meet ") and "you know" in m["why"] and m["evidence"]
    assert now < m["facts"]["starts"] <= now + timedelta(days=14)
