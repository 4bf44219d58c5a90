"""Identity resolution: normalisation, suggestions, audited merge/unmerge round trips."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import rows
from resonance.identity.matching import suggest
from resonance.identity.normalize import (
    email_keys,
    infer_company_domains,
    normalize_email,
    organization_of,
    registrable_domain,
)
from resonance.identity.operations import IdentityError, describe_person, list_ops, merge, unmerge
from resonance.ingest import run_ingest

USRP = "usrp-users-2019-first250.mbox.gz"


def snapshot(store) -> dict[str, list[tuple]]:
    return {
        "identities": rows(store, "SELECT identity, person_id, kind FROM identities ORDER BY identity"),
        "profiles": rows(store, "SELECT source, native_id, person_id FROM profiles ORDER BY source, native_id"),
        "people": rows(store, "SELECT * FROM people ORDER BY person_id"),
    }


def events_per_person(store) -> dict[str, int]:
    """What a metric does: events (as actor or recipient) joined to persons through identities."""
    return dict(rows(store, "SELECT i.person_id, count(*) FROM (SELECT actor AS who FROM events UNION ALL "
                            "SELECT unnest(recipients) FROM events) e JOIN identities i ON i.identity = e.who "
                            "GROUP BY 1"))


def test_email_normalisation():
    assert normalize_email("Dana.Scully+CRM@ACME.example") == "dana.scully@acme.example"
    assert normalize_email("dana@acme.com", {"acme.com": "acme.example"}) == "dana@acme.example"
    assert email_keys("Fox+lists@Acme.example") == ["email:fox+lists@acme.example", "email:fox@acme.example"]
    assert email_keys("fox@acme.example") == ["email:fox@acme.example"]
    assert registrable_domain("ihf.tu-bs.de") == "tu-bs.de"
    assert registrable_domain("mail.globex.co.uk") == "globex.co.uk"
    assert organization_of("gmail.com") is None and organization_of("eng.ucsd.edu") == "ucsd.edu"
    assert infer_company_domains({"acme.example": 40, "gmail.com": 90, "globex.com": 5}) == {"acme.example"}
    assert infer_company_domains({"gmail.com": 3}) == frozenset()


def test_suggestions_from_the_real_archive_are_weak_evidence_only(store, data_dir):
    run_ingest(store.con, "email", [data_dir / "mail" / USRP])
    found = suggest(store.con)
    pairs = {(s["person_a"], s["person_b"]): s for s in found}
    marcus = pairs[("email:marcus.mueller@ettus.com", "email:mmueller@gnuradio.org")]
    assert marcus["score"] == 0.6
    assert marcus["evidence"] == [{"kind": "same_name", "detail": "Marcus Müller = Marcus Müller", "score": 0.6}]
    # Suggesting changes nothing.
    assert rows(store, "SELECT count(*) FROM identity_ops") == [(0,)]
    assert rows(store, "SELECT count(*) FROM people WHERE display_name = 'Marcus Müller'") == [(2,)]


def test_merge_unmerge_round_trip_restores_exactly(store, data_dir):
    run_ingest(store.con, "email", [data_dir / "mail" / USRP])
    run_ingest(store.con, "slack", [data_dir / "slack" / "acme-export"])
    before, before_counts = snapshot(store), events_per_person(store)
    op = merge(store.con, "email:marcus.mueller@ettus.com", "mmueller@gnuradio.org", actor="tester",
               reason="same person, two addresses")
    merged = events_per_person(store)
    # Metrics follow the merged identity: one person now owns both addresses' messages.
    assert merged["email:marcus.mueller@ettus.com"] == (before_counts["email:marcus.mueller@ettus.com"]
                                                         + before_counts["email:mmueller@gnuradio.org"])
    assert "email:mmueller@gnuradio.org" not in merged
    person = describe_person(store.con, "email:mmueller@gnuradio.org")
    assert person["person_id"] == "email:marcus.mueller@ettus.com"
    assert person["identities"] == ["email:marcus.mueller@ettus.com", "email:mmueller@gnuradio.org"]
    audit = rows(store, "SELECT op, actor, person_a, person_b, reason, undone_by FROM identity_ops")
    assert audit == [("merge", "tester", "email:marcus.mueller@ettus.com", "email:mmueller@gnuradio.org",
                      "same person, two addresses", None)]
    undo = unmerge(store.con, op.op_id, actor="tester")
    assert snapshot(store) == before
    assert events_per_person(store) == before_counts
    assert [o["op"] for o in list_ops(store.con)] == ["unmerge", "merge"]
    assert list_ops(store.con)[1]["undone_by"] == undo.op_id
    with pytest.raises(IdentityError, match="already undone"):
        unmerge(store.con, op.op_id, actor="tester")
    # Someone split them: not suggested again.
    assert not [s for s in suggest(store.con) if s["person_b"] == "email:mmueller@gnuradio.org"]


def test_unmerge_of_an_automatic_link_restores_both_persons(store, data_dir, tmp_path):
    # Two persons known only from activity: an e-mail address and a Slack account.
    activity = tmp_path / "activity.ndjson"
    activity.write_text("\n".join(json.dumps({"id": f"a{i}", "type": "Like", "actor": actor, "object": "urn:x:1",
                                              "published": "2026-03-01T10:00:00Z"})
                                  for i, actor in enumerate(["mailto:dana.scully@acme.example", "slack:U01DANA"])))
    run_ingest(store.con, "as2", [activity])
    before = snapshot(store)
    assert rows(store, "SELECT count(*) FROM people") == [(2,)]
    # The Slack export says U01DANA's e-mail is dana.scully@acme.example: strong evidence, linked and audited.
    run_ingest(store.con, "slack", [data_dir / "slack" / "acme-export"])
    links = rows(store, "SELECT op_id, actor, person_a, person_b, reason FROM identity_ops WHERE op = 'link'")
    assert links == [(links[0][0], "system", "email:dana.scully@acme.example", "slack:U01DANA", "shared identity key")]
    assert len(events_per_person(store)) == 4  # Dana's likes and messages: one person (+ Fox, Walter, the bot)
    unmerge(store.con, links[0][0], actor="tester", reason="two people share a mailbox")
    keys = ("email:dana.scully@acme.example", "slack:U01DANA")
    assert [r for r in snapshot(store)["identities"] if r[0] in keys] == [
        r for r in before["identities"] if r[0] in keys]
    # The split sticks: the next ingest of the same export does not link them again.
    split = snapshot(store)
    run_ingest(store.con, "slack", [data_dir / "slack" / "acme-export"])
    assert snapshot(store) == split
    assert rows(store, "SELECT count(*) FROM identity_ops WHERE op = 'link'") == [(1,)]


def test_no_false_merge_on_shared_first_names(store, tmp_path):
    folder = tmp_path / "export"
    (folder / "general").mkdir(parents=True)
    (folder / "users.json").write_text(json.dumps([
        {"id": "U1", "name": "dana.k", "profile": {"real_name": "Dana Katz", "email": "dana.katz@acme.example"}},
        {"id": "U2", "name": "dana.s", "profile": {"real_name": "Dana Scully", "email": "dana.scully@acme.example"}},
        {"id": "U3", "name": "dana", "profile": {"real_name": "Dana", "email": "dana@globex.com"}},
        {"id": "U4", "name": "d.scully", "profile": {"real_name": "Dana Scully", "email": "d.scully@globex.com"}},
    ]))
    (folder / "channels.json").write_text("[]")
    run_ingest(store.con, "slack", [folder])
    assert rows(store, "SELECT count(*) FROM people") == [(4,)]  # nothing merged on names
    pairs = {(s["name_a"], s["name_b"]) for s in suggest(store.con)}
    # The two "Dana Scully" are a suggestion (same full name at two companies), never a merge;
    # a shared first name alone ("Dana", "Dana Katz", "Dana Scully") is no evidence at all.
    assert pairs == {("Dana Scully", "Dana Scully")}


def test_cli_identities_suggest_merge_unmerge_list(tmp_path, data_dir):
    db = str(tmp_path / "cli.duckdb")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "resonance", *args, "--db", db], capture_output=True,
                              text=True, timeout=300)

    assert cli("ingest", "email", str(data_dir / "mail" / USRP)).returncode == 0
    found = json.loads(cli("identities", "suggest", "--json").stdout)
    assert len(found) == 3
    merged = cli("identities", "merge", found[0]["person_a"], found[0]["person_b"], "--by", "ops", "--json")
    assert merged.returncode == 0, merged.stderr
    op_id = json.loads(merged.stdout)["op_id"]
    listed = json.loads(cli("identities", "list", found[0]["person_b"], "--json").stdout)
    assert listed["person_id"] == found[0]["person_a"] and listed["operations"][0]["actor"] == "ops"
    assert cli("identities", "unmerge", str(op_id), "--json").returncode == 0
    again = cli("identities", "unmerge", str(op_id))
    assert again.returncode != 0 and "already undone" in again.stderr
    assert [o["op"] for o in json.loads(cli("identities", "list", "--json").stdout)] == ["unmerge", "merge"]


def test_employee_and_customer_contact_namesakes_are_counter_evidence(store, tmp_path):
    (tmp_path / "User.csv").write_text("Id,Email,Name\n005U1,jane.roe@acme.example,Jane Roe\n")
    (tmp_path / "Account.csv").write_text("Id,Name\n001G,Globex\n")
    (tmp_path / "Contact.csv").write_text("Id,AccountId,Email,Name\n003C1,001G,jane.roe@globex.com,Jane Roe\n")
    run_ingest(store.con, "crm", [tmp_path])
    assert suggest(store.con) == []  # 0.6 (same name) - 0.5 (employee vs customer contact) < 0.4
    [weak] = suggest(store.con, min_score=0.0)
    assert weak["score"] == 0.1
    assert [e["kind"] for e in weak["evidence"]] == ["same_name", "different_organization"]
    assert weak["evidence"][1]["detail"] == "customer contact at Globex vs employee"
