"""HR directory connector: the default layout, a column map, Enron's employees, bad rows, idempotency."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from conftest import rows
from resonance.ingest import run_ingest
from resonance.sources.base import SourceError
from resonance.sources.directory import DEFAULT_HEADER

TABLES = ("profiles", "people", "identities", "quarantine")

DIRECTORY = ",".join(DEFAULT_HEADER) + "\n" + (
    "E1,Ada Lovelace,ada@acme.example,,Executive,London,CEO,executive,2019-01-07,slack:U001\n"
    "E2,Dana Scully,Dana.Scully@acme.example;dana@old.example,E1,Engineering,Paris,Staff Engineer,engineer,"
    "2020-03-01,slack:U042;github:dscully\n"
    "E3,\"Mulder, Fox\",fox@acme.example,E2,Engineering,Paris,Engineer,engineer,2021-09-15,\n"
    ",Nobody,nobody@acme.example,E1,Sales,Berlin,Rep,sales,2022-01-01,\n"  # missing id
    "E2,Dana Again,dana2@acme.example,E1,Sales,Berlin,Rep,sales,2022-01-01,\n"  # duplicate id
    "E4,Walter Skinner,skinner@acme.example,E1,Security,Paris,Director,manager,someday,\n"  # bad date
    "E5,John Doggett,not-an-address,E4,Security,Paris,Agent,agent,2022-05-01,dogget\n"  # bad e-mail & handle
    "E6,Monica Reyes,reyes@acme.example,E4,Security\n"  # wrong column count
)


def counts(store) -> list[int]:
    return [rows(store, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES]


def test_default_layout_needs_no_options(store, tmp_path: Path):
    path = tmp_path / "directory.csv"
    path.write_text(DIRECTORY)
    report = run_ingest(store.con, "directory", [path])
    assert sorted(rows(store, "SELECT line, field, reason FROM quarantine")) == [
        (5, "id", "missing id"),
        (6, "id", "duplicate id E2 (first at line 3)"),
        (7, "start_date", "unparseable start_date (person kept without it): someday"),
        (8, "email", "invalid e-mail address (person kept without it): not-an-address"),
        (8, "handles", "handle is not an identity key source:id (person kept without it): dogget"),
        (9, "columns", "wrong column count: 5 fields, expected 10"),
    ]
    assert report.counts.ingested["people"] == 5
    dana = rows(store, "SELECT source, native_id, identities, display_name, emails, handles, manager_ref, "
                       "department, location, title, role, start_date FROM profiles WHERE native_id = 'E2'")
    assert dana == [("hr", "E2", ["hr:E2", "email:dana.scully@acme.example", "email:dana@old.example",
                                  "slack:U042", "github:dscully"],
                     "Dana Scully", ["dana.scully@acme.example", "dana@old.example"], ["slack:U042", "github:dscully"],
                     "hr:E1", "Engineering", "Paris", "Staff Engineer", "engineer", date(2020, 3, 1))]
    # The golden record: manager resolved to a person, quoted name kept whole.
    people = dict(rows(store, "SELECT display_name, manager_id FROM people"))
    assert people == {"Ada Lovelace": None, "Dana Scully": "hr:E1", "Mulder, Fox": "hr:E2",
                      "Walter Skinner": "hr:E1", "John Doggett": "hr:E4"}
    assert rows(store, "SELECT start_date FROM people WHERE display_name = 'Walter Skinner'") == [(None,)]
    assert rows(store, "SELECT emails, handles FROM profiles WHERE native_id = 'E5'") == [([], [])]

    before = counts(store)
    again = run_ingest(store.con, "directory", [path])
    assert again.ingested == 0 and again.duplicates == 5
    assert counts(store) == before


def test_events_by_e_mail_meet_the_directory_person(store, tmp_path: Path):
    directory = tmp_path / "directory.csv"
    directory.write_text(DIRECTORY)
    events = tmp_path / "likes.csv"
    events.write_text("who,when,what\nDANA.SCULLY@acme.example,2026-03-01,post-1\nslack:U001,2026-03-02,post-1\n")
    run_ingest(store.con, "csv", [events], {"column_map": {"actor": "who", "time": "when", "object": "what"},
                                            "constants": {"verb": "Like"}})
    run_ingest(store.con, "directory", [directory])
    got = rows(store, "SELECT p.display_name, p.department FROM events e JOIN identities i ON i.identity = e.actor "
                      "JOIN people p USING (person_id) ORDER BY e.time")
    assert got == [("Dana Scully", "Engineering"), ("Ada Lovelace", "Executive")]


def test_column_map_for_another_layout(store, tmp_path: Path):
    path = tmp_path / "export.csv"
    path.write_text("ID;FullName;Mail;ReportsToID;Dept;Office;Hired;Contractor\n"
                    "1;Ada Lovelace;ada@acme.example;;Exec;London;2019-01-07;no\n"
                    "2;Dana Scully;dana@acme.example;1;Eng;Paris;20200301;yes\n"
                    "3;Fox Mulder;fox@acme.example;2;Eng;Paris;2021-09-15;maybe\n")
    report = run_ingest(store.con, "directory", [path], {
        "delimiter": ";", "column_map": {"id": "ID", "name": "FullName", "email": "Mail", "manager": "ReportsToID",
                                         "department": "Dept", "location": "Office", "start_date": "Hired",
                                         "external": "Contractor"}})
    assert dict(report.counts.reasons) == {"unparseable external flag (person kept without it): maybe": 1}
    assert rows(store, "SELECT native_id, manager_ref, department, start_date, is_external FROM profiles "
                       "ORDER BY native_id") == [
        ("1", None, "Exec", date(2019, 1, 7), False), ("2", "hr:1", "Eng", date(2020, 3, 1), True),
        ("3", "hr:2", "Eng", date(2021, 9, 15), None)]


def test_enron_employees_share_keys_with_enron_messages(store, data_dir):
    employees = data_dir / "enron" / "employees.tsv"
    expected = [line.split("\t") for line in employees.read_text().splitlines()]
    report = run_ingest(store.con, "directory", [employees], {
        "header": "false", "id_prefix": "enron",
        "column_map": {"id": "1", "name": "2", "role": "3", "department": "4", "title": "5"}})
    assert report.rejected == 0
    assert report.counts.ingested["people"] == len(expected) == 156
    assert rows(store, "SELECT role, count(*) FROM people GROUP BY role ORDER BY role") == sorted(
        (r, sum(1 for e in expected if e[2] == r)) for r in {e[2] for e in expected})
    assert rows(store, "SELECT extra FROM profiles WHERE native_id = 'enron:1'")[0][0] == '{"6":"Male","7":"Senior"}'

    messages = data_dir / "enron" / "messages-with-recipients-3000.tsv"
    run_ingest(store.con, "csv", [messages], {
        "header": "false", "source": "enron", "column_map": {"id": "1", "time": "3", "actor": "4", "to": "5"},
        "constants": {"verb": "Create", "object_kind": "message"}})
    # Every sender and recipient is one of the 156 employees: no new person appears.
    assert rows(store, "SELECT count(*) FROM people")[0][0] == 156
    unmatched = rows(store, "SELECT count(*) FROM events e LEFT JOIN people p ON p.person_id = "
                            "(SELECT person_id FROM identities WHERE identity = e.actor) WHERE p.department IS NULL")
    assert unmatched == [(0,)]


def test_empty_file_and_missing_id_column(store, tmp_path: Path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert dict(run_ingest(store.con, "directory", [empty]).counts.reasons) == {"empty file": 1}
    nameless = tmp_path / "names.csv"
    nameless.write_text("name,email\nAda,ada@acme.example\n")
    with pytest.raises(SourceError, match="no id column"):
        run_ingest(store.con, "directory", [nameless])
