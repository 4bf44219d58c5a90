"""E-mail connector: a real list archive (DMARC-rewritten From), hand-written mbox and maildir."""

from __future__ import annotations

import gzip
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from conftest import rows
from resonance.ingest import run_ingest
from resonance.sources import SourceError

USRP = "usrp-users-2019-first250.mbox.gz"


def counts(store) -> list[int]:
    return [rows(store, f"SELECT count(*) FROM {t}")[0][0]
            for t in ("events", "items", "profiles", "identities", "people", "quarantine")]


def test_hand_written_mbox_and_maildir_golden_rows(store, data_dir):
    mail = data_dir / "mail"
    report = run_ingest(store.con, "email", [mail / "acme-small.mbox", mail / "maildir"])
    assert report.counts.ingested["items"] == 6
    assert dict(report.counts.reasons) == {
        "unparseable Date 'the day after tomorrow'": 1,
        "missing From header": 1,
    }
    assert rows(store, "SELECT line, field, reason FROM quarantine ORDER BY line") == [
        (37, "Date", "unparseable Date 'the day after tomorrow'"),
        (46, "From", "missing From header"),
    ]
    generated = "generated-0cf6077b634881d2059cafdae47ee322759bc509@resonance"
    assert rows(store, "SELECT item_id, kind, author, parent_id, title, text, created FROM items ORDER BY created") == [
        ("mid:m1@acme.example", "email", "email:dana.scully@acme.example", None, "Kafka certificate rotation",
         "Hi all, the certificates expire on Friday.", datetime(2026, 3, 2, 9, 0)),
        ("mid:m2@acme.example", "email", "email:fox@acme.example", "mid:m1@acme.example",
         "Re: Kafka certificate rotation", "I'll do it today.", datetime(2026, 3, 2, 11, 30)),
        (f"mid:{generated}", "email", "email:jane.roe@globex.com", "mid:m2@acme.example", "Merci à vous",
         "A message without Message-ID: it gets an id derived from its content.", datetime(2026, 3, 2, 12, 0)),
        ("mid:m6@acme.example", "email", "email:dana.scully@acme.example", "mid:m1@acme.example", "Re: Merci",
         "De rien, Jérôme est au courant.", datetime(2026, 3, 2, 15, 0)),
        ("mid:md1@acme.example", "email", "email:fox@acme.example", None, "From the maildir",
         "CRLF line ends are fine.", datetime(2026, 3, 3, 14, 15)),
        ("mid:md2@acme.example", "email", "email:dana.scully@acme.example", "mid:md1@acme.example",
         "Re: From the maildir", "Thanks!", datetime(2026, 3, 3, 15, 0)),
    ]
    assert rows(store, "SELECT native_id, verb, actor, object, recipients FROM events ORDER BY time LIMIT 1") == [
        ("m1@acme.example", "Create", "email:dana.scully@acme.example", "mid:m1@acme.example",
         ["email:fox+projects@acme.example", "email:walter.skinner@acme.example", "email:jane.roe@globex.com"]),
    ]
    people = rows(store, "SELECT display_name, emails, is_external, organization FROM people ORDER BY display_name")
    assert people == [
        ("Dana Scully", ["dana.scully@acme.example"], False, None),
        # plus-addressed and plain spellings are one person
        ("Fox Mulder", ["fox+projects@acme.example", "fox@acme.example"], False, None),
        ("Jane Roe", ["jane.roe@globex.com"], True, "globex.com"),
        ("Walter Skinner", ["walter.skinner@acme.example"], False, None),  # "Skinner, Walter"
    ]


def test_reingest_is_idempotent_and_generated_ids_stable(store, data_dir):
    mail = data_dir / "mail"
    run_ingest(store.con, "email", [mail / "acme-small.mbox", mail / "maildir"])
    before = counts(store)
    again = run_ingest(store.con, "email", [mail / "acme-small.mbox", mail / "maildir"])
    assert again.ingested == 0
    assert counts(store) == before


def test_explicit_domains_decide_who_is_external(store, data_dir):
    run_ingest(store.con, "email", [data_dir / "mail" / "acme-small.mbox"], {"domains": "globex.com"})
    external = dict(rows(store, "SELECT display_name, is_external FROM people"))
    assert external["Jane Roe"] is False
    assert external["Dana Scully"] is True


def test_real_list_archive_recovers_senders_from_dmarc_rewrites(store, data_dir):
    report = run_ingest(store.con, "email", [data_dir / "mail" / USRP])
    assert (report.counts.ingested["items"], report.counts.ingested["events"], report.rejected) == (250, 250, 0)
    # Every "Name via USRP-users <usrp-users@lists.ettus.com>" resolved to a real address.
    how = dict(rows(store, "SELECT json_extract_string(extra, '$.sender_from'), count(*) FROM items GROUP BY 1"))
    assert how == {"reply-to:name": 245, "reply-to:local-part": 3, "reply-to": 2}
    assert rows(store, "SELECT count(*) FROM items WHERE author NOT LIKE 'email:%'") == [(0,)]
    assert rows(store, "SELECT count(*) FROM identities WHERE identity = 'email:usrp-users@lists.ettus.com'") == [(0,)]
    first = rows(store, "SELECT author, container, title, created FROM items ORDER BY created, item_id LIMIT 1")
    assert first == [("email:ejkreinar@gmail.com", "usrp-users.lists.ettus.com",
                      "[USRP-users] Introducing Theseus Cores: Open source FPGA cores for DSP and SDR",
                      datetime(2019, 4, 29, 0, 0))]
    # Threads: 198 replies, 179 of whose parents are in this slice of the archive.
    assert rows(store, "SELECT count(parent_id), count(*) FILTER (WHERE parent_id IN (SELECT item_id FROM items)) "
                       "FROM items") == [(198, 179)]
    # Company domain inferred as ettus.com: Ettus staff internal, everyone else external.
    assert rows(store, "SELECT count(*), count(*) FILTER (WHERE is_external) FROM people") == [(72, 61)]
    assert rows(store, "SELECT person_id, is_external, organization FROM people "
                       "WHERE display_name = 'Marcus Müller' ORDER BY 1") == [
        ("email:marcus.mueller@ettus.com", False, None),
        ("email:mmueller@gnuradio.org", True, "gnuradio.org"),  # same name, other domain: not merged
    ]


def test_gzip_and_plain_give_the_same_rows(store, data_dir, tmp_path: Path):
    plain = tmp_path / "usrp.mbox"
    with gzip.open(data_dir / "mail" / USRP, "rb") as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst)
    run_ingest(store.con, "email", [data_dir / "mail" / USRP])
    before = counts(store)
    again = run_ingest(store.con, "email", [plain])
    assert again.counts.ingested["items"] == 0 and again.counts.duplicates["items"] == 250
    assert counts(store)[:2] == before[:2]


def test_missing_path_is_a_clear_error(store, tmp_path: Path):
    with pytest.raises(SourceError, match="no such file"):
        run_ingest(store.con, "email", [tmp_path / "nope.mbox"])


def test_list_sender_without_reply_to_gets_a_stable_name_key(store, tmp_path: Path):
    mbox = tmp_path / "list.mbox"
    mbox.write_text(
        "From list@lists.example Mon Mar  2 09:00:00 2026\n"
        "From: Jane Doe via Kafka-users <kafka-users@lists.example>\n"
        "To: kafka-users@lists.example\n"
        "List-Id: Kafka users <kafka-users.lists.example>\n"
        "List-Post: <mailto:kafka-users@lists.example>\n"
        "Subject: Rotation\nDate: Mon, 02 Mar 2026 10:00:00 +0000\nMessage-ID: <l1@x>\n\nHello\n"
    )
    run_ingest(store.con, "email", [mbox])
    run_ingest(store.con, "email", [mbox])
    assert rows(store, "SELECT author, container, extra->>'sender_from' FROM items") == [
        ("listname:kafka-users.lists.example/jane doe", "kafka-users.lists.example", "display-name")]
    assert rows(store, "SELECT person_id, display_name FROM people") == [
        ("listname:kafka-users.lists.example/jane doe", "Jane Doe")]


def test_an_unquoted_from_line_in_a_body_is_not_a_new_message(store, tmp_path: Path):
    mbox = tmp_path / "mboxo.mbox"
    mbox.write_text(
        "From dana@acme.example Mon Mar  2 09:00:00 2026\n"
        "From: dana@acme.example\nTo: fox@acme.example\nSubject: Notes\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0000\nMessage-ID: <n1@x>\n\n"
        "Minutes:\n\nFrom the start we agreed on weekly rotations.\n\n"
        "From - Tue Mar 03 09:00:00 2026\n"
        "From: fox@acme.example\nTo: dana@acme.example\nSubject: Re: Notes\n"
        "Date: Tue, 03 Mar 2026 09:00:00 +0000\nMessage-ID: <n2@x>\n\nThanks\n"
    )
    report = run_ingest(store.con, "email", [mbox])
    assert report.rejected == 0
    assert rows(store, "SELECT native_id, text FROM items ORDER BY created") == [
        ("n1@x", "Minutes:\n\nFrom the start we agreed on weekly rotations."), ("n2@x", "Thanks")]
