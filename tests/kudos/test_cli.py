"""`resonance kudos give | links | list | meetings | vote` on a store file, and the demo's kudos accounts."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from resonance.cli import app
from resonance.kudos.demo import create_demo_accounts
from resonance.store import open_store

runner = CliRunner()


def run(db, *args: str):
    return runner.invoke(app, ["kudos", *args, "--db", str(db)])


def test_cli(kudos_template, tmp_path):
    db = tmp_path / "cli.duckdb"
    shutil.copy(kudos_template[0], db)
    listed = run(db, "meetings", "--organizer", "chloe", "--customer")
    assert listed.exit_code == 0 and listed.stdout.startswith("ical:globex-review\t"), listed.output
    assert "customer Globex Industries" in listed.stdout
    both = run(db, "meetings", "--organizer", "chloe", "--attendee", "omar.farouk@acme.example")
    assert [x.split("\t")[0] for x in both.stdout.splitlines()] == ["ical:globex-review"], both.output
    none = run(db, "meetings", "--organizer", "chloe", "--attendee", "sofia")  # Sofia was not in it
    assert none.exit_code == 0 and "no meetings found" in none.output and "ical:" not in none.output
    links = run(db, "links", "--meeting", "globex-review", "--base-url", "https://resonance.example")
    assert links.exit_code == 0, links.output
    lines = links.stdout.strip().splitlines()
    assert len(lines) == 3 and all("\thttps://resonance.example/k/" in x for x in lines)
    assert {x.split(" <")[0] for x in lines} == {"Ada Brook", "Liam Okafor", "Omar Farouk"}
    give = ["give", "--from", "chloe", "--to", "omar.farouk@acme.example", "--meeting", "ical:globex-review",
            "-m", "Great call", "--value", "teamwork", "--json"]
    first = run(db, *give)
    assert first.exit_code == 0 and json.loads(first.stdout)["created"] is True, first.output
    assert json.loads(run(db, *give).stdout)["created"] is False
    refused = run(db, "give", "--from", "ada", "--to", "hr:E03")
    assert refused.exit_code == 2 and "yourself" in refused.output
    found = json.loads(run(db, "list", "--to", "omar", "--json").stdout)
    assert found["total"] == 1 and found["items"][0]["account_name"] == "Globex Industries"
    voted = run(db, "vote", "--by", "mara", "--item", "social:item005", "--value", "up", "--json")
    assert voted.exit_code in (0, 2), voted.output  # 2 only if Mara wrote that item
    with open_store(db) as store:
        assert store.con.execute("SELECT actor, channel FROM kudos_audit WHERE action = 'kudos'").fetchall() == [
            ("cli", "cli")]


def test_demo_accounts_pair_an_organiser_with_a_colleague(kudos_template, tmp_path):
    db = tmp_path / "demo.duckdb"
    shutil.copy(kudos_template[0], db)
    with open_store(db) as store:
        store.con.execute("DELETE FROM users")
        accounts = create_demo_accounts(store.con)
        assert [(a["username"], a["person_id"]) for a in accounts] == [("organizer", "hr:E09"), ("attendee", "hr:E03")]
        assert create_demo_accounts(store.con) == accounts  # re-running resets, nothing new
    listed = run(db, "meetings", "--organizer", "organizer", "--customer")
    assert listed.stdout.startswith("ical:globex-review\t")
    assert run(db, "meetings", "--attendee", "attendee", "--customer").stdout.startswith("ical:globex-review\t")
