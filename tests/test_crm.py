"""CRM connector: Salesforce-style CSV exports, broken references, column maps, idempotency."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import rows
from resonance.ingest import run_ingest
from resonance.sources import SourceError


def counts(store) -> list[int]:
    return [rows(store, f"SELECT count(*) FROM {t}")[0][0]
            for t in ("events", "items", "profiles", "identities", "people", "quarantine")]


def test_salesforce_export_golden_rows(store, data_dir):
    report = run_ingest(store.con, "crm", [data_dir / "crm" / "acme"])
    assert (report.counts.ingested["items"], report.counts.ingested["events"]) == (5, 7)
    assert rows(store, "SELECT item_id, kind, author, container, title, created FROM items ORDER BY item_id") == [
        ("crm-account:001A000001Globex", "account", "crm:005A0000001Dana", None, "Globex Corporation",
         datetime(2025, 11, 3, 9, 0)),
        ("crm-account:001A000002Initech", "account", "crm:005A0000002Fox", None, "Initech",
         datetime(2025, 12, 1, 9, 30)),  # +0100 -> UTC
        ("crm-opportunity:006A000001Won", "opportunity", "crm:005A0000001Dana", "crm-account:001A000001Globex",
         "Globex platform renewal", datetime(2026, 1, 10, 8, 0)),
        ("crm-opportunity:006A000002Open", "opportunity", "crm:005A0000002Fox", "crm-account:001A000002Initech",
         "Initech Kafka migration", datetime(2026, 2, 15, 14, 0)),
        ("crm-opportunity:006A000003Lost", "opportunity", "crm:005A0000001Dana", "crm-account:001A000001Globex",
         "Globex analytics add-on", datetime(2025, 12, 1, 9, 0)),
    ]
    won = rows(store, "SELECT extra->>'amount', extra->>'stage', extra->>'close_date', extra->>'is_closed', "
                      "extra->>'is_won' FROM items WHERE item_id = 'crm-opportunity:006A000001Won'")
    assert won == [("120000.0", "Closed Won", "2026-02-27", "true", "true")]
    assert rows(store, "SELECT native_id, time, actor, verb, value, ctx_account, extra FROM events "
                       "WHERE verb <> 'Join' ORDER BY time") == [
        ("Opportunity/006A000003Lost/create", datetime(2025, 12, 1, 9, 0), "crm:005A0000001Dana", "Create", 15000.0,
         "crm-account:001A000001Globex", '{"amount":15000.0,"stage":"Closed Lost","close_date":"2026-01-31",'
         '"is_closed":true,"is_won":false,"account":"crm-account:001A000001Globex"}'),
        ("Opportunity/006A000001Won/create", datetime(2026, 1, 10, 8, 0), "crm:005A0000001Dana", "Create", 120000.0,
         "crm-account:001A000001Globex", '{"amount":120000.0,"stage":"Closed Won","close_date":"2026-02-27",'
         '"is_closed":true,"is_won":true,"account":"crm-account:001A000001Globex"}'),
        ("Opportunity/006A000002Open/create", datetime(2026, 2, 15, 14, 0), "crm:005A0000002Fox", "Create", 45000.0,
         "crm-account:001A000002Initech", '{"amount":45000.0,"stage":"Proposal/Price Quote","close_date":'
         '"2026-04-30","is_closed":false,"is_won":false,"account":"crm-account:001A000002Initech"}'),
        ("Opportunity/006A000001Won/won", datetime(2026, 2, 27), "crm:005A0000001Dana", "Update", 120000.0,
         "crm-account:001A000001Globex", '{"won":true,"stage":"Closed Won"}'),
    ]
    assert rows(store, "SELECT actor, object, time, extra->>'role' FROM events WHERE verb = 'Join' ORDER BY time") == [
        # no CreatedDate: the opportunity's creation time
        ("crm:005A0000003Walt", "crm-opportunity:006A000001Won", datetime(2026, 1, 10, 8, 0), "Executive Sponsor"),
        ("crm:005A0000002Fox", "crm-opportunity:006A000001Won", datetime(2026, 1, 12, 9, 0), "Sales Engineer"),
        ("crm:005A0000001Dana", "crm-opportunity:006A000002Open", datetime(2026, 2, 16, 10, 0), "Account Manager"),
    ]
    assert rows(store, "SELECT display_name, identities, title, is_external, organization FROM people "
                       "ORDER BY is_external, display_name") == [
        ("Dana Scully", ["crm:005A0000001Dana", "email:dana.scully@acme.example"], "Account Executive", False, None),
        ("Fox Mulder", ["crm:005A0000002Fox", "email:fox@acme.example"], "Solutions Architect", False, None),
        ("Walter Skinner", ["crm:005A0000003Walt", "email:walter.skinner@acme.example"], "VP Sales", False, None),
        ("Bill Lumbergh", ["crm:003A000002Bill", "email:bill.lumbergh@initech.example"], "Director, Platform",
         True, "Initech"),
        ("Jane Roe", ["crm:003A000001Jane", "email:jane.roe@globex.com"], "CTO", True, "Globex Corporation"),
        ("Peter Gibbons", ["crm:003A000004Pete"], "Engineer", True, "Initech"),
    ]


def test_broken_references_are_quarantined(store, data_dir):
    run_ingest(store.con, "crm", [data_dir / "crm" / "acme"])
    assert rows(store, "SELECT regexp_replace(file, '.*/', ''), line, field, reason FROM quarantine "
                       "ORDER BY file, line") == [
        ("Contact.csv", 4, "AccountId", "unknown AccountId 001A000099Nobody"),
        ("Opportunity.csv", 5, "AccountId", "unknown AccountId 001A000077Missing"),
        ("Opportunity.csv", 6, "Amount", "not a number: 'lots'"),
        ("OpportunityTeamMember.csv", 5, "OpportunityId", "unknown OpportunityId 006A000099Gone"),
    ]
    raw = rows(store, "SELECT raw FROM quarantine WHERE field = 'Amount'")[0][0]
    assert raw.startswith("006A000005Amt,001A000002Initech,Bad amount")


def test_reingest_changes_nothing(store, data_dir):
    run_ingest(store.con, "crm", [data_dir / "crm" / "acme"])
    before = counts(store)
    again = run_ingest(store.con, "crm", [data_dir / "crm" / "acme"])
    assert again.ingested == 0
    assert counts(store) == before


def test_column_map_and_file_names_for_another_crm(store, tmp_path):
    (tmp_path / "companies.csv").write_text("company_id;company_name;sector\nG1;Globex;Manufacturing\n")
    (tmp_path / "deals.csv").write_text(
        "deal_id;company_id;deal_name;stage;value;close;owner\n"
        "D1;G1;Renewal;Won;5000;2026-03-01;U9\nD2;G2;Orphan;Open;10;2026-03-01;U9\n")
    report = run_ingest(store.con, "crm", [tmp_path], {
        "files": "Account:companies.csv;Opportunity:deals.csv", "delimiter": ";",
        "column_map": {"Account.Id": "company_id", "Account.Name": "company_name", "Account.Industry": "sector",
                       "Opportunity.Id": "deal_id", "AccountId": "company_id", "Opportunity.Name": "deal_name",
                       "StageName": "stage", "Amount": "value", "CloseDate": "close", "OwnerId": "owner"},
    })
    assert report.counts.ingested["items"] == 2
    # No IsWon column: the stage name says it.
    assert rows(store, "SELECT verb, time, actor FROM events ORDER BY time, verb") == [
        ("Create", datetime(2026, 3, 1), "crm:U9"), ("Update", datetime(2026, 3, 1), "crm:U9")]
    assert rows(store, "SELECT line, field, reason FROM quarantine") == [(3, "AccountId", "unknown AccountId G2")]


def test_unmapped_required_column_is_a_clear_error(store, tmp_path):
    (tmp_path / "Account.csv").write_text("account,label\nA1,Globex\n")
    with pytest.raises(SourceError, match="no column for Id, Name .*--map Account.Id=COLUMN"):
        run_ingest(store.con, "crm", [tmp_path / "Account.csv"])
