"""Writes the hostile and broken inputs of tests/data/bad/ (run it to regenerate; deterministic).

Every file here is hand-built to break a connector: truncated files, wrong
encodings, huge fields, deep nesting, XML entity expansion and external
entities, zip bombs and path traversal in Slack exports, MIME bombs, endless
recurrence rules, formula cells for CSV injection. Inputs that would be too big
to keep in the repository (multi-megabyte fields) are described in `cases.json`
with `"generate"` and made by the test at run time.

The expected outcome of each case is in `cases.json` (see tests/test_bad_input.py).
"""

from __future__ import annotations

import gzip
import io
import json
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
rng = random.Random(20260301)
FIXED_TIME = (2026, 3, 1, 0, 0, 0)  # zip entry dates: the same bytes on every run


def w(rel: str, data: str | bytes) -> None:
    path = HERE / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


AS2_OK = [
    {"id": "urn:ok:1", "type": "Create", "actor": "mailto:ann@acme.example",
     "object": {"id": "urn:post:1", "type": "Note", "name": "Hello", "content": "<p>hi</p>"},
     "published": "2026-01-05T10:00:00Z"},
    {"id": "urn:ok:2", "type": "Like", "actor": "mailto:bob@acme.example", "object": "urn:post:1",
     "published": "2026-01-05T11:00:00Z"},
]
OK_LINES = "\n".join(json.dumps(a) for a in AS2_OK) + "\n"


def as2() -> None:
    w("as2/truncated.ndjson", OK_LINES + json.dumps(AS2_OK[1])[:-20].replace("urn:ok:2", "urn:ok:3"))
    w("as2/utf16.ndjson", OK_LINES.encode("utf-16"))
    w("as2/latin1.ndjson", OK_LINES.encode() + '{"id": "urn:l:1", "type": "Like", "actor": "mailto:jos\xe9@acme'
      '.example", "object": "urn:post:1", "published": "2026-01-05T11:00:00Z"}\n'.encode("latin-1"))
    w("as2/nul-bytes.ndjson",
      OK_LINES.encode() + b'{"id": "urn:n:1", "type": "Li\x00ke", "actor": "x"}\n\x00\x00\x00\n')
    w("as2/deep-nesting.ndjson", OK_LINES + '{"id": "urn:d:1", "type": "Like", "actor": ' + "[" * 20_000
      + "]" * 20_000 + ', "object": "urn:post:1", "published": "2026-01-05T11:00:00Z"}\n')
    w("as2/deep-array.json", "[" * 50_000 + "]" * 50_000)
    w("as2/empty.ndjson", "")
    w("as2/binary.ndjson", bytes(rng.randrange(256) for _ in range(20_000)))
    w("as2/csv-not-json.ndjson", "id,type,actor\n1,Like,ann\n2,Like,bob\n")
    w("as2/wrong-types.ndjson", "\n".join(json.dumps(a) for a in [
        {"id": "urn:t:1", "type": "Like", "actor": 42, "object": "urn:post:1", "published": "2026-01-05T11:00:00Z"},
        {"id": "urn:t:2", "type": ["Like"], "actor": "mailto:a@b.c", "object": "urn:post:1",
         "published": "2026-01-05T11:00:00Z"},
        {"id": "urn:t:3", "type": "Like", "actor": "mailto:a@b.c", "object": {"id": {"deep": 1}},
         "published": 12345},
        {"id": {"x": 1}, "type": "Like", "actor": "mailto:a@b.c", "object": "urn:post:1",
         "published": "2026-01-05T11:00:00Z"},
        {"id": "urn:t:5", "type": "Like", "actor": "mailto:a@b.c", "object": "urn:post:1",
         "published": "9999-99-99T99:99:99Z"},
        [1, 2, 3], "just a string", None,
    ]) + "\n")
    w("as2/truncated.ndjson.gz", gzip.compress(OK_LINES.encode() * 50, mtime=0)[:-40])
    w("as2/fake-gzip.ndjson", b"\x1f\x8b" + bytes(rng.randrange(256) for _ in range(5000)))
    w("as2/duplicate-keys.ndjson", '{"id": "urn:k:1", "id": "urn:k:2", "type": "Like", "type": "Frobnicate", '
      '"actor": "mailto:a@b.c", "object": "urn:post:1", "published": "2026-01-05T11:00:00Z"}\n')
    w("as2/injection.ndjson", json.dumps({
        "id": "urn:i:1'); DROP TABLE events; --", "type": "Create", "actor": {"id": "mailto:x@acme.example",
                                                                          "name": "<script>alert(1)</script>"},
        "object": {"id": "urn:i:post", "type": "Note", "name": "=cmd|' /C calc'!A0",
                   "content": "<img src=x onerror=alert(1)>"}, "published": "2026-01-05T10:00:00Z"}) + "\n")


def csv_files() -> None:
    header = "from,date,kind,text\n"
    w("csv/unbalanced-quotes.csv", header + 'ann@acme.example,2026-01-05,post,"ok\nbob@acme.example,2026-01-06,'
      'post,"never closed\ncarl@acme.example,2026-01-07,post,fine\n')
    w("csv/ragged.csv", header + "ann@acme.example,2026-01-05,post,ok\nbob@acme.example,2026-01-06\n"
      "carl@acme.example,2026-01-07,post,a,b,c,d\n")
    w("csv/formula-cells.csv", header + "ann@acme.example,2026-01-05,post,=HYPERLINK(\"http://evil\",\"x\")\n"
      "bob@acme.example,2026-01-06,post,+cmd|' /C calc'!A0\ncarl@acme.example,2026-01-07,post,-2+3\n"
      "dan@acme.example,2026-01-08,post,@SUM(A1:A2)\n")
    w("csv/utf16.csv", (header + "ann@acme.example,2026-01-05,post,ok\n").encode("utf-16"))
    w("csv/latin1.csv", (header + "jos\xe9@acme.example,2026-01-05,post,caf\xe9\n").encode("latin-1"))
    w("csv/empty.csv", "")
    w("csv/header-only.csv", header)
    w("csv/bad-times.csv", header + "ann@acme.example,yesterday,post,x\nbob@acme.example,2026-13-45,post,y\n"
      "carl@acme.example,,post,z\n")
    w("csv/binary.csv", bytes(rng.randrange(256) for _ in range(10_000)))
    w("csv/nul-bytes.csv", (header + "ann@acme.example,2026-01-05,post,o\x00k\n").encode())


def directory() -> None:
    h = "id,name,email,manager_id,department,location,title,role,start_date,handles\n"
    w("directory/manager-cycle.csv", h + "E1,Ann A,ann@acme.example,E2,Eng,Berlin,Eng,engineer,2020-01-01,\n"
      "E2,Bob B,bob@acme.example,E1,Eng,Berlin,Eng,engineer,2020-01-01,\n"
      "E3,Cy C,cy@acme.example,E3,Eng,Berlin,Eng,engineer,2020-01-01,\n")
    w("directory/duplicate-ids.csv", h + "E1,Ann A,ann@acme.example,,Eng,Berlin,Eng,engineer,2020-01-01,\n"
      "E1,Ann Again,ann2@acme.example,,Eng,Berlin,Eng,engineer,2020-01-01,\n")
    w("directory/bad-dates.csv", h + "E1,Ann A,ann@acme.example,,Eng,Berlin,Eng,engineer,31/02/2020,\n"
      "E2,Bob B,bob@acme.example,,Eng,Berlin,Eng,engineer,not a date,\n")
    w("directory/missing-id.csv", h + ",Ann A,ann@acme.example,,Eng,Berlin,Eng,engineer,2020-01-01,\n"
      "E2,Bob B,bob@acme.example,,Eng,Berlin,Eng,engineer,2020-01-01,\n")
    w("directory/injection.csv", h + "E1,\"<script>alert(1)</script>\",ann@acme.example,,\"'; DROP TABLE people; "
      "--\",Berlin,=cmd|' /C calc'!A0,engineer,2020-01-01,slack:U1;;;\n")
    w("directory/wrong-header.csv", "foo,bar\n1,2\n")
    w("directory/truncated.csv", h + "E1,Ann A,ann@acme.example,,Eng,Berlin,Eng,engineer,2020-01-01,\nE2,\"Bob")


def stackexchange() -> None:
    laughs = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
                        for i in range(1, 10))
              + ']>\n<posts>\n  <row Id="1" PostTypeId="1" CreationDate="2020-01-01T00:00:00.000" '
                'Body="&lol9;" OwnerUserId="1" Title="t" />\n</posts>\n')
    w("stackexchange/billion-laughs/Posts.xml", laughs)
    w("stackexchange/xxe/Users.xml", '<?xml version="1.0"?>\n<!DOCTYPE u [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
      '\n<users>\n  <row Id="1" DisplayName="&xxe;" CreationDate="2020-01-01T00:00:00.000" />\n</users>\n')
    w("stackexchange/truncated/Posts.xml", '<?xml version="1.0" encoding="utf-8"?>\n<posts>\n  <row Id="1" '
      'PostTypeId="1" CreationDate="2020-01-01T00:00:00.000" Body="&lt;p&gt;q&lt;/p&gt;" OwnerUserId="1" '
      'Title="q" />\n  <row Id="2" PostTypeId="2" ParentId="1" CreationDate="2020-01-0')
    w("stackexchange/bad-attrs/Votes.xml", '<?xml version="1.0" encoding="utf-8"?>\n<votes>\n'
      '  <row Id="1" PostId="abc" VoteTypeId="2" CreationDate="2020-01-01T00:00:00.000" />\n'
      '  <row Id="2" VoteTypeId="zzz" CreationDate="yesterday" />\n'
      '  <row PostId="1" VoteTypeId="2" CreationDate="2020-01-01T00:00:00.000" />\n</votes>\n')
    w("stackexchange/not-xml/Posts.xml", json.dumps({"posts": [1, 2, 3]}))
    w("stackexchange/latin1/Posts.xml", '<?xml version="1.0" encoding="ISO-8859-1"?>\n<posts>\n  <row Id="1" '
      'PostTypeId="1" CreationDate="2020-01-01T00:00:00.000" Body="caf\xe9" OwnerUserId="1" Title="\xe9t\xe9" />\n'
      '</posts>\n'.encode("latin-1"))
    w("stackexchange/empty/README.txt", "no dump files here\n")
    w("stackexchange/deep-nesting/Comments.xml", '<?xml version="1.0"?>\n<comments>' + "<a>" * 10_000
      + "</a>" * 10_000 + "</comments>\n")


def email() -> None:
    msg = ("From: Ann <ann@acme.example>\nTo: bob@acme.example\nSubject: hi\nDate: Mon, 02 Mar 2026 10:00:00 +0000\n"
           "Message-ID: <{id}@acme.example>\n\nhello\n")
    w("email/no-from-lines.mbox", msg.format(id="a") + "\n" + msg.format(id="b"))
    w("email/broken-headers.eml", "this is not a header\nFrom ann@acme.example\n\xff\xfe: x\nSubject: \x00\x01\n\nbody")
    nested = "From: ann@acme.example\nTo: bob@acme.example\nMessage-ID: <bomb@acme.example>\n"
    nested += "Date: Mon, 02 Mar 2026 10:00:00 +0000\nMIME-Version: 1.0\n"
    depth = 1500
    for i in range(depth):
        nested += f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n'
    nested += "Content-Type: text/plain\n\ndeep\n"
    for i in reversed(range(depth)):
        nested += f"--b{i}--\n"
    w("email/mime-bomb.eml", nested)
    w("email/bad-charset.eml", "From: ann@acme.example\nTo: bob@acme.example\nMessage-ID: <cs@acme.example>\n"
      "Date: Mon, 02 Mar 2026 10:00:00 +0000\nSubject: =?x-nonexistent?Q?caf=E9?=\n"
      'Content-Type: text/plain; charset="x-nonexistent"\n\ncaf\xe9\n')
    w("email/base64-garbage.eml", "From: ann@acme.example\nTo: bob@acme.example\nMessage-ID: <b64@acme.example>\n"
      "Date: Mon, 02 Mar 2026 10:00:00 +0000\nContent-Transfer-Encoding: base64\nContent-Type: text/plain\n\n"
      "!!!! not base64 at all ????\n")
    w("email/date-garbage.eml", "From: ann@acme.example\nTo: bob@acme.example\nMessage-ID: <dg@acme.example>\n"
      "Date: yesterday at noon\nSubject: when\n\nbody\n")
    w("email/truncated.mbox.gz", gzip.compress(("From ann@acme.example Mon Mar  2 10:00:00 2026\n"
                                                + msg.format(id="t") + "\n").encode() * 100, mtime=0)[:-50])
    w("email/binary.mbox", bytes(rng.randrange(256) for _ in range(20_000)))
    w("email/header-injection.eml", "From: ann@acme.example\nTo: bob@acme.example,\n evil@x.example\r\nBcc: "
      "all@acme.example\nMessage-ID: <inj@acme.example>\nDate: Mon, 02 Mar 2026 10:00:00 +0000\n"
      "Subject: a\r\nX-Injected: yes\n\nbody\n")


def email_found_by_atheris() -> None:
    # A charset name with a NUL byte: codec lookup raises ValueError, not LookupError.
    w("email/nul-charset.eml", b"From: ann@acme.example\nTo: bob@acme.example\nMessage-ID: <nul@acme.example>\n"
      b"Date: Mon, 02 Mar 2026 10:00:00 +0000\nContent-Type: text/plain; charset=utf-\x00\x008\n\nhello\n")


def slack() -> None:
    users = json.dumps([{"id": "U1", "name": "ann", "real_name": "Ann A",
                         "profile": {"email": "ann@acme.example"}}])
    channels = json.dumps([{"id": "C1", "name": "general"}])
    day = json.dumps([{"type": "message", "user": "U1", "text": "hi", "ts": "1772445600.000200"}])

    def zipped(name: str, entries: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression) as z:
            for n, data in entries:
                z.writestr(zipfile.ZipInfo(n, FIXED_TIME), data, compress_type=compression)
        w(f"slack/{name}", buf.getvalue())

    base = [("users.json", users.encode()), ("channels.json", channels.encode()),
            ("general/2026-03-02.json", day.encode())]
    zipped("zip-bomb.zip", [*base, ("general/2026-03-03.json", b"[" + b" " * (100 << 20) + b"]")])
    zipped("many-entries.zip", [*base, *((f"general/2026-01-{i:05d}.json", b"[]") for i in range(2_000))])
    zipped("path-traversal.zip", [*base, ("../../../../tmp/resonance-evil.json", day.encode()),
                                  ("/etc/evil.json", day.encode())])
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("general/2026-03-03.json", FIXED_TIME), b"[" + b" " * (20 << 20) + b"]",
                   compress_type=zipfile.ZIP_DEFLATED)
    zipped("nested-zip.zip", [*base, ("general/inner.zip", inner.getvalue())])
    w("slack/not-a-zip.zip", bytes(rng.randrange(256) for _ in range(5000)))
    w("slack/bad-json/users.json", users)
    w("slack/bad-json/channels.json", channels)
    w("slack/bad-json/general/2026-03-02.json", day[:-10])
    w("slack/bad-json/general/2026-03-03.json", "[" * 20_000 + "]" * 20_000)
    w("slack/bad-json/general/2026-03-04.json", json.dumps({"not": "a list"}))
    w("slack/bad-json/general/2026-03-05.json", json.dumps([{"type": "message", "user": {"x": 1}, "text": 42,
                                                             "ts": "not-a-ts"}, "garbage", None]))
    w("slack/broken-users/users.json", "[{]")
    w("slack/broken-users/channels.json", channels)
    w("slack/broken-users/general/2026-03-02.json", day)


def calendar() -> None:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bad//EN\r\n"
    event = ("BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART:20260302T100000Z\r\nDTEND:20260302T110000Z\r\nSUMMARY:Review\r\n"
             "ORGANIZER:mailto:ann@acme.example\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@acme.example\r\n"
             "{extra}END:VEVENT\r\n")
    w("calendar/truncated.ics", head + event.format(uid="t1", extra="") + "BEGIN:VEVENT\r\nUID:t2\r\nDTSTA")
    w("calendar/endless-rrule.ics", head + event.format(uid="r1", extra="RRULE:FREQ=SECONDLY\r\n")
      + event.format(uid="r2", extra="RRULE:FREQ=MINUTELY;INTERVAL=1\r\n") + "END:VCALENDAR\r\n")
    w("calendar/bad-dates.ics", head + event.format(uid="d1", extra="").replace("20260302T100000Z", "tomorrow")
      + event.format(uid="d2", extra="").replace("DTEND:20260302T110000Z", "DTEND:20260230T250000Z")
      + "END:VCALENDAR\r\n")
    w("calendar/deep-nesting.ics", head + "BEGIN:VEVENT\r\n" * 3_000 + "END:VEVENT\r\n" * 3_000
      + "END:VCALENDAR\r\n")
    w("calendar/not-a-calendar.ics", "Dear team,\nthe meeting is on Monday.\n")
    w("calendar/binary.ics", bytes(rng.randrange(256) for _ in range(10_000)))
    w("calendar/utf16.ics", (head + event.format(uid="u1", extra="") + "END:VCALENDAR\r\n").encode("utf-16"))
    w("calendar/no-uid.ics", head + event.format(uid="", extra="").replace("UID:\r\n", "") + "END:VCALENDAR\r\n")
    # Found by atheris (tests/test_atheris.py): one flipped bit in FREQ=WEEKLY.
    w("calendar/broken-rrule.ics", head + event.format(uid="b1", extra="RRULE:FREQ=WE LY;COUNT=5\r\n")
      + event.format(uid="b2", extra="") + "END:VCALENDAR\r\n")
    # Found by atheris: an occurrence moved four centuries ahead made the expander search without end.
    w("calendar/moved-centuries.ics", head + event.format(uid="m1", extra="RRULE:FREQ=WEEKLY;COUNT=5\r\n")
      + event.format(uid="m1", extra="RECURRENCE-ID:20260309T100000Z\r\n").replace(
          "DTSTART:20260302T100000Z", "DTSTART:24260309T110000Z").replace("20260302T110000Z", "20260309T113000Z")
      + event.format(uid="m2", extra="RRULE:FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12;BYMINUTE=0,30\r\n")
      + "END:VCALENDAR\r\n")


def crm() -> None:
    users = "Id,Name,Email\n005A1,Ann A,ann@acme.example\n"
    w("crm/broken-references/User.csv", users)
    w("crm/broken-references/Account.csv", "Id,Name,Industry,OwnerId\n001A1,Globex,Manufacturing,005NOPE\n")
    w("crm/broken-references/Opportunity.csv", "Id,AccountId,Name,StageName,Amount,CloseDate,OwnerId,IsClosed,IsWon\n"
      "006A1,001NOPE,Deal,Prospecting,100,2026-04-30,005A1,false,false\n")
    w("crm/bad-values/User.csv", users)
    w("crm/bad-values/Account.csv", "Id,Name,Industry,OwnerId\n001A1,Globex,Manufacturing,005A1\n")
    w("crm/bad-values/Opportunity.csv", "Id,AccountId,Name,StageName,Amount,CloseDate,OwnerId,IsClosed,IsWon\n"
      "006A1,001A1,Deal,Prospecting,\"1,000,000$\",31/04/2026,005A1,maybe,perhaps\n"
      "006A2,001A1,Deal 2,Prospecting,1e400,never,005A1,true,true\n")
    w("crm/formula-injection/User.csv", users)
    w("crm/formula-injection/Account.csv", "Id,Name,Industry,OwnerId\n001A1,\"=cmd|' /C calc'!A0\",+1-1,005A1\n"
      "001A2,@SUM(1),-10,005A1\n")
    w("crm/empty-files/User.csv", "")
    w("crm/empty-files/Account.csv", "")


def scim() -> None:
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "ann@acme.example",
            "displayName": "Ann A", "emails": [{"value": "ann@acme.example", "primary": True}]}
    w("scim/wrong-types.json", json.dumps({"Resources": [
        {**user, "emails": "ann@acme.example", "name": 5},
        {**user, "id": ["u2"], "userName": {"x": 1}},
        {**user, "id": "u3", "emails": [None, 5, {"value": None}]},
        "not an object", 42,
    ]}))
    w("scim/not-list-response.json", json.dumps({"Resources": {"a": 1}, "totalResults": "many"}))
    w("scim/truncated.json", json.dumps({"Resources": [user, user]})[:-30])
    w("scim/deep-nesting.json", '{"Resources": ' + "[" * 20_000 + "]" * 20_000 + "}")
    w("scim/garbage-lines.ndjson", json.dumps(user) + "\n{oops\n\x00\x01\n" + json.dumps({**user, "id": "u9"}) + "\n")


def mattermost() -> None:
    lines = [{"type": "version", "version": 1},
             {"type": "user", "user": {"username": "ann", "email": "ann@acme.example"}}]
    ok = "\n".join(json.dumps(x) for x in lines) + "\n"
    w("mattermost/truncated.jsonl", ok + '{"type": "post", "post": {"team": "acme", "channel": "pla')
    w("mattermost/wrong-types.jsonl", ok + "\n".join(json.dumps(x) for x in [
        {"type": "post", "post": {"team": 5, "channel": None, "user": ["ann"], "message": {"x": 1},
                                  "create_at": "yesterday"}},
        {"type": "post", "post": "not an object"},
        {"type": "user", "user": {"username": None}},
        {"type": "emoji", "emoji": {"name": "party"}},
        [1, 2], "string", None,
    ]) + "\n")
    w("mattermost/deep-nesting.jsonl", ok + '{"type": "post", "post": ' + "[" * 20_000 + "]" * 20_000 + "}\n")
    w("mattermost/binary.jsonl", bytes(rng.randrange(256) for _ in range(10_000)))


if __name__ == "__main__":
    for make in (as2, csv_files, directory, stackexchange, email, email_found_by_atheris, slack, calendar, crm, scim,
                 mattermost):
        make()
    print("written under", HERE)
