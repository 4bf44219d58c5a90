"""`resonance forget`: nothing personal remains anywhere in the store; aggregates do not move."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from resonance.jobs.schema import ensure_jobs_schema
from resonance.privacy.forget import ForgetError, find_subject, forget_person, was_forgotten
from resonance.store import open_store
from rich_store import fill
from server_proc import env

ADA = {  # everything that identifies Ada Brook (hr:E03) in the store after `plant`
    "identities": ["hr:E03", "email:ada.brook@acme.example", "slack:UADA12345"],
    "emails": ["ada.brook@acme.example"],
    "names": ["Ada Brook"],
}
TERMS = [*ADA["identities"], *ADA["emails"], *ADA["names"], "UADA12345"]


def plant(con) -> None:
    """Mentions of Ada where a generic erasure has to find them."""
    con.execute("INSERT INTO identities VALUES ('slack:UADA12345', 'hr:E03', 'account', now()::TIMESTAMP)")
    con.execute("""INSERT INTO events (source, native_id, time, actor, verb, object, object_type, extra)
                   VALUES ('slack', 'm1', TIMESTAMP '2026-01-10 10:00', 'slack:UADA12345', 'Create', 'slack:item1',
                           'item', '{"user_name": "Ada Brook", "text": "hello <@UADA12345>"}')""")
    con.execute("""UPDATE items SET text = text || ' Thanks to Ada Brook (ADA.BROOK@acme.example) for the review.'
                   WHERE item_id = 'social:item005'""")
    con.execute("""INSERT INTO quarantine (source, file, line, field, reason, raw)
                   VALUES ('hr', 'directory.csv', 99, 'email', 'duplicate',
                           'E03,Ada Brook,ada.brook@acme.example,E02')""")
    ensure_jobs_schema(con)
    con.execute("""INSERT INTO jobs (job_id, argv, read_only, status, stdout, submitted_at)
                   VALUES (nextval('job_seq'), ['person', 'hr:E03', '--json'], true, 'done',
                           '{"display_name": "Ada Brook", "emails": ["ada.brook@acme.example"]}', now())""")


def plant_components(con) -> dict:
    """Ada in the tables of the kudos, review, org, accounts and jobs components, written through their
    own modules (after the metrics, which a review share and a roll-up need). Returns what must vanish."""
    from resonance.kudos.operations import give_kudos, vote
    from resonance.kudos.rules import kudos_rules
    from resonance.org.rollup import rollup
    from resonance.org.schema import salt
    from resonance.privacy.guard import Principal
    from resonance.review.sharing import create_share
    from resonance.web.accounts import authenticate, create_session, get_user

    rules = kudos_rules(None)
    given = give_kudos(con, "hr:E03", "hr:E04", rules, message="Liam, thanks for the review! Ada Brook",
                       values=["teamwork"], channel="web", actor="ada")
    received = give_kudos(con, "hr:E04", "hr:E03", rules, message="Ada Brook saved the launch", channel="web",
                          actor="liam")
    item = con.execute("""SELECT it.item_id FROM items it JOIN identities a ON a.identity = it.author
                          WHERE a.person_id <> 'hr:E03' AND it.kind = 'post' ORDER BY 1 LIMIT 1""").fetchall()[0][0]
    vote(con, "hr:E03", item, 1, rules, channel="web", actor="ada")
    assert authenticate(con, "ada", "wrong password", ip="203.0.113.7") is None
    ada = get_user(con, "ada")
    create_session(con, ada, ip="203.0.113.7", user_agent="Mozilla/5.0 (Ada Brook's laptop)")
    period = con.execute("SELECT max(period) FROM metric_periods WHERE period_type = 'month'").fetchall()[0][0]
    share = create_share(con, Principal(ada.user_id, "ada", "employee", "hr:E03"), period)
    shown = rollup(con, "department", period=period, min_group_size=3)
    assert shown["groups"], "the roll-up released a group"
    key = salt(con)
    ada_hash = con.execute("SELECT md5(? || 'hr:E03')", [key]).fetchall()[0][0]
    assert con.execute("SELECT count(*) FROM org_release_members WHERE member = ?", [ada_hash]).fetchall()[0][0] > 0
    return {"kudos_ids": [given.kudos["kudos_id"], received.kudos["kudos_id"]], "share_token": share["token"],
            "member_hash": ada_hash}


def text_columns(con) -> list[tuple[str, str, str]]:
    return con.execute(
        """SELECT table_name, column_name, data_type FROM duckdb_columns()
           WHERE database_name = current_database() AND schema_name = 'main'
             AND (data_type LIKE '%VARCHAR%' OR data_type LIKE '%JSON%')""").fetchall()


def occurrences(con, term: str) -> list[str]:
    """Every (table.column) whose values contain `term`, case-insensitively, in any text, JSON or list column."""
    found = []
    for table, column, _dtype in text_columns(con):
        value = f'"{column}"::VARCHAR'  # lists and JSON as their text
        n = con.execute(f'SELECT count(*) FROM "{table}" WHERE contains(lower({value}), lower(?))', [term]
                        ).fetchall()[0][0]
        if n:
            found.append(f"{table}.{column} ({n})")
    return found


def aggregates(con) -> dict[str, list]:
    q = {
        "events_by_verb_day": "SELECT verb, time::DATE, count(*) FROM events GROUP BY ALL ORDER BY ALL",
        "events_by_actor_department": """SELECT p.department, e.verb, count(*) FROM events e
            JOIN identities i ON i.identity = e.actor JOIN people p ON p.person_id = i.person_id
            GROUP BY ALL ORDER BY ALL""",
        "items_by_kind": "SELECT kind, container, count(*) FROM items GROUP BY ALL ORDER BY ALL",
        "people_by_unit": "SELECT department, location, role, count(*) FROM people GROUP BY ALL ORDER BY ALL",
        "reports_per_department_manager": """SELECT m.department, count(*) FROM people p
            JOIN people m ON m.person_id = p.manager_id GROUP BY ALL ORDER BY ALL""",
        "metrics_by_department": """SELECT m.period, m.metric, p.department, count(*), round(sum(m.value), 3)
            FROM person_metrics m JOIN people p USING (person_id) GROUP BY ALL ORDER BY ALL""",
        "personas": "SELECT period, persona, count(*) FROM person_persona GROUP BY ALL ORDER BY ALL",
        "consent": "SELECT purpose, granted, count(*) FROM consent GROUP BY ALL ORDER BY ALL",
    }
    return {k: con.execute(sql).fetchall() for k, sql in q.items()}


@pytest.fixture
def company(tmp_path):
    from resonance.metrics.pipeline import run_pipeline

    store = open_store(tmp_path / "company.duckdb")
    fill(store, metrics=False)
    plant(store.con)
    run_pipeline(store.con, periods=["month"])
    store.planted = plant_components(store.con)
    yield store
    store.close()


# Every component's table that holds something of Ada's before the erasure (the scan below covers every
# table anyway; this says the test data really reaches each one).
MENTIONED_IN = {"events", "items", "identities", "profiles", "people", "quarantine", "jobs", "consent", "consent_log",
                "access_log", "kudos", "kudos_audit", "item_votes", "review_shares", "person_metrics"}


def test_forget_leaves_nothing_personal_and_aggregates_unchanged(company):
    con = company.con
    planted = company.planted
    for term in TERMS:
        assert occurrences(con, term), f"the test data should mention {term!r}"
    tables = {o.split(".")[0] for term in TERMS for o in occurrences(con, term)}
    assert tables >= MENTIONED_IN, f"no mention of Ada in {MENTIONED_IN - tables}"
    for derived in (*planted["kudos_ids"], planted["member_hash"]):
        assert occurrences(con, derived), derived
    releases = con.execute("SELECT count(*), sum(size) FROM org_releases").fetchall()
    ada_user = con.execute("SELECT user_id FROM users WHERE username = 'ada'").fetchall()[0][0]
    for table in ("sessions", "api_tokens", "auth_log"):
        column = "username" if table == "auth_log" else "user_id"
        value = "ada" if table == "auth_log" else ada_user
        assert con.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", [value]).fetchall()[0][0] > 0, table
    before = aggregates(con)
    liam_before = con.execute("SELECT * FROM profiles WHERE person_id = 'hr:E04'").fetchall()

    summary = forget_person(con, "ada.brook@acme.example", done_by="dpo", reason="ticket 42 from Ada Brook")

    for term in TERMS:
        assert occurrences(con, term) == [], f"{term!r} still in the store"
    # Nor anything derived from her ids that someone holding the store could recompute: the kudos ids
    # (a hash of giver, receiver and context), her member hash in the org release log.
    for derived in (*planted["kudos_ids"], planted["member_hash"]):
        assert occurrences(con, derived) == [], f"{derived!r} (derived from her ids) still in the store"
    assert con.execute("SELECT count(*) FROM kudos").fetchall() == [(2,)], "the kudos stay, as counts"
    assert con.execute("SELECT count(*) FROM item_votes").fetchall() == [(1,)], "her vote stays, as a count"
    # Her sign-ins and sessions are gone or anonymous; her review share link opens nothing.
    assert con.execute("SELECT count(*) FROM sessions WHERE user_agent LIKE '%Ada%' OR ip IS NOT NULL AND user_id = ?",
                       [ada_user]).fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM auth_log WHERE ip = '203.0.113.7'").fetchall() == [(0,)]
    assert occurrences(con, "203.0.113.7") == []
    assert con.execute("SELECT count(*) FROM review_shares WHERE revoked_at IS NULL").fetchall() == [(0,)]
    # The org release log still holds every released set, with her as the pseudonym (differencing protection).
    assert con.execute("SELECT count(*), sum(size) FROM org_releases").fetchall() == releases
    pseudonym_hash = con.execute("SELECT md5(salt || ?) FROM org_salt", [summary["pseudonym"]]).fetchall()[0][0]
    assert con.execute("""SELECT count(*) = count(DISTINCT set_hash) FROM org_release_members
                          WHERE member = ?""", [pseudonym_hash]).fetchall() == [(True,)]
    assert con.execute("""SELECT count(*) FROM org_releases r WHERE size <> (SELECT count(*)
                          FROM org_release_members m WHERE m.set_hash = r.set_hash)""").fetchall() == [(0,)]
    # Her account is gone; accounts do not survive under another name either.
    assert con.execute("SELECT count(*) FROM users WHERE username = 'ada'").fetchall() == [(0,)]
    for table, column, dtype in text_columns(con):
        if dtype == "VARCHAR":
            assert con.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}" = \'ada\'').fetchall() == [(0,)], \
                f"{table}.{column}"
    pseudonym = summary["pseudonym"]
    assert pseudonym.startswith("forgotten:") and summary["metrics_recomputed"]
    assert aggregates(con) == before
    # What she wrote is gone, what others wrote about her stays (without her name).
    assert con.execute(f"""SELECT count(*) FROM items WHERE author = '{pseudonym}'
                            AND (text IS NOT NULL OR (title IS NOT NULL AND kind = 'post'))""").fetchall() == [(0,)]
    mention = con.execute("SELECT text FROM items WHERE item_id = 'social:item005'").fetchall()[0][0]
    assert "Thanks to [forgotten]" in mention and pseudonym in mention
    assert con.execute(f"""SELECT count(*) FROM events WHERE verb = 'Kudos' AND object = '{pseudonym}'
                            AND extra IS NOT NULL""").fetchall() == [(0,)], "kudos messages to her removed"
    assert con.execute("SELECT * FROM profiles WHERE person_id = 'hr:E04'").fetchall() == liam_before
    tomb = con.execute("SELECT display_name, department, location, manager_id FROM people WHERE person_id = ?",
                       [pseudonym]).fetchall()
    assert tomb == [("Forgotten person", "Engineering", "Berlin", "hr:E02")]
    # Audited: who, when, a salted hash, never the identity.
    log = con.execute("SELECT done_by, pseudonym, subject_hash, reason, changes FROM forget_log").fetchall()
    assert len(log) == 1 and log[0][0] == "dpo" and log[0][1] == pseudonym and len(log[0][2]) == 64
    assert log[0][3] == "ticket 42 from [forgotten]"
    assert was_forgotten(con, "ada.brook@acme.example") and was_forgotten(con, "hr:E03")
    assert not was_forgotten(con, "liam.okafor@acme.example")
    with pytest.raises(ForgetError):
        find_subject(con, "hr:E03")


def test_forgetting_a_manager_keeps_the_org_chart(company):
    con = company.con
    before = aggregates(con)
    reports = con.execute("SELECT person_id FROM people WHERE manager_id = 'hr:E02' ORDER BY 1").fetchall()
    summary = forget_person(con, "hr:E02", done_by="dpo", recompute=False)
    assert con.execute("SELECT person_id FROM people WHERE manager_id = ? ORDER BY 1",
                       [summary["pseudonym"]]).fetchall() == reports
    after = aggregates(con)
    assert {k: v for k, v in after.items() if k != "metrics_by_department"} == \
        {k: v for k, v in before.items() if k != "metrics_by_department"}
    for term in ("hr:E02", "mara.quinn@acme.example", "Mara Quinn"):
        assert occurrences(con, term) == [], term


def test_cli_forget_needs_yes_and_never_prints_the_identity(tmp_path):
    store = open_store(tmp_path / "s.duckdb")
    fill(store, metrics=False)
    store.con.execute("CHECKPOINT")
    store.close()
    db = str(tmp_path / "s.duckdb")
    assert (tmp_path / "s.duckdb").read_bytes().count(b"liam.okafor@acme.example") > 0

    def run(*args):
        return subprocess.run([sys.executable, "-m", "resonance", "forget", *args, "--db", db], capture_output=True,
                              text=True, env=env(), timeout=300)

    dry = run("liam")
    assert dry.returncode == 1 and "add --yes" in dry.stderr
    unknown = run("nobody@acme.example", "--yes")
    assert unknown.returncode == 2 and "no person matches" in unknown.stderr
    done = run("liam", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    for text in (done.stdout, done.stderr):
        assert "liam" not in text.lower() and "E04" not in text and "okafor" not in text.lower()
    assert summary["changes"]["users"] == 1 and summary["compacted"]
    # The file was rewritten: the erased values are not even in its free space.
    raw = (tmp_path / "s.duckdb").read_bytes()
    assert raw.count(b"liam.okafor@acme.example") == 0 and raw.count(b"Liam Okafor") == 0
    again = run("liam", "--yes")
    assert again.returncode == 2
    store = open_store(db)
    assert store.con.execute("SELECT done_by, via FROM forget_log").fetchall()[0][1] == "cli"
    store.close()


@pytest.mark.slow
def test_forget_through_the_server_scrubs_its_own_job(tmp_path):
    from server_proc import Server, resonance

    store = open_store(tmp_path / "s.duckdb")
    fill(store, metrics=False)
    store.close()
    db = tmp_path / "s.duckdb"
    with Server(db):
        looked = resonance("quarantine", "--db", str(db), "--json")  # a job whose output names no one yet
        assert looked.returncode == 0
        done = resonance("forget", "sofia.reyes@acme.example", "--yes", "--db", str(db))
        assert done.returncode == 0, done.stderr
        assert "resonance compact" in done.stderr and "sofia" not in (done.stdout + done.stderr).lower()
        compact = resonance("compact", "--db", str(db))
        assert compact.returncode == 2 and "stop it" in compact.stderr
    store = open_store(db)
    try:
        for term in ("sofia.reyes@acme.example", "Sofia Reyes", "hr:E05"):
            assert occurrences(store.con, term) == [], term
        argv = store.con.execute("SELECT argv FROM jobs WHERE argv[1] = 'forget'").fetchall()[0][0]
        assert any(a.startswith("forgotten:") for a in argv) and not any("sofia" in a for a in argv), argv
        assert store.con.execute("SELECT via FROM forget_log").fetchall() == [("server job",)]
    finally:
        store.close()
    assert resonance("compact", "--db", str(db)).returncode == 0
    assert db.read_bytes().count(b"sofia.reyes@acme.example") == 0


def test_forget_invalidates_the_servers_knowledge_cache(company):
    """The web app keeps the knowledge index (names, texts) in memory per data version: forgetting someone
    with a single identity changes no count, and must still make it rebuild."""
    from resonance.knowledge.cache import data_version

    con = company.con
    con.execute("INSERT INTO identities VALUES ('email:solo@acme.example', 'email:solo@acme.example', 'email', now())")
    con.execute("""INSERT INTO items (source, native_id, item_id, kind, author, title, text, created)
                   VALUES ('as2', 'solo1', 'as2:solo1', 'post', 'email:solo@acme.example', 'Solo notes',
                           'kafka tuning by solo', TIMESTAMP '2026-01-10 10:00')""")
    before = data_version(con)
    identities = con.execute("SELECT count(*) FROM identities").fetchall()[0][0]
    forget_person(con, "email:solo@acme.example", done_by="dpo", recompute=False)
    assert con.execute("SELECT count(*) FROM identities").fetchall()[0][0] == identities  # the same count...
    assert data_version(con) != before  # ...and yet a new version
