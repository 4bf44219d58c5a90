"""SCIM connector: Users with the enterprise extension, Groups, bad records, idempotency."""

from __future__ import annotations

import json

from conftest import rows
from resonance.ingest import run_ingest

WALTER = "scim:2819c223-7f76-453a-919d-413861904646"
DANA = "scim:9a1f22b0-1c3e-4b1d-8d0a-5b6c7d8e9f00"
FOX = "scim:0bd4e5f6-aaaa-4bbb-8ccc-ddddeeeeffff"


def test_users_and_groups_golden_rows(store, data_dir):
    report = run_ingest(store.con, "scim", [data_dir / "scim"])
    assert report.counts.ingested["people"] == 3
    people = rows(store, "SELECT person_id, display_name, emails, identities, manager_id, department, location, "
                         "title, role FROM people ORDER BY display_name")
    assert people == [
        (DANA, "Dana Scully", ["dana+crm@acme.example", "dana.scully@acme.example", "dana@acme.example"],
         ["email:dana+crm@acme.example", "email:dana.scully@acme.example", "email:dana@acme.example", "hr:E00002",
          DANA], WALTER, "Sales", "Lyon", "Account Executive", None),
        (FOX, "Fox Mulder", ["fox@acme.example"], ["email:fox@acme.example", FOX], None, None, None, None, None),
        (WALTER, "Walter Skinner", ["walter.skinner@acme.example"], ["email:walter.skinner@acme.example",
                                                                     "hr:E00001", WALTER],
         None, "Sales", "Paris", "VP Sales", "Manager"),
    ]
    extra = {n: json.loads(e) for n, e in rows(store, "SELECT native_id, extra FROM profiles")}
    assert extra[FOX.removeprefix("scim:")] == {"userName": "fmulder", "active": False, "groups": ["Kafka guild"]}
    assert extra[DANA.removeprefix("scim:")]["groups"] == ["Kafka guild", "Sales"]
    assert extra[WALTER.removeprefix("scim:")]["organization"] == "Acme"


def test_bad_records_are_quarantined_and_reingest_is_idempotent(store, data_dir):
    run_ingest(store.con, "scim", [data_dir / "scim"])
    assert rows(store, "SELECT regexp_replace(file, '.*/', ''), line, field, reason FROM quarantine "
                       "ORDER BY file, line") == [
        ("Groups.ndjson", 3, "json", "malformed JSON: unexpected end of data: line 1 column 120 (char 119)"),
        ("Groups.ndjson", 4, "schemas", "neither a SCIM User nor a Group"),
        ("Users.json", 4, "id", "User without id"),
    ]
    tables = ("profiles", "identities", "people", "quarantine")
    before = [rows(store, f"SELECT count(*) FROM {t}")[0][0] for t in tables]
    again = run_ingest(store.con, "scim", [data_dir / "scim"])
    assert again.ingested == 0 and again.duplicates == 3
    after = [rows(store, f"SELECT count(*) FROM {t}")[0][0] for t in tables]
    assert after == before


def test_scim_links_to_other_sources_by_email_and_hr_id(store, data_dir):
    run_ingest(store.con, "slack", [data_dir / "slack" / "acme-export"])
    run_ingest(store.con, "scim", [data_dir / "scim"])
    # Dana: Slack says Dana.Scully@acme.example, SCIM lists it: one person, SCIM's department wins.
    assert rows(store, "SELECT display_name, department, list_sort(sources) FROM people "
                       "WHERE list_contains(identities, 'slack:U01DANA')") == [
        ("Dana Scully", "Sales", ["scim", "slack"])]
