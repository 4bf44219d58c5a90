"""Meetings as one iCalendar file (`calendar.ics`, RFC 5545).

- Fortnightly team meetings of every manager with their reports (`RRULE:FREQ=WEEKLY;INTERVAL=2`).
- Ad-hoc meetings, day by day (`meetings.day_meetings`, the same meetings AS2 kudos
  point to as `ical:<UID>`).
- Customer meetings of deal teams with customer contacts (external attendees at the
  customers' domains) and the planted introduction meetings of the deal-help plan.
ORGANIZER and ATTENDEE carry `CN` and `PARTSTAT` (mostly ACCEPTED, some TENTATIVE,
DECLINED, NEEDS-ACTION); a few people's addresses are written capitalised.
Lines are folded at 75 octets and text values escaped as the RFC says.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from resonance.generate.company import Company
from resonance.generate.meetings import Meeting, day_meetings, team_series
from resonance.generate.propensity import COL, base_weights
from resonance.generate.sampling import daily_samplers
from resonance.generate.seeds import stream

PARTSTATS = ("ACCEPTED", "TENTATIVE", "DECLINED", "NEEDS-ACTION")
PARTSTAT_P = (0.75, 0.1, 0.08, 0.07)


def fold(line: str) -> str:
    """Fold a content line at 75 octets (continuation lines start with a space)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts: list[str] = []
    limit = 75
    while data:
        cut = min(limit, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # never split a UTF-8 sequence
            cut -= 1
        parts.append(data[:cut].decode("utf-8"))
        data = data[cut:]
        limit = 74
    return "\r\n ".join(parts) + "\r\n"


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def stamp(t: int) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y%m%dT%H%M%SZ")


class _Writer:
    def __init__(self, world: Any, f: Any) -> None:
        self.c: Company = world.company
        self.customers = world.customers
        self.aliases = world.aliases
        self.truth = world.truth
        self.f = f
        self.count = 0
        self.external = 0

    def person(self, p: int) -> tuple[str, str]:
        address = self.aliases.calendar_address(p)
        self.truth.alias(p, "calendar", address)
        return self.c.names[p], address

    def contact(self, ci: int) -> tuple[str, str]:
        contact = self.customers.contacts[ci]
        self.truth.contact_alias(ci, "calendar", contact.email)
        return contact.name, contact.email

    def event(self, rng: np.random.Generator, uid: str, start: int, minutes: int, organizer: int,
              attendees: list[int], contacts: list[int], summary: str, location: str,
              rrule: str | None = None, description: str | None = None) -> None:
        name, address = self.person(organizer)
        lines = [
            "BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{stamp(start)}", f"DTSTART:{stamp(start)}",
            f"DTEND:{stamp(start + minutes * 60)}", f"SUMMARY:{escape(summary)}", f"LOCATION:{escape(location)}",
        ]
        if description:
            lines.append(f"DESCRIPTION:{escape(description)}")
        if rrule:
            lines.append(f"RRULE:{rrule}")
        lines.append(f'ORGANIZER;CN="{name}":mailto:{address}')
        states = rng.choice(len(PARTSTATS), size=len(attendees) + len(contacts), p=PARTSTAT_P)
        for state, p in zip(states.tolist(), attendees, strict=False):
            n, a = self.person(p)
            lines.append(f'ATTENDEE;CN="{n}";ROLE=REQ-PARTICIPANT;PARTSTAT={PARTSTATS[state]}:mailto:{a}')
        for state, ci in zip(states[len(attendees):].tolist(), contacts, strict=True):
            n, a = self.contact(ci)
            lines.append(f'ATTENDEE;CN="{n}";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;'
                         f'PARTSTAT={PARTSTATS[state]}:mailto:{a}')
            self.external += 1
        lines.append("END:VEVENT")
        self.f.write("".join(fold(line) for line in lines))
        self.count += 1


def write(world: Any, out: Path, progress: Any) -> dict[str, Any]:
    c: Company = world.company
    rng = stream(c.seed, "calendar")
    planned = sorted(world.customers.meetings, key=lambda m: (m.start, m.uid))
    planned_i = 0
    rooms = [f"{city} - Room {r}" for city, *_ in c.locations for r in ("A", "B", "C")]
    with open(out / "calendar.ics", "w", encoding="utf-8", newline="") as f:
        f.write("".join(fold(x) for x in (
            "BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:-//Resonance//Synthetic {escape(c.name)}//EN",
            "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:{escape(c.name)} meetings",
        )))
        w = _Writer(world, f)
        for m in team_series(c):
            w.event(rng, m.uid, m.start, m.minutes, m.organizer, m.attendees, [], m.summary,
                    rooms[int(c.location[m.organizer]) * 3], rrule=m.rrule)
        series = w.count
        base = base_weights(c)
        for i, day, sampler in daily_samplers(c, base):
            day_rng = stream(c.seed, "calendar", i)
            meetings: list[Meeting] = day_meetings(c, sampler, day, COL["meet"])
            for m in meetings:
                place = "Video call" if day_rng.random() < 0.5 else rooms[int(day_rng.integers(len(rooms)))]
                w.event(day_rng, m.uid, m.start, m.minutes, m.organizer, m.attendees, [], m.summary, place)
            day_end = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + 86400
            last_day = i == c.days - 1
            while planned_i < len(planned) and (planned[planned_i].start < day_end or last_day):
                pm = planned[planned_i]
                opp = world.customers.opportunities[pm.opportunity] if pm.opportunity >= 0 else None
                w.event(day_rng, pm.uid, pm.start, pm.minutes, pm.organizer, pm.attendees, pm.contacts, pm.summary,
                        "Video call", description=f"Opportunity: {opp.name}" if opp else None)
                planned_i += 1
            if i % 16 == 0 or i == c.days - 1:
                progress("calendar", i + 1, c.days)
        f.write(fold("END:VCALENDAR"))
    return {"calendar.ics": {"records": w.count, "recurring_series": series, "external_attendees": w.external}}
