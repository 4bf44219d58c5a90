"""Expertise profiles and expert finding on a tiny hand-built store (real AS2 ingest, real DuckDB)."""

from __future__ import annotations

from datetime import datetime

import pytest

from knowledge_world import World, pid
from resonance.knowledge.expertise import expertise_profile
from resonance.knowledge.experts import Question, find_experts
from resonance.knowledge.index import build_index


@pytest.fixture
def kafka_store(store, tmp_path):
    """Alice's kafka answer is accepted, up-voted and bookmarked; Bob's equal answer is ignored (he likes it
    himself); Bob writes about React; Eve answers about kafka only later (after 2026-03-01)."""
    w = World()
    w.create("carol", "2026-01-05T09:00:00Z", "Question", "q1", "Our brokers reject clients after the cert expired.",
             title="How do we rotate Kafka TLS certificates?", tags=["kafka", "security"])
    w.create("alice", "2026-01-05T11:00:00Z", "Answer", "a1",
             "Rotate the kafka broker keystore and truststore one broker at a time; clients keep working.",
             parent="q1")
    w.create("bob", "2026-01-05T12:00:00Z", "Answer", "a2",
             "Restart the kafka brokers after you replace the keystore certificates.", parent="q1")
    w.react("Accept", "carol", "2026-01-06T08:00:00Z", "a1")
    for day in ("06", "07", "08"):
        w.react("Vote", None, f"2026-01-{day}T10:00:00Z", "a1", value=1)
    w.react("Add", "dan", "2026-01-09T10:00:00Z", "a1")
    w.react("Like", "bob", "2026-01-09T11:00:00Z", "a2")  # a self-reaction: never counts
    w.create("dan", "2026-01-10T09:00:00Z", "Question", "q2", "Which hooks should a form component use?",
             title="React form state with hooks", tags=["react", "frontend"])
    w.create("bob", "2026-01-10T10:00:00Z", "Answer", "a3",
             "Use useReducer for react form state and keep validation in a custom hook.", parent="q2")
    w.create("bob", "2026-01-20T10:00:00Z", "Article", "p1", "Our react component library: hooks, state, testing.",
             title="React components at Acme", tags=["react", "frontend"])
    w.react("Like", "carol", "2026-01-21T10:00:00Z", "p1")
    w.create("frank", "2026-04-01T09:00:00Z", "Question", "q3", "Consumer lag keeps growing on one partition.",
             title="Kafka consumer lag", tags=["kafka"])
    w.create("eve", "2026-04-01T10:00:00Z", "Answer", "a4", "Kafka consumer lag: rebalance the partition.",
             parent="q3")
    w.ingest(store, tmp_path)
    return store


def test_profile_is_built_from_what_others_valued(kafka_store):
    con = kafka_store.con
    alice = expertise_profile(con, pid("alice"))
    kafka = next(t for t in alice["tags"] if t["tag"] == "kafka")
    assert (kafka["accepted"], kafka["votes"], kafka["reuse"]) == (1, 3, 1)
    assert kafka["rank"] == 1 and kafka["of"] == 3  # above Bob and Eve: same topic, but valued
    assert kafka["evidence"][0]["item_id"].endswith("/items/a1")
    assert "kafka" in {t["term"] for t in alice["terms"]}

    bob = expertise_profile(con, pid("bob"))
    assert bob["valued"]["votes"] == 1  # Carol's like on his article; his own like on a2 does not count
    assert bob["tags"][0]["tag"] in ("react", "frontend")
    bob_kafka = next(t for t in bob["tags"] if t["tag"] == "kafka")
    assert bob_kafka["rank"] == 3 and bob_kafka["votes"] == 0  # Eve's answer is as unvalued but more recent


def test_as_of_leaves_out_later_contributions(kafka_store):
    con = kafka_store.con
    before = expertise_profile(con, pid("eve"), as_of="2026-03-01")
    assert before["contributions"] == 0 and before["tags"] == []
    after = expertise_profile(con, pid("eve"))
    assert after["contributions"] == 1 and after["tags"][0]["tag"] == "kafka"


def test_experts_ranked_by_match_and_value_with_evidence(kafka_store):
    con = kafka_store.con
    index = build_index(con, as_of=datetime(2026, 3, 1))
    kafka, react = find_experts(con, [
        Question("How do I rotate the TLS certificates of our Kafka brokers?", tags=["kafka"]),
        Question("How should I manage form state in a React component?", tags=["react"]),
    ], top=3, index=index)
    assert [e["person"] for e in kafka[:2]] == [pid("alice"), pid("bob")]
    assert kafka[0]["evidence"][0]["item_id"].endswith("/items/a1")
    assert kafka[0]["evidence"][0]["valued"]["Accept"] == 1
    assert "accepted" in kafka[0]["why"] and "kafka" in kafka[0]["why"]
    assert pid("eve") not in {e["person"] for e in kafka}  # she answered only after the as-of date
    assert react[0]["person"] == pid("bob")
    assert pid("carol") not in {e["person"] for e in kafka}  # asking is not knowing


def test_asker_is_never_their_own_expert(kafka_store):
    con = kafka_store.con
    result = find_experts(con, [Question("kafka certificates", tags=["kafka"], asker=pid("alice"))], top=5)[0]
    assert pid("alice") not in {e["person"] for e in result}


def test_appreciation_from_eminent_colleagues_weighs_more(store, tmp_path):
    """Who valued it matters: the same bookmark counts 1.5x from the most eminent colleague, 0.5x from the least
    (company percentile of Eminence from the metrics engine, latest rolling-90-day period)."""
    w = World()
    w.create("pat", "2026-05-01T09:00:00Z", "Question", "q", "Which index for range scans?", title="Postgres index",
             tags=["postgres"])
    for name, item in (("amy", "a1"), ("bea", "a2")):
        w.create(name, "2026-05-01T10:00:00Z", "Answer", item, "A btree postgres index serves range scans.",
                 parent="q")
    w.react("Add", "star", "2026-05-02T10:00:00Z", "a1")
    w.react("Add", "newbie", "2026-05-02T10:00:00Z", "a2")
    w.ingest(store, tmp_path)
    con = store.con
    con.execute("""CREATE TABLE IF NOT EXISTS person_percentiles (period VARCHAR, person_id VARCHAR, metric VARCHAR,
                   peer_group VARCHAR, peer_key VARCHAR, peers BIGINT, percentile DOUBLE)""")
    con.execute("""INSERT INTO person_percentiles VALUES
                   ('r90:2026-04-30', ?, 'eminence', 'company', 'all', 10, 100.0),
                   ('r90:2026-04-30', ?, 'eminence', 'company', 'all', 10, 0.0),
                   ('r90:2026-06-30', ?, 'eminence', 'company', 'all', 10, 0.0)""",
                [pid("star"), pid("newbie"), pid("star")])  # the later period is after as-of: not used
    index = build_index(con)
    by_item = {index.item_ids[int(p)]: w for p, w in zip(index.ev_item, index.ev_weight, strict=True)}
    assert by_item["https://social.acme.example/items/a1"] == pytest.approx(1.5 * 1.5)
    assert by_item["https://social.acme.example/items/a2"] == pytest.approx(1.5 * 0.5)
    experts = find_experts(con, [Question("postgres range scan index", tags=["postgres"])], top=2, index=index)[0]
    assert [e["person"] for e in experts] == [pid("amy"), pid("bea")]
