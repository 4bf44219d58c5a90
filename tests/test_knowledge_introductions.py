"""Warm introductions: shortest trusted paths in the person graph."""

from __future__ import annotations

import pytest

from knowledge_world import World, pid
from resonance.knowledge.graph import build_graph
from resonance.knowledge.introductions import introduction_paths
from resonance.knowledge.people import NotFound


@pytest.fixture
def network(store, tmp_path):
    """ann <-> ben (replies both ways), ben -- cat (3 meetings), cat -- xia (3 meetings): a warm 3-hop path.
    ann -> dov is one like (weak), dov <-> xia replies both ways: a 2-hop path over a weak tie. ivy is alone."""
    w = World()
    w.create("ann", "2026-03-01T09:00:00Z", "Note", "n1", "Release notes draft", title="Release notes")
    w.create("ben", "2026-03-01T10:00:00Z", "Comment", "c1", "Looks good", parent="n1")
    w.create("ben", "2026-03-02T09:00:00Z", "Note", "n2", "On-call handover", title="Handover")
    w.create("ann", "2026-03-02T10:00:00Z", "Comment", "c2", "Thanks", parent="n2")
    for n in range(3):
        for name in ("ben", "cat"):
            w.attend(name, f"2026-03-1{n}T09:00:00Z", f"sync-{n}")
        for name in ("cat", "xia"):
            w.attend(name, f"2026-03-2{n}T09:00:00Z", f"customer-{n}")
    w.create("dov", "2026-03-05T09:00:00Z", "Note", "n3", "Travel tips", title="Travel")
    w.react("Like", "ann", "2026-03-05T10:00:00Z", "n3")
    w.create("xia", "2026-03-06T09:00:00Z", "Comment", "c3", "Great tips", parent="n3")
    w.create("xia", "2026-03-07T09:00:00Z", "Note", "n4", "Our roadmap", title="Roadmap")
    w.create("dov", "2026-03-07T10:00:00Z", "Comment", "c4", "Interesting", parent="n4")
    w.create("ivy", "2026-03-08T09:00:00Z", "Note", "n5", "Hello", title="Hello")
    w.ingest(store, tmp_path)
    return store


def test_warm_path_beats_a_shorter_path_over_a_weak_tie(network):
    result = introduction_paths(network.con, pid("ann"), "xia@acme.example")
    assert result["found"] and result["to"]["person_id"] == pid("xia")
    best = result["paths"][0]
    assert best["warm"] and best["hops"] == 3
    assert [s["person"] for s in best["steps"]] == [pid("ann"), pid("ben"), pid("cat"), pid("xia")]
    assert best["steps"][1]["tie"]["reciprocal"] and "2 replies" in best["steps"][1]["how"]
    assert best["steps"][2]["how"] == "3 meetings together"
    assert best["summary"].startswith("Ask Ben")

    graph = build_graph(network.con)
    assert graph.path(pid("ann"), pid("xia"), trusted=False) == [pid("ann"), pid("dov"), pid("xia")]
    assert not graph.tie(pid("ann"), pid("dov"))["reciprocal"]


def test_no_path_and_unknown_targets(network):
    alone = introduction_paths(network.con, pid("ann"), "ivy@acme.example")
    assert not alone["found"] and alone["paths"] == []
    with pytest.raises(NotFound):
        introduction_paths(network.con, pid("ann"), "nobody@acme.example")


def test_direct_tie_is_one_hop(network):
    result = introduction_paths(network.con, pid("ann"), pid("ben"))
    assert result["paths"][0]["hops"] == 1 and result["paths"][0]["summary"].startswith("You know Ben directly")
