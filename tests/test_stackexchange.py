# ruff: noqa: E501 - real dump rows are long
"""Stack Exchange connector: exact counts on real dumps, bad input, hostile XML, idempotency.

Expected numbers are derived here with an independent parse (ElementTree) of the
same files, not taken from the connector.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from conftest import rows
from resonance.ingest import run_ingest
from resonance.sources.base import SourceError

QC = "quantumcomputing-2018"
BIKES = "bicycles-meta-2023"
TABLES = ("events", "items", "profiles", "people", "identities", "quarantine")


def xml_rows(folder: Path, name: str) -> list[dict[str, str]]:
    path = folder / f"{name}.xml"
    if not path.exists():
        return []
    return [dict(e.attrib) for _, e in ET.iterparse(path) if e.tag == "row"]


def table_counts(store) -> list[int]:
    return [rows(store, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES]


class Dump:
    """The expected canonical rows of a dump folder, computed independently."""

    def __init__(self, folder: Path) -> None:
        self.posts = {p["Id"]: p for p in xml_rows(folder, "Posts")}
        self.comments = xml_rows(folder, "Comments")
        self.users = xml_rows(folder, "Users")
        self.votes = xml_rows(folder, "Votes")
        self.history = xml_rows(folder, "PostHistory")
        self.vote_types = Counter(v["VoteTypeId"] for v in self.votes)

    def asker(self, answer_id: str) -> str | None:
        answer = self.posts.get(answer_id)
        question = answer and self.posts.get(answer.get("ParentId", ""))
        return question.get("OwnerUserId") if question else None

    def expected_verbs(self) -> Counter:
        creates = sum(1 for p in self.posts.values() if p.get("OwnerUserId")) + sum(
            1 for c in self.comments if c.get("UserId")
        )
        accepts = sum(1 for v in self.votes if v["VoteTypeId"] == "1" and self.asker(v["PostId"]))
        voted = {v["PostId"] for v in self.votes if v["VoteTypeId"] == "1"}
        accepts += sum(
            1
            for p in self.posts.values()
            if p.get("AcceptedAnswerId")
            and p.get("OwnerUserId")
            and p["AcceptedAnswerId"] not in voted
            and p["AcceptedAnswerId"] in self.posts
        )
        starts = [v for v in self.votes if v["VoteTypeId"] == "8" and v.get("UserId")]
        kudos = 0
        for v in self.votes:
            answer = self.posts.get(v["PostId"])
            if (
                v["VoteTypeId"] == "9"
                and answer
                and answer["PostTypeId"] == "2"
                and answer.get("OwnerUserId")
            ):
                kudos += any(
                    s["PostId"] == answer["ParentId"] and s["CreationDate"] <= v["CreationDate"]
                    for s in starts
                )
        revisions = {}
        for h in self.history:
            if h["PostHistoryTypeId"] in ("4", "5", "6", "7", "8", "9", "24"):
                key = (h["PostId"], h.get("RevisionGUID"))
                revisions[key] = revisions.get(key, False) or bool(h.get("UserId"))
        expected = Counter(
            {
                "Create": creates,
                "Vote": self.vote_types["2"] + self.vote_types["3"],
                "Accept": accepts,
                "Add": sum(1 for v in self.votes if v["VoteTypeId"] == "5" and v.get("UserId")),
                "Invite": len(starts),
                "Kudos": kudos,
                "Update": sum(revisions.values()),
            }
        )
        return +expected


@pytest.fixture(scope="module")
def qc(tmp_path_factory) -> Path:
    return Path(__file__).parent / "data" / "stackexchange" / QC


def test_quantumcomputing_dump_gives_exactly_its_posts_votes_comments_and_users(store, qc):
    dump = Dump(qc)
    report = run_ingest(store.con, "stackexchange", [qc])

    # Items: every post and every comment, by kind.
    kinds = dict(rows(store, "SELECT kind, count(*) FROM items GROUP BY kind"))
    post_types = Counter(p["PostTypeId"] for p in dump.posts.values())
    assert kinds == {
        "question": post_types["1"],
        "answer": post_types["2"],
        "tagwiki": post_types["3"] + post_types["4"] + post_types["5"],
        "comment": len(dump.comments),
    }
    assert sum(kinds.values()) == 1986 + 3413  # the figures the data README gives
    # Users: one profile and one person each.
    assert rows(store, "SELECT count(*) FROM profiles")[0][0] == len(dump.users) == 3461
    assert rows(store, "SELECT count(*) FROM people")[0][0] == len(dump.users)
    # Events by verb, as derived from the XML.
    verbs = Counter(dict(rows(store, "SELECT verb, count(*) FROM events GROUP BY verb")))
    assert verbs == dump.expected_verbs()
    assert rows(store, "SELECT sum(value), count(actor) FROM events WHERE verb = 'Vote'")[0] == (
        dump.vote_types["2"] - dump.vote_types["3"],
        0,
    )

    # Every vote row is either exactly one event or exactly one quarantine record.
    as_events = {
        r[0].rsplit(":", 1)[1]
        for r in rows(store, "SELECT native_id FROM events WHERE native_id LIKE '%:vote:%'")
    }
    quarantined = {
        r[0].split()[1].removeprefix("Id=")
        for r in rows(store, "SELECT raw FROM quarantine WHERE file LIKE '%Votes.xml'")
    }
    assert as_events.isdisjoint(quarantined)
    assert as_events | quarantined == {v["Id"] for v in dump.votes}
    moderation = sum(n for t, n in dump.vote_types.items() if t not in ("1", "2", "3", "5", "8", "9"))
    reasons = report.counts.reasons
    assert sum(n for r, n in reasons.items() if r.startswith("not mapped: moderation vote")) == moderation
    assert reasons["accepted answer not in the dump (deleted): asker unknown"] == sum(
        1 for v in dump.votes if v["VoteTypeId"] == "1" and v["PostId"] not in dump.posts
    )

    # Golden rows: question 1, its accepted answer, a bounty award.
    site = f"stackexchange:{QC}:"
    q1 = rows(
        store,
        "SELECT kind, author, title, tags, created, extra->>'accepted_answer' FROM items WHERE item_id = ?",
        [site + "post:1"],
    )[0]
    assert q1 == (
        "question",
        site + dump.posts["1"]["OwnerUserId"],
        dump.posts["1"]["Title"],
        ["simulation", "quantum-turing-machine"],
        datetime(2018, 3, 12, 17, 0, 45, 567000),
        site + "post:18",
    )
    accept = rows(
        store, "SELECT actor, object FROM events WHERE verb = 'Accept' AND object = ?", [site + "post:18"]
    )
    assert accept == [(site + dump.posts["1"]["OwnerUserId"], site + "post:18")]
    assert (
        rows(store, "SELECT parent_id FROM items WHERE item_id = ?", [site + "post:18"])[0][0]
        == site + "post:1"
    )
    award = rows(
        store,
        "SELECT actor, object, object_type, ctx_item, value FROM events WHERE native_id = ?",
        [f"{QC}:vote:12531"],
    )
    assert award == [
        (site + "2645", site + dump.posts["2573"]["OwnerUserId"], "person", site + "post:2573", 50.0)
    ]
    assert "<p>" not in rows(store, "SELECT text FROM items WHERE item_id = ?", [site + "post:1"])[0][0]

    # A second run adds nothing.
    before = table_counts(store)
    again = run_ingest(store.con, "stackexchange", [qc])
    assert again.ingested == 0
    assert again.duplicates == report.ingested
    assert table_counts(store) == before


def test_bicycles_meta_subset_with_post_history(store, data_dir):
    folder = data_dir / "stackexchange" / BIKES
    dump = Dump(folder)
    report = run_ingest(
        store.con,
        "stackexchange",
        [folder],
        {"site": "bicycles.meta", "base_url": "https://bicycles.meta.stackexchange.com"},
    )
    verbs = Counter(dict(rows(store, "SELECT verb, count(*) FROM events GROUP BY verb")))
    assert verbs == dump.expected_verbs()
    assert verbs["Update"] > 100
    assert rows(store, "SELECT count(*) FROM items")[0][0] == len(dump.posts) + len(dump.comments)
    # Posts of deleted accounts are kept, authorless, with the name shown on the site.
    orphans = [p for p in dump.posts.values() if not p.get("OwnerUserId")]
    assert orphans
    assert rows(store, "SELECT count(*) FROM items WHERE author IS NULL AND kind <> 'comment'")[0][0] == len(
        orphans
    )
    # Edits of deleted accounts and moderation history are reported, not lost.
    not_mapped = [
        h
        for h in dump.history
        if h["PostHistoryTypeId"] not in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "24")
    ]
    assert sum(
        n for r, n in report.counts.reasons.items() if r.startswith("not mapped: post history")
    ) == len(not_mapped)
    assert report.counts.reasons["edit by a deleted account (no UserId)"] > 0
    # Identity keys use --site; urls use --base_url.
    assert rows(store, "SELECT count(*) FROM identities WHERE identity LIKE 'stackexchange:bicycles.meta:%'")[
        0
    ][0] == len(dump.users)
    assert rows(store, "SELECT url FROM items WHERE item_id = 'stackexchange:bicycles.meta:post:1'")[0][
        0
    ] == ("https://bicycles.meta.stackexchange.com/q/1")
    # Badges land in the profile: counts by class match Badges.xml.
    badges = xml_rows(folder, "Badges")
    gold = sum(1 for b in badges if b["Class"] == "1")
    assert rows(store, "SELECT sum((extra->'badges'->>'gold')::INT) FROM profiles")[0][0] == gold
    before = table_counts(store)
    assert run_ingest(store.con, "stackexchange", [folder], {"site": "bicycles.meta"}).ingested == 0
    assert table_counts(store) == before


HEADER = '\ufeff<?xml version="1.0" encoding="utf-8"?>\n'


def write(path: Path, root: str, lines: list[str] | bytes) -> None:
    if isinstance(lines, bytes):
        path.write_bytes(lines)
        return
    path.write_text(
        HEADER + f"<{root}>\n" + "".join(f"  {line}\n" for line in lines) + f"</{root}>\n", encoding="utf-8"
    )


@pytest.fixture
def bad_dump(tmp_path: Path) -> Path:
    folder = tmp_path / "broken"
    folder.mkdir()
    write(
        folder / "Users.xml",
        "users",
        [
            '<row Id="1" Reputation="10" CreationDate="2020-01-01T00:00:00.000" DisplayName="Ada" Location="Paris" />',
            '<row Id="2" Reputation="10" CreationDate="2020-01-01T00:00:00.000" DisplayName="Bob" />',
            '<row Id="2" Reputation="10" CreationDate="2020-01-01T00:00:00.000" DisplayName="Bob again" />',
        ],
    )
    write(
        folder / "Posts.xml",
        "posts",
        [
            '<row Id="10" PostTypeId="1" AcceptedAnswerId="11" CreationDate="2020-02-01T10:00:00.000" Body="&lt;p&gt;Q&lt;/p&gt;" OwnerUserId="1" Title="Why?" Tags="&lt;a&gt;&lt;b&gt;" />',  # noqa: E501
            '<row Id="11" PostTypeId="2" ParentId="10" CreationDate="2020-02-01T11:00:00.000" Body="A" OwnerUserId="2" />',
            '<row Id="12" PostTypeId="2" ParentId="10" CreationDate="yesterday" Body="A" OwnerUserId="2" />',
            '<row Id="13" PostTypeId="99" CreationDate="2020-02-01T11:00:00.000" Body="?" OwnerUserId="2" />',
            '<row Id="14" PostTypeId="2" ParentId="10" CreationDate="2020-02-02T11:00:00.000" Body="oops />',
            '<row Id="11" PostTypeId="2" ParentId="10" CreationDate="2020-02-01T11:00:00.000" Body="dup" OwnerUserId="2" />',
            '<row Id="15" PostTypeId="2" ParentId="10" CreationDate="2020-02-03T11:00:00.000" Body="fine" OwnerUserId="1" />',
        ],
    )
    votes = (
        (
            HEADER + "<votes>\n"
            '  <row Id="1" PostId="10" VoteTypeId="2" CreationDate="2020-02-02T00:00:00.000" />\n'
            '  <row Id="2" PostId="11" VoteTypeId="1" CreationDate="2020-02-02T00:00:00.000" />\n'
            '  <row Id="3" PostId="11" VoteTypeId="5" CreationDate="2020-02-02T00:00:00.000" />\n'
            '  <row Id="4" PostId="11" VoteTypeId="77" CreationDate="2020-02-02T00:00:00.000" />\n'
            '  <row Id="5" PostId="11" VoteTypeId="3" CreationDate="2020-02-02T00:00:00.000" UserId="caf\xe9" />\n'
            '  <row Id="6" PostId="15" VoteTypeId="2" CreationDate="2020-02-03T00:00:00.000" />\n'
            "</votes>\n"
        )
        .encode("utf-8")
        .replace("caf\xe9".encode(), b"caf\xe9")
    )
    write(folder / "Votes.xml", "votes", votes)
    # Truncated mid-record: the comments before the break go in.
    write(
        folder / "Comments.xml",
        "comments",
        (
            HEADER + "<comments>\n"
            '  <row Id="100" PostId="10" Score="0" Text="good question" CreationDate="2020-02-01T12:00:00.000" UserId="2" />\n'
            '  <row Id="101" PostId="11" Score="0" Text="thanks" CreationDate="2020-02-01T13:00:00.000" UserId="1" />\n'
            '  <row Id="102" PostId="11" Score="0" Text="cut he'
        ).encode("utf-8"),
    )
    write(folder / "Badges.xml", "badges", b"")
    return folder


def test_bad_records_are_quarantined_with_reasons_and_the_rest_goes_in(store, bad_dump: Path):
    report = run_ingest(store.con, "stackexchange", [bad_dump])
    quarantine = {
        (Path(f).name, line, reason)
        for f, line, reason in rows(store, "SELECT file, line, reason FROM quarantine")
    }
    assert quarantine == {
        ("Users.xml", 5, "duplicate user Id 2 (first at line 4)"),
        ("Posts.xml", 5, "unparseable time CreationDate=yesterday"),
        ("Posts.xml", 6, "unknown PostTypeId 99"),
        ("Posts.xml", 7, "malformed XML: not well-formed (invalid token) (lines 7-8)"),
        ("Votes.xml", 6, "unknown VoteTypeId 77"),
        ("Votes.xml", 5, "missing actor"),
        ("Votes.xml", 7, "invalid UTF-8"),
        ("Comments.xml", 5, "truncated XML: file ends before </comments> (unclosed token, line 5)"),
        ("Badges.xml", 1, "empty file"),
    }
    # The duplicate post (line 8) is swallowed by the broken record on line 7: both lines are quoted.
    raw = rows(store, "SELECT raw FROM quarantine WHERE reason LIKE 'malformed%'")[0][0]
    assert 'Id="14"' in raw and 'Body="dup"' in raw
    assert rows(store, "SELECT raw FROM quarantine WHERE reason LIKE 'truncated%'")[0][0] == (
        '<row Id="102" PostId="11" Score="0" Text="cut he'
    )
    assert sorted(r[0] for r in rows(store, "SELECT native_id FROM items")) == [
        "broken:comment:100",
        "broken:comment:101",
        "broken:post:10",
        "broken:post:11",
        "broken:post:15",
    ]
    assert sorted(rows(store, "SELECT verb, native_id FROM events WHERE verb <> 'Create'")) == [
        ("Accept", "broken:vote:2"),
        ("Vote", "broken:vote:1"),
        ("Vote", "broken:vote:6"),
    ]
    assert report.counts.ingested["people"] == 2
    before = table_counts(store)
    run_ingest(store.con, "stackexchange", [bad_dump])
    assert table_counts(store) == before


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE posts [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<posts>
  <row Id="1" PostTypeId="1" CreationDate="2020-01-01T00:00:00.000" Body="&lol9;" OwnerUserId="1" Title="t" />
</posts>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE comments [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<comments>
  <row Id="1" PostId="1" Text="&secret;" CreationDate="2020-01-01T00:00:00.000" UserId="1" />
</comments>
"""


def test_entity_expansion_and_external_entities_are_refused(store, tmp_path: Path):
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "Posts.xml").write_text(BILLION_LAUGHS)
    (folder / "Comments.xml").write_text(XXE)
    write(folder / "Users.xml", "users", ['<row Id="1" DisplayName="Ada" />'])
    report = run_ingest(store.con, "stackexchange", [folder])
    got = rows(store, "SELECT file, line, reason, raw FROM quarantine ORDER BY file")
    assert [(Path(f).name, line, reason) for f, line, reason, _ in got] == [
        (
            "Comments.xml",
            2,
            "refused XML entity declaration (entity expansion / external entity attack); "
            "rest of file skipped",
        ),
        (
            "Posts.xml",
            3,
            "refused XML entity declaration (entity expansion / external entity attack); "
            "rest of file skipped",
        ),
    ]
    assert "/etc/passwd" in got[0][3]
    assert rows(store, "SELECT count(*) FROM items")[0][0] == 0
    assert "root:" not in str(rows(store, "SELECT * FROM quarantine"))
    assert report.counts.ingested["people"] == 1  # the harmless file still goes in


def test_a_file_is_not_a_dump(store, data_dir, tmp_path: Path):
    with pytest.raises(SourceError, match="is a folder"):
        run_ingest(store.con, "stackexchange", [data_dir / "stackexchange" / QC / "Posts.xml"])
    with pytest.raises(SourceError, match="no Stack Exchange dump files"):
        run_ingest(store.con, "stackexchange", [tmp_path])


def test_a_folder_of_dumps_reads_each_site(store, tmp_path: Path, bad_dump: Path, data_dir):
    shutil.copytree(data_dir / "stackexchange" / BIKES, tmp_path / "bikes")
    with pytest.raises(SourceError, match="--site names one"):
        run_ingest(store.con, "stackexchange", [tmp_path], {"site": "x"})
    run_ingest(store.con, "stackexchange", [tmp_path])
    sites = rows(store, "SELECT split_part(native_id, ':', 1) AS site, count(*) FROM items GROUP BY site ORDER BY site")
    assert sites == [("bikes", len(xml_rows(tmp_path / "bikes", "Posts")) + len(xml_rows(tmp_path / "bikes", "Comments"))),
                     ("broken", 5)]


def test_site_defaults_to_folder_name(store, tmp_path: Path, data_dir):
    folder = tmp_path / "bicycles.stackexchange.com"
    shutil.copytree(data_dir / "stackexchange" / BIKES, folder)
    (folder / "PostHistory.xml").unlink()
    run_ingest(store.con, "stackexchange", [folder])
    assert rows(store, "SELECT count(*) FROM profiles WHERE native_id LIKE 'bicycles:%'")[0][0] == len(
        xml_rows(folder, "Users")
    )
