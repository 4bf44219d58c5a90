"""A small hand-built company for the web tests, loaded through the real loader.

Twelve people in four departments and three locations; `hr:E02` (Mara Quinn) manages a
team of six; `hr:E03` (Ada Brook) is the most active employee; `hr:E12` opts out in
some tests. Items include a post whose body carries a `<script>` (the sanitizer test).
Everything is deterministic.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import duckdb

from resonance.sources.base import BatchBuilder
from resonance.store.loader import Loader
from resonance.store.people import refresh_people

PEOPLE = [
    # id, name, manager, department, location, title
    ("E01", "Noor Haddad", None, "Leadership", "Berlin", "CEO"),
    ("E02", "Mara Quinn", "E01", "Engineering", "Berlin", "Engineering Manager"),
    ("E03", "Ada Brook", "E02", "Engineering", "Berlin", "Senior Engineer"),
    ("E04", "Liam Okafor", "E02", "Engineering", "Lyon", "Engineer"),
    ("E05", "Sofia Reyes", "E02", "Engineering", "Austin", "Engineer"),
    ("E06", "Jonas Weber", "E02", "Engineering", "Berlin", "Engineer"),
    ("E07", "Priya Natarajan", "E02", "Engineering", "Lyon", "Engineer"),
    ("E08", "Tom Becker", "E02", "Engineering", "Austin", "Engineer"),
    ("E09", "Chloe Martin", "E01", "Sales", "Lyon", "Account Executive"),
    ("E10", "Omar Farouk", "E09", "Sales", "Austin", "Account Executive"),
    ("E11", "Hana Sato", "E01", "People", "Berlin", "People Analyst"),
    ("E12", "Ravi Kumar", "E09", "Support", "Austin", "Support Engineer"),
]

XSS_BODY = (
    "<p>Deploy checklist <b>v2</b></p><script>window.__xss = 1; document.title = 'pwned';</script>"
    '<img src=x onerror="window.__xss = 2"><a href="javascript:window.__xss=3">click</a>'
)
START = datetime(2025, 7, 1, 9, 0)


def email(pid: str) -> str:
    name = next(p[1] for p in PEOPLE if p[0] == pid)
    return "email:" + name.lower().replace(" ", ".") + "@acme.example"


def build_company(con: duckdb.DuckDBPyConnection, seed: int = 7) -> dict:
    """Load the company into the store; returns a summary with the ids tests need."""
    rng = random.Random(seed)
    b = BatchBuilder("hr")
    for pid, name, manager, dept, loc, title in PEOPLE:
        b.profile(
            native_id=pid,
            identities=[f"hr:{pid}", email(pid)],
            display_name=name,
            emails=[email(pid)[6:]],
            handles=[],
            manager_ref=f"hr:{manager}" if manager else None,
            department=dept,
            location=loc,
            title=title,
            role="engineer" if dept == "Engineering" else dept.lower(),
            is_external=False,
            file="directory.csv",
            line=PEOPLE.index((pid, name, manager, dept, loc, title)) + 2,
        )
    b.reject(
        file="directory.csv",
        line=15,
        field="email",
        reason="invalid e-mail address",
        raw="E13,Broken Row,not-an-email,E02,Engineering,Berlin",
    )
    _load(con, "directory", b)

    s = BatchBuilder("social")
    authors = ["E03"] * 8 + ["E04", "E05", "E06", "E07", "E09", "E10", "E11", "E12", "E02"]
    items = []
    for n in range(40):
        author = rng.choice(authors)
        created = START + timedelta(days=rng.randrange(0, 270), hours=rng.randrange(0, 8))
        kind = rng.choice(["post", "answer", "question", "post", "answer"])
        item_id = f"social:item{n:03d}"
        body = XSS_BODY if n == 0 else f"<p>Notes on topic {n} with <em>details</em>.</p>"
        if n == 0:
            author, kind, created = "E03", "post", START + timedelta(days=200)
        s.item(
            native_id=f"item{n:03d}",
            item_id=item_id,
            kind=kind,
            author=email(author),
            title="Deploy checklist" if n == 0 else f"{kind.title()} about topic {n}",
            text=body,
            tags=[rng.choice(["kubernetes", "python", "sales", "onboarding"])],
            created=created,
            container=rng.choice(["eng-forum", "all-hands", "support"]),
            file="social.ndjson",
            line=n + 1,
        )
        s.event(
            native_id=f"create{n:03d}",
            time=created,
            actor=email(author),
            verb="Create",
            object=item_id,
            object_type="item",
            file="social.ndjson",
            line=n + 1,
        )
        items.append((item_id, author, created))
    s.item(
        native_id="meet1",
        item_id="cal:meet1",
        kind="meeting",
        author=email("E09"),
        title="Acme quarterly review",
        created=START + timedelta(days=150),
        file="cal.ics",
        line=1,
    )
    s.item(
        native_id="acct1",
        item_id="crm:acct1",
        kind="account",
        author=email("E09"),
        title="Acme Corp",
        created=START,
        file="crm.csv",
        line=1,
    )
    verbs = ["Like", "Like", "View", "View", "Announce", "Add", "Reply"]
    everyone = [p[0] for p in PEOPLE]
    for n in range(400):
        item_id, author, created = rng.choice(items)
        actor = rng.choice([p for p in everyone if p != author])
        when = created + timedelta(days=rng.randrange(0, 40), minutes=rng.randrange(0, 600))
        s.event(
            native_id=f"r{n:04d}",
            time=when,
            actor=email(actor),
            verb=rng.choice(verbs),
            object=item_id,
            object_type="item",
            file="social.ndjson",
            line=100 + n,
        )
    for n in range(12):
        giver = ["E09", "E10", "E04", "E12", "E02"][n % 5]
        when = START + timedelta(days=20 * n + 3)
        s.event(
            native_id=f"k{n:03d}",
            time=when,
            actor=email(giver),
            verb="Kudos",
            object=email("E03"),
            object_type="person",
            ctx_meeting="cal:meet1" if n % 3 == 0 else None,
            ctx_account="crm:acct1" if n % 4 == 0 else None,
            extra=json.dumps(
                {
                    "message": f"Thanks for the help with release {n}!"
                    if n != 5
                    else "<script>window.__xss = 4</script>Great demo",
                    "tags": ["customer-first"],
                }
            ),
            file="kudos.ndjson",
            line=n + 1,
        )
    s.reject(
        file="social.ndjson",
        line=999,
        field="time",
        reason="unparseable timestamp",
        raw='{"type": "Like", "published": "yesterday-ish", "actor": "<script>alert(1)</script>"}',
    )
    _load(con, "as2", s)
    return {
        "employee": "hr:E03",
        "other": "hr:E04",
        "manager": "hr:E02",
        "analyst": "hr:E11",
        "opt_out": "hr:E12",
        "xss_item": "social:item000",
    }


def _load(con: duckdb.DuckDBPyConnection, kind: str, builder: BatchBuilder) -> None:
    ingest_id = int(con.execute("SELECT nextval('ingest_run_seq')").fetchall()[0][0])
    con.execute(
        """INSERT INTO ingest_runs (ingest_id, kind, paths, options, started_at, status)
           VALUES (?, ?, ?, '{}', now()::TIMESTAMP, 'running')""",
        [ingest_id, kind, [f"tests/{kind}"]],
    )
    loader = Loader(con, ingest_id)
    ingested = rejected = 0
    for batch in builder.flush():
        counts = loader.load(batch)
        ingested += sum(counts.ingested.values())
        rejected += counts.rejected
    refresh_people(con)
    con.execute(
        """UPDATE ingest_runs SET finished_at = now()::TIMESTAMP, status = 'done', ingested = ?, rejected = ?
           WHERE ingest_id = ?""",
        [ingested, rejected, ingest_id],
    )
