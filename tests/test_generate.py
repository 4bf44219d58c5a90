"""The synthetic enterprise: determinism, formats that parse, a sound org chart, heavy tails,
truth tables that agree with the data, and `resonance demo` end to end."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from resonance.demo import INGEST_ORDER
from resonance.generate import GenerateOptions, generate
from resonance.generate.formats.directory import HEADER
from resonance.ingest import run_ingest
from resonance.sources import registry
from resonance.store import open_store

SMALL = GenerateOptions(people=150, days=60, seed=7, end=date(2026, 3, 31))


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("company")
    generate(SMALL, out)
    return out


@pytest.fixture(scope="module")
def ingested(world: Path, tmp_path_factory):
    store = open_store(tmp_path_factory.mktemp("store") / "gen.duckdb")
    reports = {}
    if "directory" in registry():
        reports["directory"] = run_ingest(store.con, "directory", [world / "directory.csv"])
    reports["as2"] = run_ingest(store.con, "as2", [world / "activity.ndjson"])
    yield store, reports
    store.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def as2_lines(world: Path) -> list[dict]:
    with open(world / "activity.ndjson", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# --- determinism ---------------------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_other_bytes(world: Path, tmp_path: Path):
    again = tmp_path / "again"
    generate(SMALL, again)
    assert digest(again) == digest(world)
    other = tmp_path / "other"
    generate(GenerateOptions(people=150, days=60, seed=8, end=SMALL.end), other)
    assert digest(other)["activity.ndjson"] != digest(world)["activity.ndjson"]
    assert digest(other)["directory.csv"] != digest(world)["directory.csv"]


def test_a_subset_of_formats_writes_the_same_bytes(world: Path, tmp_path: Path):
    subset = tmp_path / "subset"
    generate(GenerateOptions(**{**SMALL.as_dict(), "end": SMALL.end, "formats": ("as2",)}), subset)
    assert digest(subset)["activity.ndjson"] == digest(world)["activity.ndjson"]
    assert not (subset / "directory.csv").exists()


def test_events_sets_the_exact_number_of_activities(tmp_path: Path):
    manifest = generate(GenerateOptions(people=100, days=30, seed=3, events=7777, formats=("as2",)), tmp_path)
    assert manifest["files"]["activity.ndjson"]["records"] == 7777
    with open(tmp_path / "activity.ndjson", "rb") as f:
        assert sum(1 for _ in f) == 7777


# --- the files parse -----------------------------------------------------------------------------
def test_as2_ingests_with_zero_rejections(world: Path, ingested):
    store, reports = ingested
    as2 = reports["as2"]
    lines = as2_lines(world)
    assert as2.rejected == 0
    assert as2.counts.ingested["events"] == len(lines)
    verbs = Counter(e["type"] for e in lines)
    assert {"Create", "View", "Like", "Announce", "Add", "Follow", "Mention", "Kudos", "Join"} <= set(verbs)
    times = [e["published"] for e in lines]
    assert times == sorted(times)
    assert len({e["id"] for e in lines}) == len(lines)
    kinds = dict(store.con.execute("SELECT kind, count(*) FROM items GROUP BY kind").fetchall())
    assert {"post", "question", "answer", "comment", "file"} <= set(kinds)


def test_directory_csv_has_the_connector_header_and_every_person(world: Path, ingested):
    with open(world / "directory.csv", newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == HEADER
    rows = read_csv(world / "directory.csv")
    assert len(rows) == SMALL.people
    assert len({r["email"] for r in rows}) == len(rows)
    for r in rows:
        for handle in filter(None, r["handles"].split(";")):
            assert handle.split(":", 1)[0] in {"slack", "crm", "github"}
    actors = {e["actor"].removeprefix("mailto:") for e in as2_lines(world) if isinstance(e["actor"], str)}
    assert actors <= {r["email"] for r in rows}
    store, reports = ingested
    if "directory" in reports:
        assert reports["directory"].rejected == 0
        linked = store.con.execute(
            "SELECT count(DISTINCT i.person_id) FROM identities i WHERE i.identity LIKE 'hr:%'"
        ).fetchall()[0][0]
        assert linked == SMALL.people


# --- the company ---------------------------------------------------------------------------------
def test_org_chart_is_a_tree_with_one_root_and_sane_spans(world: Path):
    rows = read_csv(world / "directory.csv")
    by_id = {r["id"]: r for r in rows}
    roots = [r for r in rows if not r["manager_id"]]
    assert len(roots) == 1 and roots[0]["title"] == "Chief Executive Officer"
    for r in rows:
        seen, cur = set(), r
        while cur["manager_id"]:
            assert cur["manager_id"] in by_id
            assert cur["id"] not in seen
            seen.add(cur["id"])
            cur = by_id[cur["manager_id"]]
        assert cur is roots[0]
    reports = Counter(r["manager_id"] for r in rows if r["manager_id"])
    dept_size = Counter(r["department"] for r in rows)
    for manager, n in reports.items():
        m = by_id[manager]
        if m["manager_id"] and dept_size[m["department"]] >= 5:
            assert 4 <= n <= 10, (m["title"], n)
    titles = {r["title"] for r in rows}
    assert any(t.startswith("VP of") for t in titles)
    assert len({r["department"] for r in rows}) >= 8
    assert len({r["location"] for r in rows}) >= 5


def test_activity_is_heavy_tailed(world: Path):
    per_actor = Counter(e["actor"] for e in as2_lines(world))
    counts = np.sort(np.array(list(per_actor.values())))[::-1]
    top_tenth = counts[: max(1, len(counts) // 10)].sum() / counts.sum()
    assert top_tenth > 0.35
    assert counts[0] > 8 * np.median(counts)


def test_behaviour_types_show_in_the_data(world: Path):
    behaviour = {r["email"]: r["behaviour"] for r in read_csv(world / "truth" / "behaviour.csv")}
    assert set(behaviour.values()) == {"observer", "engager", "responder", "broadcaster", "catalyst"}
    per = defaultdict(Counter)
    for e in as2_lines(world):
        if isinstance(e["actor"], str):
            kind = e["object"].get("type") if e["type"] == "Create" else None
            per[behaviour[e["actor"][7:]]][kind or e["type"]] += 1
    people = Counter(behaviour.values())

    def rate(b: str, verb: str) -> float:
        return per[b][verb] / people[b]

    assert rate("broadcaster", "Note") + rate("broadcaster", "Article") > 3 * (
        rate("observer", "Note") + rate("observer", "Article"))
    assert rate("responder", "Answer") > 2 * rate("observer", "Answer")
    assert rate("engager", "Like") > 2 * rate("observer", "Like")
    share_of_views = {b: per[b]["View"] / sum(per[b].values()) for b in per}
    assert share_of_views["observer"] > 1.5 * share_of_views["broadcaster"]


def test_cross_department_help(world: Path):
    dept = {r["email"]: r["department"] for r in read_csv(world / "directory.csv")}
    lines = as2_lines(world)
    author = {e["object"]["id"]: e["actor"][7:] for e in lines if e["type"] == "Create"}
    answers = [e for e in lines if e["type"] == "Create" and e["object"]["type"] == "Answer"]
    crossing = sum(dept[e["actor"][7:]] != dept[author[e["object"]["inReplyTo"]]] for e in answers)
    assert answers and crossing / len(answers) > 0.2


# --- truth tables --------------------------------------------------------------------------------
def test_reaction_ring_likes_each_other_far_above_base_rate(world: Path):
    ring = {r["email"] for r in read_csv(world / "truth" / "reaction_ring.csv")}
    assert 5 <= len(ring) <= 8
    lines = as2_lines(world)
    author = {e["object"]["id"]: e["actor"][7:] for e in lines if e["type"] == "Create"}
    items_by = Counter(author.values())
    likes = Counter()
    for e in lines:
        if e["type"] == "Like":
            likes[(e["actor"][7:], author[e["object"]])] += 1
    people = {r["email"] for r in read_csv(world / "directory.csv")}

    def rate(pairs: list[tuple[str, str]]) -> float:
        return sum(likes[p] for p in pairs) / max(1, sum(items_by[b] for _, b in pairs))

    ring_pairs = [(a, b) for a in ring for b in ring if a != b]
    other = sorted(people - ring)
    base_pairs = [(a, b) for a in other for b in other if a != b]
    assert rate(ring_pairs) > 0.6
    assert rate(ring_pairs) > 50 * rate(base_pairs)


def test_deal_helpers_are_planted_in_the_activity(world: Path):
    helpers = read_csv(world / "truth" / "deal_helpers.csv")
    assert helpers and {h["how"] for h in helpers} <= {"content", "introduction", "kudos"}
    lines = as2_lines(world)
    by_opportunity = defaultdict(list)
    for e in lines:
        ctx = e.get("context")
        if isinstance(ctx, dict) and "opportunity" in ctx:
            by_opportunity[ctx["opportunity"]].append(e)
    created_by = {e["object"]["id"]: e for e in lines if e["type"] == "Create"}
    for h in helpers:
        events = by_opportunity[h["opportunity_id"]]
        email = f"mailto:{h['email']}"
        close = h["close_date"]
        if h["how"] == "content":
            item = h["evidence"].split()[0]
            assert created_by[item]["actor"] == email
            reads = [e for e in events if e["object"] == item and e["type"] in ("View", "Add", "Announce")]
            assert reads and all(e["published"][:10] <= close for e in reads)
        elif h["how"] == "introduction":
            assert any(e["type"] == "Invite" and e["actor"] == email for e in events)
        else:
            assert any(e["type"] == "Kudos" and e["object"] == email and e["published"][:10] >= close for e in events)


def test_identity_truth_covers_every_alias_written(world: Path):
    truth = read_csv(world / "truth" / "identities.csv")
    by_alias = {(t["source"], t["alias"]): t["person_id"] for t in truth}
    for r in read_csv(world / "directory.csv"):
        assert by_alias[("directory", r["email"])] == r["id"]
        assert by_alias[("directory", r["id"])] == r["id"]
    for e in as2_lines(world):
        if isinstance(e["actor"], str):
            assert ("as2", e["actor"][7:]) in by_alias
    lookalikes = read_csv(world / "truth" / "lookalikes.csv")
    assert any(x["kind"] == "same_name" and x["name_a"] == x["name_b"] for x in lookalikes)
    emails = {r["id"]: r["email"] for r in read_csv(world / "directory.csv")}
    assert all(emails[x["person_a"]] != emails[x["person_b"]] for x in lookalikes)


# --- resonance demo ------------------------------------------------------------------------------
@pytest.mark.slow
def test_demo_no_serve_end_to_end_then_reuses(tmp_path: Path):
    def demo() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "resonance", "demo", "--dir", str(tmp_path / "data"), "--db",
             str(tmp_path / "demo.duckdb"), "--people", "150", "--days", "60", "--no-serve"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
        )

    first = demo()
    assert first.returncode == 0, first.stderr
    assert "ingest as2: " in first.stderr and "rejected" in first.stderr
    assert (tmp_path / "data" / "manifest.json").exists()
    store = open_store(tmp_path / "demo.duckdb", read_only=True)
    try:
        runs = store.con.execute("SELECT kind, status, rejected FROM ingest_runs ORDER BY ingest_id").fetchall()
        events = store.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    finally:
        store.close()
    kinds = [r[0] for r in runs]
    assert kinds == sorted(kinds, key=INGEST_ORDER.index) and "as2" in kinds
    assert kinds[0] == ("directory" if "directory" in registry() else "as2")
    assert all(status == "done" and rejected == 0 for _, status, rejected in runs)
    assert events > 1000

    second = demo()
    assert second.returncode == 0, second.stderr
    assert "reusing" in second.stderr and "already in the store" in second.stderr
    store = open_store(tmp_path / "demo.duckdb", read_only=True)
    try:
        assert store.con.execute("SELECT count(*) FROM ingest_runs").fetchall()[0][0] == len(runs)
    finally:
        store.close()
