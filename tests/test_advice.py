"""Advice: the recommendations find their evidence, follow the rules, and their "would move you"
figures are the engine's percentile formula over the real peer distribution (checked by hand)."""

from __future__ import annotations

from datetime import datetime

import pytest
from tests.web.company import _load, build_company, email

from resonance.advice import recommend
from resonance.advice.simulate import peers_of, simulate
from resonance.metrics.pipeline import run_pipeline
from resonance.metrics.rules import load_rules
from resonance.privacy.consent import set_consent
from resonance.sources.base import BatchBuilder

PERIOD = "2026-03"


def _extra(con) -> None:
    """Open questions on kubernetes, comments on Ada's post, an answer to Ada's question."""
    s = BatchBuilder("forum")
    line = iter(range(1, 1000))

    def item(nid, kind, author, when, tags=(), parent=None, title=None):
        s.item(
            native_id=nid,
            item_id=f"forum:{nid}",
            kind=kind,
            author=email(author),
            parent_id=parent,
            title=title or f"{kind} {nid}",
            text="",
            tags=list(tags),
            created=when,
            container="k8s",
            file="forum.ndjson",
            line=next(line),
        )
        s.event(
            native_id=f"c-{nid}",
            time=when,
            actor=email(author),
            verb="Create",
            object=f"forum:{nid}",
            object_type="item",
            file="forum.ndjson",
            line=next(line),
        )

    item("ada-post", "post", "E03", datetime(2026, 3, 2), ["kubernetes"], title="Our cluster upgrade notes")
    for n, (who, day) in enumerate([("E05", 10), ("E06", 14), ("E09", 20)]):
        item(f"q{n}", "question", who, datetime(2026, 3, day), ["kubernetes", "helm"], title=f"Kubernetes question {n}")
    item("q-done", "question", "E05", datetime(2026, 3, 5), ["kubernetes"])
    item("a-done", "answer", "E04", datetime(2026, 3, 6), parent="forum:q-done")
    s.event(
        native_id="acc-done",
        time=datetime(2026, 3, 7),
        actor=email("E05"),
        verb="Accept",
        object="forum:a-done",
        object_type="item",
        file="forum.ndjson",
        line=next(line),
    )
    item("c1", "comment", "E04", datetime(2026, 3, 5), parent="forum:ada-post")
    item("c2", "comment", "E04", datetime(2026, 3, 6), parent="forum:ada-post")
    item("c3", "comment", "E12", datetime(2026, 3, 8), parent="forum:ada-post")
    item("ada-q", "question", "E03", datetime(2026, 3, 3), ["kubernetes"])
    item("ada-q-a", "answer", "E07", datetime(2026, 3, 4), parent="forum:ada-q")
    _load(con, "as2", s)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    from resonance.store import open_store

    store = open_store(tmp_path_factory.mktemp("advice") / "advice.duckdb")
    build_company(store.con)
    _extra(store.con)
    run_pipeline(store.con, periods=["month"])
    yield store.con
    store.close()


def _by_kind(result):
    return {a["kind"]: a for a in result["advice"]}


def test_advice_finds_its_evidence_and_follows_the_rules(con):
    result = recommend(con, "hr:E03", PERIOD)
    assert result["period"]["label"] == PERIOD and result["peers"]["phrase"] == "among engineers"
    kinds = _by_kind(result)
    questions = kinds["answer_questions"]
    assert {e["item_id"] for e in questions["evidence"]} == {"forum:q0", "forum:q1", "forum:q2"}
    assert questions["title"] == "Answer 3 open questions on kubernetes"
    rules = load_rules()
    deltas = {e["metric"]: e["delta"] for e in questions["effects"]}
    assert deltas["activity"] == 3 * rules["activity"]["weights"]["answer"]
    replies = kinds["reply_commenters"]
    # Liam commented twice, Ravi once, Priya answered Ada's question: three threads waiting for Ada.
    assert [e["person"] for e in replies["evidence"]][0] == "Liam Okafor"
    assert {e["person"] for e in replies["evidence"]} == {"Liam Okafor", "Ravi Kumar", "Priya Natarajan"}
    assert {e["metric"]: e["delta"] for e in replies["effects"]} == {
        "activity": 3 * rules["activity"]["weights"]["comment"]
    }
    assert replies["link"].startswith("/me/item?id=forum")
    thanks = kinds["thank_helpers"]
    assert any(e["person"] == "Priya Natarajan" and e["how"] == "answered your question" for e in thanks["evidence"])
    # Ranked by the percentile gain of the main effect.
    gains = [a["gain"] for a in result["advice"]]
    assert gains == sorted(gains, reverse=True)
    for a in result["advice"]:
        assert "percentile among engineers" in a["text"] and a["assumption"]


def test_would_move_you_figures_checked_by_hand(con):
    """The percentile before and after, recomputed here from person_metrics and the directory."""
    result = recommend(con, "hr:E03", PERIOD)
    peers = [
        r[0]
        for r in con.execute(
            "SELECT person_id FROM people WHERE role = 'engineer' AND NOT coalesce(is_external, false)"
        ).fetchall()
    ]
    checked = 0
    for a in result["advice"]:
        for e in a["effects"]:
            values = dict(
                con.execute(
                    "SELECT person_id, value FROM person_metrics WHERE period = ? AND metric = ?", [PERIOD, e["metric"]]
                ).fetchall()
            )
            mine = values.get("hr:E03", 0.0)
            others = [values.get(p, 0.0) for p in peers if p != "hr:E03"]
            before = 100 * sum(v < mine for v in others) / len(others)
            after = 100 * sum(v < mine + e["delta"] for v in others) / len(others)
            assert e["value"] == pytest.approx(mine, abs=1e-4)
            assert e["percentile"] == pytest.approx(before, abs=0.05)
            assert e["new_percentile"] == pytest.approx(after, abs=0.05)
            # "From" is the engine's own percentile among the same peers.
            engine = con.execute(
                """SELECT percentile FROM person_percentiles WHERE period = ? AND person_id = 'hr:E03'
                   AND metric = ? AND peer_group = 'role'""",
                [PERIOD, e["metric"]],
            ).fetchall()
            assert e["percentile"] == pytest.approx(engine[0][0] if engine else 0.0, abs=0.05)
            checked += 1
    assert checked >= 4


def test_simulate_moves_past_exactly_the_peers_below_the_new_value(con):
    peers = peers_of(con, "hr:E05", "department")
    assert peers.phrase() == "in Engineering" and peers.size == 7
    values = sorted(
        v
        for (v,) in con.execute(
            """SELECT coalesce(pm.value, 0) FROM people p LEFT JOIN person_metrics pm ON pm.person_id = p.person_id
           AND pm.period = ? AND pm.metric = 'activity'
           WHERE p.department = 'Engineering' AND p.person_id <> 'hr:E05'""",
            [PERIOD],
        ).fetchall()
    )
    top = max(values)
    out = simulate(con, "hr:E05", PERIOD, "activity", top + 1, peers)
    assert out["new_percentile"] == 100.0


def test_reads_shared_through_a_memo_give_everybody_the_same_advice(con):
    """The web remembers what every person's advice reads for a period (peers' values, group sizes, what an
    answer draws); advice built from those shared reads equals advice read afresh, for every person and group,
    including an external person compared with a group they are not in."""
    remembered: dict = {}
    computed: list = []
    asked: list = []

    def memo(key, compute):
        asked.append(key)
        if key not in remembered:
            computed.append(key)
            remembered[key] = compute()
        return remembered[key]

    people = [r[0] for r in con.execute("SELECT person_id FROM people ORDER BY person_id").fetchall()]
    calls = 0
    con.execute("BEGIN")
    try:  # one colleague made external for this test only (the company has none)
        con.execute("UPDATE people SET is_external = true WHERE person_id = 'hr:E12'")
        for group in ("role", "department", "company"):
            for pid in people:
                assert recommend(con, pid, PERIOD, group, memo=memo) == recommend(con, pid, PERIOD, group)
                calls += 1
        assert not peers_of(con, "hr:E12").includes_person
    finally:
        con.execute("ROLLBACK")
    kinds = {k[0] for k in computed}
    assert {"advice_peer_values", "advice_group_size", "advice_answer_average"} <= kinds
    assert len(computed) * 3 < len(asked) and calls == 3 * len(people)  # shared: most asks find it remembered


def test_opted_out_colleagues_are_not_named(con):
    set_consent(con, "hr:E04", "analytics", False, changed_by="liam", via="test")
    try:
        replies = _by_kind(recommend(con, "hr:E03", PERIOD))["reply_commenters"]
        names = [e["person"] for e in replies["evidence"]]
        assert "Liam Okafor" not in names and "A colleague" in names
    finally:
        set_consent(con, "hr:E04", "analytics", True, changed_by="liam", via="test")


def test_expertise_topics_come_first(con):
    """Topics from the knowledge module's expertise profile are tried before the tags of one's items."""
    questions = _by_kind(recommend(con, "hr:E03", PERIOD, topics=["Helm"]))["answer_questions"]
    assert questions["title"] == "Answer 3 open questions on helm"


def test_effect_sentences_say_what_changes_when_no_peer_is_passed():
    """The three forms of the 'what it would change' sentence (a gain, a leader, not yet enough)."""
    from resonance.advice.recommend import _effect_sentence

    base = {"label": "Reaction", "delta": 12.0}
    gain = _effect_sentence("Answering 3 questions", {**base, "percentile": 42.0, "new_percentile": 55.0, "gain": 13.0},
                            "among engineers")
    assert gain == ("Answering 3 questions would move your Reaction from the 42nd to about the 55th percentile "
                    "among engineers (+12.0).")
    top = {**base, "percentile": 100.0, "new_percentile": 100.0, "gain": 0.0}
    lead = _effect_sentence("Answering 3 questions", top, "among engineers")
    assert "would add about 12.0 to your Reaction" in lead and "already at the 100th percentile among engineers" in lead
    stay = _effect_sentence("Answering 3 questions", {**base, "percentile": 21.0, "new_percentile": 21.0, "gain": 0.0},
                            "in Sales")
    assert "not yet enough to pass a peer" in stay and "stay at the 21st percentile in Sales" in stay
