"""Calendar connector: meetings, PARTSTAT, recurrences in a window, customers, bad attendees."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import rows
from resonance.ingest import run_ingest
from resonance.sources import SourceError

WINDOW = {"window_start": "2026-01-01", "window_end": "2026-06-30"}


def counts(store) -> list[int]:
    return [rows(store, f"SELECT count(*) FROM {t}")[0][0]
            for t in ("events", "items", "profiles", "identities", "people", "quarantine")]


def test_meetings_golden_rows(store, data_dir):
    report = run_ingest(store.con, "calendar", [data_dir / "calendar" / "acme.ics"],
                        {**WINDOW, "crm": str(data_dir / "crm" / "acme")})
    assert (report.counts.ingested["items"], report.counts.ingested["events"]) == (7, 20)
    assert rows(store, "SELECT item_id, kind, author, title, created FROM items ORDER BY created") == [
        ("ical:kickoff-2024@acme.example", "meeting", "email:walter.skinner@acme.example",
         "Kick-off 2024 (all day, long ago)", datetime(2024, 1, 15)),  # single meetings: kept outside the window
        ("ical:weekly-sync@acme.example/20260302T090000Z", "meeting", "email:fox@acme.example", "Platform weekly",
         datetime(2026, 3, 2, 9, 0)),  # 10:00 Paris
        ("ical:globex-review-2026-03@acme.example", "meeting", "email:dana.scully@acme.example",
         "Globex platform review", datetime(2026, 3, 5, 14, 0)),
        ("ical:weekly-sync@acme.example/20260309T090000Z", "meeting", "email:fox@acme.example",
         "Platform weekly (moved)", datetime(2026, 3, 9, 10, 0)),  # the override, keyed by its RECURRENCE-ID
        ("ical:cancelled-1@acme.example", "meeting", "email:walter.skinner@acme.example", "Cancelled offsite",
         datetime(2026, 3, 11, 9, 0)),
        ("ical:weekly-sync@acme.example/20260316T090000Z", "meeting", "email:fox@acme.example", "Platform weekly",
         datetime(2026, 3, 16, 9, 0)),
        # 03-23 is an EXDATE; summer time from 03-29: 10:00 Paris = 08:00 UTC
        ("ical:weekly-sync@acme.example/20260330T080000Z", "meeting", "email:fox@acme.example", "Platform weekly",
         datetime(2026, 3, 30, 8, 0)),
    ]
    review = "ical:globex-review-2026-03@acme.example"
    assert rows(store, "SELECT verb, actor, target, value, ctx_meeting, ctx_account, extra->>'partstat' "
                       "FROM events WHERE object = ? ORDER BY verb, actor, target", [review]) == [
        ("Attend", "email:dana.scully@acme.example", None, 60.0, review, "crm-account:001A000001Globex", "ACCEPTED"),
        ("Attend", "email:fox@acme.example", None, 60.0, review, "crm-account:001A000001Globex", "TENTATIVE"),
        ("Attend", "email:jane.roe@globex.com", None, 60.0, review, "crm-account:001A000001Globex", "ACCEPTED"),
        ("Create", "email:dana.scully@acme.example", None, 60.0, review, "crm-account:001A000001Globex", None),
        ("Invite", "email:dana.scully@acme.example", "email:bill.lumbergh@initech.example", None, review,
         "crm-account:001A000001Globex", "NEEDS-ACTION"),
        ("Invite", "email:dana.scully@acme.example", "email:walter.skinner@acme.example", None, review,
         "crm-account:001A000001Globex", "DECLINED"),
    ]
    # A cancelled meeting is an item (kudos can point to it) but nobody met.
    assert rows(store, "SELECT count(*) FROM events WHERE object = 'ical:cancelled-1@acme.example'") == [(0,)]
    assert rows(store, "SELECT display_name, is_external, organization FROM people ORDER BY display_name") == [
        ("Bill Lumbergh", True, "Initech"),
        ("Dana Scully", False, None),
        ("Fox Mulder", False, None),
        ("Jane Roe", True, "Globex Corporation"),  # linked through the CRM export by domain
        ("Walter Skinner", False, None),
    ]


def test_bad_attendee_and_missing_uid_are_quarantined(store, data_dir):
    run_ingest(store.con, "calendar", [data_dir / "calendar" / "acme.ics"], WINDOW)
    assert rows(store, "SELECT line, field, reason, raw FROM quarantine WHERE field = 'ATTENDEE'") == [
        (21, "ATTENDEE", "ATTENDEE without mailto: address: urn:uuid:6f2c9a0e-room-4 "
         "(meeting ical:globex-review-2026-03@acme.example)", "ATTENDEE:urn:uuid:6f2c9a0e-room-4"),
    ]
    assert rows(store, "SELECT field, reason FROM quarantine WHERE field = 'UID'") == [("UID", "meeting without UID")]
    # without the CRM export, an external attendee's organisation is their domain
    assert rows(store, "SELECT organization FROM people WHERE display_name = 'Jane Roe'") == [("globex.com",)]


def test_window_bounds_the_recurrence_and_reingest_is_idempotent(store, data_dir):
    ics = data_dir / "calendar" / "acme.ics"
    run_ingest(store.con, "calendar", [ics], {"window_start": "2026-03-08", "window_end": "2026-03-20"})
    assert rows(store, "SELECT count(*) FROM items WHERE item_id LIKE 'ical:weekly-sync%'") == [(2,)]
    run_ingest(store.con, "calendar", [ics], WINDOW)
    before = counts(store)
    assert rows(store, "SELECT count(*) FROM items WHERE item_id LIKE 'ical:weekly-sync%'") == [(4,)]
    again = run_ingest(store.con, "calendar", [ics], WINDOW)
    assert again.ingested == 0 and counts(store) == before


def test_unreadable_file_and_bad_window(store, tmp_path):
    broken = tmp_path / "broken.ics"
    broken.write_text("BEGIN:VCALENDAR\nthis is not ical\n")
    report = run_ingest(store.con, "calendar", [broken], WINDOW)
    assert report.rejected == 1
    assert rows(store, "SELECT field, starts_with(reason, 'not a readable iCalendar file') FROM quarantine") == [
        ("VCALENDAR", True)]
    with pytest.raises(SourceError, match="expects a date"):
        run_ingest(store.con, "calendar", [broken], {"window_start": "soon"})
