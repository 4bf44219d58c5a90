"""Internal meetings: weekly team meetings (recurring) and ad-hoc meetings day by day.

`day_meetings(company, sampler, day)` is a pure function of (seed, day): the
calendar writer and the AS2 writer (kudos given for a meeting) both call it
and see the same meetings, without either holding the whole year in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from resonance.generate.company import Company
from resonance.generate.customers import day_epoch, local_time
from resonance.generate.sampling import PeopleSampler
from resonance.generate.seeds import stream

MEETINGS_PER_PERSON_DAY = 0.008


@dataclass(slots=True)
class Meeting:
    uid: str
    start: int              # epoch seconds
    minutes: int
    organizer: int
    attendees: list[int]
    summary: str
    rrule: str | None = None


def is_workday(d: date) -> bool:
    return d.weekday() < 5


def team_series(company: Company) -> list[Meeting]:
    """A fortnightly meeting for every manager with their direct reports, all window long."""
    rng = stream(company.seed, "team-meetings")
    out: list[Meeting] = []
    first_monday = company.start + timedelta(days=(7 - company.start.weekday()) % 7)
    until = company.end.strftime("%Y%m%dT235959Z")
    managers = np.flatnonzero(company.reports > 0)
    reports_of: dict[int, list[int]] = {}
    for p in np.flatnonzero(company.manager >= 0).tolist():
        reports_of.setdefault(int(company.manager[p]), []).append(p)
    for m in managers.tolist():
        day = first_monday + timedelta(days=int(rng.integers(0, 5)))
        if day > company.end:
            continue
        hour = float(rng.choice([9.0, 9.5, 10.0, 11.0, 14.0, 15.0, 16.0]))
        team_name = company.departments[int(company.dept[m])]
        out.append(Meeting(
            uid=f"team-{company.ids[m]}@{company.domain}", start=local_time(company, m, day, hour),
            minutes=int(rng.choice([30, 45, 60])), organizer=m, attendees=reports_of.get(m, []),
            summary=f"{company.first[m]}'s team sync ({team_name})",
            rrule=f"FREQ=WEEKLY;INTERVAL=2;UNTIL={until}",
        ))
    return out


SUMMARIES = ("sync", "planning", "review", "working session", "design review", "retro", "brainstorm",
             "kickoff", "check-in", "demo prep")


def day_meetings(company: Company, sampler: PeopleSampler, day: date, col: int) -> list[Meeting]:
    """The ad-hoc meetings of one day (none at weekends), deterministic for (seed, day)."""
    if not is_workday(day):
        return []
    index = (day - company.start).days
    rng = stream(company.seed, "meetings", index)
    count = int(rng.poisson(company.n * MEETINGS_PER_PERSON_DAY / 0.75))
    if count == 0:
        return []
    organizers = sampler.draw(rng, count, col)
    sizes = np.minimum(1 + rng.geometric(0.3, size=count), 12)
    anchors = np.repeat(organizers, sizes)
    invited = sampler.near(rng, anchors, col, p_team=0.55, p_dept=0.3)
    hours = rng.choice(np.arange(8.5, 17.0, 0.5), size=count)
    minutes = rng.choice([15, 30, 30, 45, 60, 60, 90], size=count)
    topics = company.primary_topic[organizers]
    kinds = rng.integers(len(SUMMARIES), size=count)
    out: list[Meeting] = []
    pos = 0
    for k in range(count):
        org = int(organizers[k])
        people = sorted({int(p) for p in invited[pos:pos + sizes[k]]} - {org})
        pos += int(sizes[k])
        if not people:
            continue
        out.append(Meeting(
            uid=f"m{index:04d}-{k:05d}@{company.domain}",
            start=local_time(company, org, day, float(hours[k])), minutes=int(minutes[k]), organizer=org,
            attendees=people,
            summary=f"{company.topics[int(topics[k])].name} {SUMMARIES[int(kinds[k])]}",
        ))
    return out


def day_bounds(day: date) -> tuple[int, int]:
    start = day_epoch(day)
    return start, start + 86400
