"""Expert finding on a real Stack Exchange sample, the batch CLI format, and personalisation."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest

from knowledge_world import World, pid
from resonance.ingest import run_ingest
from resonance.knowledge.experts import ExpertFinder, Question, find_experts
from resonance.knowledge.graph import build_graph
from resonance.knowledge.index import build_index
from resonance.store import open_store

SITE = "bicycles-meta-2023"


@pytest.fixture(scope="module")
def se_db(tmp_path_factory, ) -> str:
    """The bicycles meta sample (tests/data/stackexchange, real dump rows) in a store."""
    from pathlib import Path

    data = Path(__file__).parent / "data" / "stackexchange" / SITE
    db = tmp_path_factory.mktemp("se") / "se.duckdb"
    store = open_store(db)
    try:
        run_ingest(store.con, "stackexchange", [data], {})
    finally:
        store.close()
    return str(db)


def test_real_questions_find_their_answerers_using_only_the_past(se_db):
    """Replay the sample's later questions as of the moment they were asked: nothing newer is used,
    and the people who really answered are found near the top far more often than by chance."""
    store = open_store(se_db, read_only=True)
    con = store.con
    try:
        rows = con.execute(
            """SELECT q.item_id, q.title, q.text, q.tags, q.created, qa.person_id,
                      list_distinct(list(aa.person_id)) AS answerers
               FROM items q JOIN identities qa ON qa.identity = q.author
               JOIN items a ON a.parent_id = q.item_id AND a.kind = 'answer'
               JOIN identities aa ON aa.identity = a.author
               WHERE q.kind = 'question' AND q.created >= '2010-10-01' AND aa.person_id <> qa.person_id
               GROUP BY ALL ORDER BY q.created"""
        ).fetchall()
        assert len(rows) >= 20
        index = build_index(con)
        questions = [Question(f"{r[1]} {r[1]} {r[2]}", tags=list(r[3]), id=r[0], asked_at=r[4], asker=r[5])
                     for r in rows]
        finder = ExpertFinder(index)
        results = finder.find(questions, top=5)
        hits = 0
        for q, experts, r in zip(questions, results, rows, strict=True):
            created = {e["item_id"]: e["created"] for x in experts for e in x.evidence}
            assert all(when < q.asked_at for when in created.values())  # evidence predates the question
            assert q.asker not in {x.person for x in experts}
            hits += bool({x.person for x in experts} & set(r[6]))
        # 200 answerers' worth of candidates: a random top 5 would almost never contain an answerer.
        assert hits / len(rows) >= 0.6
    finally:
        store.close()


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "resonance", *args], capture_output=True, text=True,
                          input=stdin, timeout=300)


def test_batch_mode_reads_json_lines_and_writes_json_lines(se_db, tmp_path):
    batch = tmp_path / "questions.jsonl"
    batch.write_text(
        json.dumps({"id": "q-1", "title": "Should we allow questions about bike shops?",
                    "body": "Is shopping advice on topic here?", "tags": ["discussion", "scope"]}) + "\n"
        + "{not json\n"
        + json.dumps({"id": 7, "title": "How do tags work on this site?", "body": "", "tags": "<tags>"}) + "\n",
        encoding="utf-8",
    )
    out = _cli("experts", "--batch", str(batch), "--top", "3", "--db", se_db)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["q-1", "7"]
    assert "questions.jsonl:2: skipped" in out.stderr  # the bad line is named, the rest goes on
    for line in lines:
        assert set(line) == {"id", "experts"} and 1 <= len(line["experts"]) <= 3
        for e in line["experts"]:
            assert set(e) == {"person", "identities", "score", "why"}
            assert e["person"].startswith("stackexchange:bicycles-meta-2023:") and e["identities"] and e["why"]
        scores = [e["score"] for e in line["experts"]]
        assert scores == sorted(scores, reverse=True)


def test_single_question_json(se_db):
    out = _cli("experts", "Should the site allow shopping questions?", "--tags", "discussion,scope",
               "--top", "2", "--json", "--db", se_db)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert len(result["experts"]) == 2 and result["experts"][0]["rank"] == 1
    assert result["experts"][0]["evidence"]


@pytest.fixture
def twins_store(store, tmp_path):
    """Amy and Zoe answered the same question the same way (equal experts); Zed asks, and has a two-way tie
    with Zoe only (Amy has the same kind of tie with Max); Kim is a far stronger expert the asker does not know."""
    w = World()
    w.create("pat", "2026-02-01T09:00:00Z", "Question", "q1", "Backups of the billing database fail at night.",
             title="Postgres backup fails", tags=["postgres"])
    for name, item in (("amy", "a1"), ("zoe", "a2")):
        w.create(name, "2026-02-01T10:00:00Z", "Answer", item,
                 "Check the postgres WAL archive settings and the backup user's permissions.", parent="q1")
    for n in range(1, 5):
        w.create("pat", f"2026-02-0{n + 1}T09:00:00Z", "Question", f"k{n}", "Postgres replication and backups.",
                 title=f"Postgres backup question {n}", tags=["postgres"])
        w.create("kim", f"2026-02-0{n + 1}T10:00:00Z", "Answer", f"ka{n}",
                 "Postgres backup: WAL archive, pg_basebackup, and replication slots.", parent=f"k{n}")
        w.react("Accept", "pat", f"2026-02-0{n + 1}T11:00:00Z", f"ka{n}")
    # Zed and Zoe talk to each other (both directions): a trusted tie. Amy does the same with Max,
    # so that the twins stay equal in everything but whom they know.
    for friend, expert in (("zed", "zoe"), ("max", "amy")):
        w.create(friend, "2026-02-10T09:00:00Z", "Note", f"{friend}1", "Lunch plans for Friday?", title="Lunch")
        w.create(expert, "2026-02-10T10:00:00Z", "Comment", f"{expert}2", "Count me in.", parent=f"{friend}1")
        w.create(expert, "2026-02-11T09:00:00Z", "Note", f"{expert}3", "Anyone up for a run?", title="Run")
        w.create(friend, "2026-02-11T10:00:00Z", "Comment", f"{friend}4", "Yes!", parent=f"{expert}3")
    w.ingest(store, tmp_path)
    return store


def test_personalisation_puts_a_close_expert_first_among_equals(twins_store):
    con = twins_store.con
    q = Question("Our postgres backup fails every night", tags=["postgres"], asker=pid("zed"))
    plain = find_experts(con, [q], top=3)[0]
    by_name = {e["person"]: e for e in plain}
    assert by_name[pid("amy")]["score"] == pytest.approx(by_name[pid("zoe")]["score"])  # equals
    assert [e["person"] for e in plain] == [pid("kim"), pid("amy"), pid("zoe")]  # ties broken by id

    mine = find_experts(con, [q], top=3, personalise_for=pid("zed"))[0]
    assert [e["person"] for e in mine] == [pid("kim"), pid("zoe"), pid("amy")]  # the strong expert stays first
    zoe = mine[1]
    assert zoe["distance"] == 1
    assert [p["person"] for p in zoe["path"]] == [pid("zed"), pid("zoe")]
    assert "1 step away" in zoe["why"]


def test_graph_ties_are_counted_from_interactions(twins_store):
    graph = build_graph(twins_store.con, as_of=datetime(2026, 3, 1))
    tie = graph.tie(pid("zed"), pid("zoe"))
    assert tie["reciprocal"] and tie["social"] == 2
    assert graph.tie(pid("zed"), pid("amy")) is None


@pytest.fixture
def busy_store(store, tmp_path):
    """Ann and Bob answered the same postgres question the same way in January (equal topical fit); from
    20 February Bob answers many questions on an unrelated topic (gardening), so he is the one around lately."""
    w = World()
    w.create("pat", "2026-01-05T09:00:00Z", "Question", "q1", "Backups of the billing database fail at night.",
             title="Postgres backup fails", tags=["postgres"])
    for name, item in (("ann", "a1"), ("bob", "a2")):
        w.create(name, "2026-01-05T10:00:00Z", "Answer", item,
                 "Check the postgres WAL archive settings and the backup user's permissions.", parent="q1")
    for n in range(1, 7):
        w.create("sue", f"2026-02-{20 + n}T09:00:00Z", "Question", f"g{n}", "Tomatoes wilt in the greenhouse.",
                 title=f"Tomato seedlings {n}", tags=["gardening"])
        w.create("bob", f"2026-02-{20 + n}T10:00:00Z", "Answer", f"ga{n}",
                 "Water tomatoes in the morning and shade the greenhouse.", parent=f"g{n}")
    w.ingest(store, tmp_path)
    return store


def test_recent_answering_lifts_an_equal_match_and_only_the_past_counts(busy_store):
    """The activity prior is recency-weighted and, like everything in the score, computed as of the
    question: asked on 1 March, Bob (busy lately) comes before Ann; asked on 10 February, before Bob's
    burst, they are equal again (ties by id) and the later answers count for nothing."""
    index = build_index(busy_store.con)
    finder = ExpertFinder(index)
    text = "postgres backup fails at night"
    late = Question(text, tags=["postgres"], asked_at=datetime(2026, 3, 1), asker=pid("pat"))
    early = Question(text, tags=["postgres"], asked_at=datetime(2026, 2, 10), asker=pid("pat"))
    ranked_late, ranked_early = finder.find([late, early], top=2, explain=False)
    assert [e.person for e in ranked_late] == [pid("bob"), pid("ann")]
    assert ranked_late[0].score > ranked_late[1].score
    assert [e.person for e in ranked_early] == [pid("ann"), pid("bob")]
    assert ranked_early[0].score == pytest.approx(ranked_early[1].score)
    # Without the prior (what "opportunities to help" uses) only topical fit counts: equal at any time.
    plain = ExpertFinder(index, prior_weight=0.0).find([late], top=2, explain=False)[0]
    assert plain[0].score == pytest.approx(plain[1].score)
