"""Generic CSV connector: the Enron messages (real), column maps, time formats, bad rows, idempotency.

Expected numbers are computed here from the file with plain Python, not by the connector.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from conftest import rows
from resonance.ingest import run_ingest
from resonance.sources.base import SourceError
from resonance.sources.delimited import install_macros, time_sql

ENRON_MAP = {"id": "1", "time": "3", "actor": "4", "to": "5", "title": "6"}
ENRON = {"header": "false", "source": "enron", "column_map": ENRON_MAP,
         "constants": {"verb": "Create", "object_kind": "message"}}
TABLES = ("events", "items", "people", "identities", "quarantine")


def counts(store) -> list[int]:
    return [rows(store, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES]


@pytest.fixture
def enron_messages(data_dir) -> Path:
    return data_dir / "enron" / "messages-with-recipients-3000.tsv"


def test_enron_messages_with_multi_valued_recipients(store, enron_messages: Path):
    lines = [line.rstrip("\n").split("\t") for line in enron_messages.read_text().splitlines()]
    report = run_ingest(store.con, "csv", [enron_messages], ENRON)
    assert report.rejected == 0
    assert report.counts.ingested["events"] == len(lines) == 3000
    assert report.counts.ingested["items"] == len(lines)
    assert rows(store, "SELECT sum(len(recipients)) FROM events")[0][0] == sum(len(r[4].split(",")) for r in lines)
    people = {r[3] for r in lines} | {x.strip() for r in lines for x in r[4].split(",")}
    assert rows(store, "SELECT count(*) FROM people")[0][0] == len(people)

    # The first row: taylor-m/sent/11, Fri, 13 Nov 1998 04:07:00 -0800 (PST), 138 -> 59, "Cd$ CME letter".
    event = rows(store, "SELECT source, time, actor, verb, object, object_type, recipients, extra FROM events "
                        "WHERE native_id = 'taylor-m/sent/11'")
    assert event == [("enron", datetime(1998, 11, 13, 12, 7), "enron:138", "Create", "enron:taylor-m/sent/11",
                      "item", ["enron:59"], '{"2":"19981113040700"}')]
    item = rows(store, "SELECT kind, author, title, created FROM items WHERE item_id = 'enron:taylor-m/sent/11'")
    assert item == [("message", "enron:138", "Cd$ CME letter", datetime(1998, 11, 13, 12, 7))]
    multi = next(r for r in lines if "," in r[4])
    got = rows(store, "SELECT recipients FROM events WHERE native_id = ?", [multi[0]])[0][0]
    assert got == [f"enron:{x.strip()}" for x in multi[4].split(",")]

    before = counts(store)
    again = run_ingest(store.con, "csv", [enron_messages], ENRON)
    assert (again.ingested, again.duplicates) == (0, report.ingested)
    assert counts(store) == before


def test_content_ids_make_reingest_idempotent(store, enron_messages: Path, tmp_path: Path):
    # No id column: each row's id is a hash of its content; a repeated row is a duplicate.
    sample = tmp_path / "sample.tsv"
    head = enron_messages.read_text().splitlines(keepends=True)[:50]
    sample.write_text("".join(head) + head[7])
    options = dict(ENRON, column_map={"time": "2", "actor": "4", "to": "5", "title": "6"})
    first = run_ingest(store.con, "csv", [sample], options)
    assert first.counts.ingested["events"] == 50
    [(reason, n)] = first.counts.reasons.items()
    assert n == 1 and reason.startswith("duplicate id sha1:") and reason.endswith("(first at line 8)")
    assert rows(store, "SELECT count(*) FROM events WHERE native_id LIKE 'sha1:%'")[0][0] == 50
    # compact yyyymmddHHMMSS is read as is (the file's local wall time)
    assert rows(store, "SELECT min(time) FROM events")[0][0] == datetime(1998, 11, 13, 4, 7)
    before = counts(store)
    assert run_ingest(store.con, "csv", [sample], options).ingested == 0
    assert counts(store) == before


COMMUNICATION = (
    b"MessageId;EventDate;Sender;Recipient;Verb;Subject;Body;Channel\n"
    b"m1;2026-03-02T09:30:00+01:00;Dana Scully <Dana.Scully@acme.example>;fox@acme.example, hr:E7;Create;"
    b"Kafka certs;\"How do we rotate\nthe certificates; safely?\";#platform\n"
    b"m2;Mon, 02 Mar 2026 10:00:00 +0000;fox@acme.example;dana.scully@acme.example;like;;;#platform\n"
    b"m3;1772445600;slack:U042;;share;;;#platform\n"
    b"m4;2026-03-02 11:00:00;fox@acme.example;;Frobnicate;;;#platform\n"  # unknown verb
    b"m5;yesterday;fox@acme.example;;Create;x;;#platform\n"  # unparseable time
    b"m6;2026-03-02 11:00:00;;;Create;x;;#platform\n"  # missing actor
    b"m7;2026-03-02 11:00:00;fox@acme.example;Create\n"  # wrong column count
    b"m1;2026-03-02 12:00:00;fox@acme.example;;Create;dup;;#platform\n"  # duplicate id
    b"m8;2026-03-02 11:00:00;fox@acme.example;;Create;\"broken\"quote;;#platform\n"  # bad quoting
) + b"m9;2026-03-02 11:00:00;caf\xe9@acme.example;;Create;x;;#platform\n" + (  # invalid UTF-8
    b"m10;2026-03-02 13:00:00;;;View;;;#platform\n"  # anonymous view: fine
)


def test_column_map_constants_and_every_kind_of_bad_row(store, tmp_path: Path):
    path = tmp_path / "communication.csv"
    path.write_bytes(COMMUNICATION)
    options = {"delimiter": ";", "column_map": {"id": "MessageId", "time": "EventDate", "actor": "Sender",
                                                "to": "Recipient", "verb": "Verb", "title": "Subject",
                                                "text": "Body", "container": "Channel"},
               "constants": {"object_kind": "message"}}
    report = run_ingest(store.con, "csv", [path], options)
    assert sorted(rows(store, "SELECT line, field, reason FROM quarantine")) == [
        (6, "verb", "unknown verb Frobnicate"),
        (7, "time", "unparseable time yesterday"),
        (8, "actor", "missing actor"),
        (9, "columns", "wrong column count: 4 fields, expected 8"),
        (10, "id", "duplicate id m1 (first at line 2)"),
        (11, "quote", "malformed CSV quoting"),
        (12, "encoding", "invalid UTF-8"),
    ]
    assert report.counts.ingested["events"] == 4
    events = rows(store, "SELECT native_id, time, actor, verb, object, object_type, recipients FROM events "
                         "ORDER BY native_id")
    assert events == [
        ("m1", datetime(2026, 3, 2, 8, 30), "email:dana.scully@acme.example", "Create", "csv:m1", "item",
         ["email:fox@acme.example", "hr:E7"]),
        ("m10", datetime(2026, 3, 2, 13, 0), None, "View", None, None, []),
        ("m2", datetime(2026, 3, 2, 10, 0), "email:fox@acme.example", "Like", None, None,
         ["email:dana.scully@acme.example"]),
        ("m3", datetime(2026, 3, 2, 10, 0), "slack:U042", "Announce", None, None, []),
    ]
    # The Create made its message, multi-line quoted body included; the record starts on line 2.
    assert rows(store, "SELECT kind, author, title, text, container FROM items") == [
        ("message", "email:dana.scully@acme.example", "Kafka certs", "How do we rotate\nthe certificates; safely?",
         "#platform")]
    assert rows(store, "SELECT file, line FROM quarantine WHERE field = 'encoding'")[0] == (str(path), 12)
    before = counts(store)
    run_ingest(store.con, "csv", [path], options)
    assert counts(store) == before


def test_empty_file_and_configuration_errors(store, tmp_path: Path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    report = run_ingest(store.con, "csv", [empty], {"column_map": {"actor": "a"}})
    assert dict(report.counts.reasons) == {"empty file": 1}
    path = tmp_path / "x.csv"
    path.write_text("who,when\nfox@acme.example,2026-01-01\n")
    with pytest.raises(SourceError, match="column 'Sender' is not in the file"):
        run_ingest(store.con, "csv", [path], {"column_map": {"actor": "Sender"}})
    with pytest.raises(SourceError, match="map a column to 'verb'"):
        run_ingest(store.con, "csv", [path], {"column_map": {"actor": "who", "time": "when"}})
    with pytest.raises(SourceError, match="unknown --map target 'colour'"):
        run_ingest(store.con, "csv", [path], {"column_map": {"colour": "who"}})
    ok = run_ingest(store.con, "csv", [path], {"column_map": {"actor": "who", "time": "when"},
                                               "constants": {"verb": "Join"}})
    assert ok.counts.ingested["events"] == 1


@pytest.mark.parametrize(("fmt", "text", "expected"), [
    ("auto", "2026-03-02T09:30:00+01:00", datetime(2026, 3, 2, 8, 30)),
    ("auto", "2026-03-02 09:30:00", datetime(2026, 3, 2, 9, 30)),
    ("auto", "Fri, 13 Nov 1998 04:07:00 -0800 (PST)", datetime(1998, 11, 13, 12, 7)),
    ("auto", "19981113040700", datetime(1998, 11, 13, 4, 7)),
    ("auto", "911874180", datetime(1998, 11, 24, 2, 23)),
    ("auto", "1700000000000", datetime(2023, 11, 14, 22, 13, 20)),
    ("unix_ms", "911874180000", datetime(1998, 11, 24, 2, 23)),
    ("unix", "911874180", datetime(1998, 11, 24, 2, 23)),
    ("compact", "19981113040700", datetime(1998, 11, 13, 4, 7)),
    ("rfc2822", "13 Nov 1998 04:07:00 +0000", datetime(1998, 11, 13, 4, 7)),
    ("iso", "1998-11-13T04:07:00Z", datetime(1998, 11, 13, 4, 7)),
    ("%d/%m/%Y %H:%M", "13/11/1998 04:07", datetime(1998, 11, 13, 4, 7)),
    ("auto", "not a date", None),
    ("compact", "1998-11-13", None),
])
def test_time_formats(fmt: str, text: str, expected: datetime | None):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    install_macros(con, "x")
    assert con.execute(f"SELECT {time_sql('?', fmt)}", [text]).fetchall()[0][0] == expected


def test_identity_keys_from_cells():
    con = duckdb.connect()
    install_macros(con, "enron")
    cells = ["138", "Dana Scully <Dana.Scully@Acme.example>", "mailto:Fox@acme.example", "FOX@ACME.EXAMPLE",
             "slack:U042", "https://social.acme.example/u/7", "  ", None]
    got = [con.execute("SELECT ident(?)", [c]).fetchall()[0][0] for c in cells]
    assert got == ["enron:138", "email:dana.scully@acme.example", "email:fox@acme.example", "email:fox@acme.example",
                   "slack:U042", "https://social.acme.example/u/7", None, None]


def test_record_blocks_keep_quoted_newlines_and_lines_across_block_edges(tmp_path: Path):
    import csv as std_csv

    from resonance.sources.delimited import iter_record_blocks

    rows_in = [["1", "plain", "x"], ["2", "two\nlines", "y"], ["3", 'quote "inside"\nand\nmore', "z"],
               ["4", "", ""], ["5", "a,b", "end"]]
    path = tmp_path / "multi.csv"
    with open(path, "w", newline="") as f:
        std_csv.writer(f, lineterminator="\n").writerows(rows_in)
    expected_lines = [1, 2, 4, 7, 8]
    for block in (5, 7, 13, 1 << 20):  # tiny blocks force records to straddle block edges
        lines, records = [], []
        for line_numbers, recs, bad in iter_record_blocks(path, b'"', block_bytes=block):
            assert bad == []
            lines += line_numbers.to_pylist()
            records += [r.rstrip("\n") for r in recs.to_pylist()]
        assert lines == expected_lines
        assert [next(std_csv.reader([r])) for r in records] == rows_in


def test_time_format_detection_agrees_with_auto():
    from resonance.sources.delimited import detect_time_format

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    install_macros(con, "x")
    cases = {
        "rfc2822": ["Fri, 13 Nov 1998 04:07:00 -0800 (PST)", "Thu, 19 Nov 1998 07:19:00 -0800 (PST)"],
        "compact": ["19981113040700", "19981119071900"],
        "iso": ["2026-03-02T09:30:00Z", "2026-03-02 10:00:00"],
        "unix": ["911874180", "911874181"],
        "auto": ["20010514", "20010515"],  # yyyymmdd: auto's reading, not unix seconds
    }
    for expected, values in cases.items():
        sql = "SELECT * FROM (VALUES " + ", ".join(f"('{v}')" for v in values) + ")"
        assert detect_time_format(con, sql) == expected
