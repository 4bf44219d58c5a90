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
    yield store
    store.close()


def test_forget_leaves_nothing_personal_and_aggregates_unchanged(company):
    con = company.con
    for term in TERMS:
        assert occurrences(con, term), f"the test data should mention {term!r}"
    before = aggregates(con)
    liam_before = con.execute("SELECT * FROM profiles WHERE person_id = 'hr:E04'").fetchall()

    summary = forget_person(con, "ada.brook@acme.example", done_by="dpo", reason="ticket 42 from Ada Brook")

    for term in TERMS:
        assert occurrences(con, term) == [], f"{term!r} still in the store"
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
