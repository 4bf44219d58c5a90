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

from resonance.demo import INGEST_ORDER, connector_options
from resonance.generate import OUTPUTS, GenerateOptions, generate
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
    """Every generated format through its connector, when the connector exists (as `resonance demo`)."""
    store = open_store(tmp_path_factory.mktemp("store") / "gen.duckdb")
    manifest = json.loads((world / "manifest.json").read_text())
    sources = registry()
    reports = {}
    for kind in INGEST_ORDER:
        if kind in sources:
            options = connector_options(sources[kind].option_help, manifest, world)
            reports[kind] = run_ingest(store.con, kind, [world / OUTPUTS[kind][0]], options)
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


def test_every_connector_reads_its_format_with_zero_rejections(ingested):
    store, reports = ingested
    assert "as2" in reports
    for kind, report in reports.items():
        assert report.rejected == 0, (kind, dict(report.counts.reasons))
        assert report.ingested > 0, kind
    sources = {r[0] for r in store.con.execute("SELECT DISTINCT source FROM events").fetchall()}
    assert {k for k in reports if k not in ("directory", "scim")} <= sources


def test_slack_export_parses_and_aliases_the_directory(world: Path):
    slack = world / "slack"
    users = json.loads((slack / "users.json").read_text())
    channels = json.loads((slack / "channels.json").read_text())
    people = {u["id"]: u for u in users if not u["is_bot"]}
    directory = read_csv(world / "directory.csv")
    assert len(people) == len(directory)
    handles = {h.split(":", 1)[1] for r in directory for h in r["handles"].split(";") if h.startswith("slack:")}
    assert handles <= set(people) and len(handles) > 0.8 * len(directory)
    with_email = [u for u in people.values() if "email" in u["profile"]]
    assert len(directory) * 0.7 < len(with_email) < len(directory)
    assert any(u["profile"]["email"] != u["profile"]["email"].lower() for u in with_email)
    names = {ch["name"] for ch in channels}
    assert {"general", "random", "eng"} <= names
    messages = [m for ch in names if (slack / ch).is_dir() for f in sorted((slack / ch).glob("*.json"))
                for m in json.loads(f.read_text())]
    assert messages
    ts = {m["ts"] for m in messages}
    replies = [m for m in messages if m.get("thread_ts") and m["thread_ts"] != m["ts"]]
    assert replies and all(r["thread_ts"] in ts for r in replies)
    reacted = [r for m in messages for r in m.get("reactions", [])]
    assert reacted and all(set(r["users"]) <= set(people) for r in reacted)
    assert any("<@U" in m["text"] for m in messages)
    assert any(m.get("files") for m in messages)


def test_mbox_parses_with_threads_and_customers(world: Path):
    import mailbox
    from email.utils import getaddresses

    box = mailbox.mbox(world / "mail.mbox")
    messages = list(box)
    ids = {m["Message-ID"] for m in messages}
    assert len(ids) == len(messages) > 100
    replies = [m for m in messages if m["In-Reply-To"]]
    assert replies and all(m["In-Reply-To"] in ids and m["In-Reply-To"] in m["References"] for m in replies)
    truth = {t["alias"] for t in read_csv(world / "truth" / "identities.csv") if t["source"] == "email"}
    domain = json.loads((world / "manifest.json").read_text())["domain"]
    external = 0
    for m in messages:
        for _, address in getaddresses([h for h in (m["From"], m["To"], m["Cc"]) if h]):
            assert address in truth
            external += not address.lower().endswith(domain) and "-corp." not in address
    assert external > 0
    variants = [a for a in truth if "+" in a or a != a.lower() or "-corp." in a]
    assert variants


def test_calendar_parses_with_recurrences_and_customers(world: Path):
    import icalendar

    cal = icalendar.Calendar.from_ical((world / "calendar.ics").read_bytes())
    events = list(cal.walk("VEVENT"))
    assert events and len({str(e["UID"]) for e in events}) == len(events)
    assert any(e.get("RRULE") for e in events)
    domain = json.loads((world / "manifest.json").read_text())["domain"]
    attendees = [a for e in events for a in (e.get("ATTENDEE") if isinstance(e.get("ATTENDEE"), list)
                                             else [e.get("ATTENDEE")] if e.get("ATTENDEE") else [])]
    assert {a.params["PARTSTAT"] for a in attendees} >= {"ACCEPTED", "DECLINED"}
    assert any(domain not in str(a).lower() for a in attendees)
    assert all(str(e["ORGANIZER"]).lower().startswith("mailto:") for e in events)


def test_crm_csvs_reference_each_other_and_link_to_employees(world: Path):
    crm = world / "crm"
    users = read_csv(crm / "User.csv")
    accounts = {a["Id"]: a for a in read_csv(crm / "Account.csv")}
    contacts = read_csv(crm / "Contact.csv")
    opps = read_csv(crm / "Opportunity.csv")
    team = read_csv(crm / "OpportunityTeamMember.csv")
    assert list(opps[0]) == ["Id", "AccountId", "Name", "StageName", "Amount", "CloseDate", "OwnerId", "IsClosed",
                             "IsWon", "CreatedDate"]
    # A deal is opened before it closes; open deals close in the future, but were created in the past.
    assert all(o["CreatedDate"][:10] < o["CloseDate"] for o in opps)
    user_ids = {u["Id"] for u in users}
    emails = {r["email"] for r in read_csv(world / "directory.csv")}
    assert all(u["Email"].lower() in emails for u in users)
    assert all(c["AccountId"] in accounts for c in contacts)
    assert all(o["AccountId"] in accounts and o["OwnerId"] in user_ids for o in opps)
    assert all(a["OwnerId"] in user_ids for a in accounts.values())
    assert all(t["UserId"] in user_ids and t["OpportunityId"] in {o["Id"] for o in opps} for t in team)
    assert {o["IsWon"] for o in opps if o["IsClosed"] == "true"} == {"true", "false"}
    assert any(o["IsClosed"] == "false" for o in opps)
    won = {o["Id"] for o in opps if o["IsWon"] == "true"}
    assert {h["opportunity_id"] for h in read_csv(world / "truth" / "deal_helpers.csv")} <= won


def test_scim_users_and_groups(world: Path):
    users = json.loads((world / "scim" / "Users.json").read_text())
    groups = json.loads((world / "scim" / "Groups.json").read_text())
    assert users["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    resources = users["Resources"]
    assert users["totalResults"] == len(resources) == SMALL.people
    ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    by_id = {u["id"]: u for u in resources}
    roots = [u for u in resources if "manager" not in u[ext]]
    assert len(roots) == 1
    assert all(u[ext]["manager"]["value"] in by_id for u in resources if "manager" in u[ext])
    directory = {r["id"]: r for r in read_csv(world / "directory.csv")}
    for u in resources:
        person = directory[u[ext]["employeeNumber"]]
        assert u["userName"].lower() == person["email"] and u[ext]["department"] == person["department"]
    members = {m["value"] for g in groups["Resources"] for m in g["members"]}
    assert members == set(by_id)


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
        events = by_opportunity[f"crm-opportunity:{h['opportunity_id']}"]
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
    owners: dict[str, set[str]] = defaultdict(set)
    for t in truth:
        owners[t["identity"]].add(t["person_id"])
    shared = {k: v for k, v in owners.items() if len(v) > 1}
    assert not shared, f"identity keys shared by different people: {list(shared.items())[:3]}"
    lookalikes = read_csv(world / "truth" / "lookalikes.csv")
    assert any(x["kind"] == "same_name" and x["name_a"] == x["name_b"] for x in lookalikes)
    emails = {r["id"]: r["email"] for r in read_csv(world / "directory.csv")}
    assert all(emails[x["person_a"]] != emails[x["person_b"]] for x in lookalikes)


def test_generate_command_line(tmp_path: Path):
    def generate_cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "resonance", "generate", "--out", str(tmp_path / "out"), *args],
                              capture_output=True, text=True, timeout=300)

    ok = generate_cli("--people", "40", "--days", "10", "--seed", "5", "--end", "2026-01-31",
                      "--formats", "as2,directory", "--json")
    assert ok.returncode == 0, ok.stderr
    manifest = json.loads(ok.stdout)
    assert manifest["people"] == 40 and manifest["end"] == "2026-01-31" and manifest["start"] == "2026-01-22"
    assert set(manifest["files"]) == {"directory.csv", "activity.ndjson"}
    assert manifest["files"]["activity.ndjson"]["records"] == 40 * 10 * 3 // 10
    assert (tmp_path / "out" / "truth" / "identities.csv").exists()
    bad_format = generate_cli("--formats", "fax")
    assert bad_format.returncode != 0 and "unknown format" in bad_format.stderr
    bad_end = generate_cli("--end", "31/01/2026")
    assert bad_end.returncode != 0 and "YYYY-MM-DD" in bad_end.stderr


# --- resonance demo ------------------------------------------------------------------------------
@pytest.mark.slow
def test_demo_no_serve_end_to_end_then_reuses(tmp_path: Path):
    def demo(days: str = "60") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "resonance", "demo", "--dir", str(tmp_path / "data"), "--db",
             str(tmp_path / "demo.duckdb"), "--people", "150", "--days", days, "--no-serve"],
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
        employees = store.con.execute("SELECT count(*) FROM people WHERE department IS NOT NULL").fetchall()[0][0]
        experts = store.con.execute("SELECT count(*) FROM consent_log WHERE purpose = 'expert_finding' AND granted "
                                    "AND via = 'demo'").fetchall()[0][0]
    finally:
        store.close()
    # Most employees opted in to expert finding (it defaults off), one audit row each.
    assert 0.6 * employees <= experts <= 0.95 * employees and "opted in to expert finding" in first.stderr
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
        assert store.con.execute("SELECT count(*) FROM consent_log").fetchall()[0][0] == experts
    finally:
        store.close()

    # Another company into the same store would mix two companies: refused, nothing touched.
    other = demo(days="30")
    assert other.returncode != 0 and "different synthetic company" in other.stderr
    assert json.loads((tmp_path / "data" / "manifest.json").read_text())["options"]["days"] == 60
