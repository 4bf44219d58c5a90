"""Incremental compute: after new events arrive, recompute only the periods they touch.

Every period is computed from the rows whose time falls inside it (pipeline.py),
so a period whose rows did not change keeps its figures. What changes a period's
rows, and how it is found (`plan`):

- events ingested since the last compute (`ingested_at` above the watermark: every
  writer of events and items sets it), whatever their time (late events touch old
  periods);
- events that the as-of cut-off newly lets in (or leaves out): times between the
  previous as-of and this one;
- a new vote by a person replaces their earlier vote on the item: the earlier
  vote's time is touched too;
- a new attendance of a meeting changes its size and first time: every
  attendance of that meeting is touched;
- a new item changes how events naming it resolve (its author, a Create counted
  from the item, a kudos's context) and the title of its answers: the creation
  time of the item, of its children and grandchildren, and the time of every
  event on the item or its children are touched.

A period of any type whose window holds a touched time is recomputed (PageRank,
anti-gaming, percentiles included: they are per period), plus periods that the
widened time range newly opens. Contributions and reactions are resolved afresh
only on the touched days; on the other days of those periods' windows they are
read back from the event-level tables the last compute wrote (`metric_contributions`,
`metric_reactions`: nothing they depend on changed), and only the touched days' rows
are replaced there. Endorsements and ties are resolved inside the windows.

Anything computed across all time forces a full recompute instead: a change of
identities (merge, unmerge, forget) or of people (a directory update changes
departments, and the peers of every percentile), of the rules, of the period
types, events or items deleted or changed below the watermark (their count
moved), metric periods missing from the store, or the earliest or latest row
leaving the range. The knowledge value's decay is relative to each reaction's
own time (not to the period's end), so it needs nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import duckdb

from resonance.metrics.periods import (
    CALENDAR_TYPES,
    Period,
    _month_start,
    period_of,
    rolling,
    rolling_days,
    select_periods,
)


class NeedFull(Exception):
    """The store changed in a way only a full recompute handles; the message says why."""


@dataclass(frozen=True)
class Fingerprint:
    """What a compute saw of its inputs (taken before computing)."""

    watermark: datetime | None
    events_seen: int
    items_seen: int
    identities_sig: str
    people_sig: str


@dataclass
class State:
    """The `metric_state` row: what the last full or incremental compute saw."""

    run_id: int
    period_types: list[str]
    rules_hash: str
    as_of: datetime
    watermark: datetime | None
    events_seen: int
    items_seen: int
    identities_sig: str
    people_sig: str
    first_time: datetime | None
    last_time: datetime | None


@dataclass
class Scope:
    """Where an incremental compute works: the periods it may recompute and the time windows it reads."""

    candidates: set[str]
    windows: list[tuple[datetime, datetime]]  # merged, half-open, sorted
    state: State
    touched_days: int = 0
    day_windows: list[tuple[datetime, datetime]] = field(default_factory=list)  # the touched days, merged
    reasons: list[str] = field(default_factory=list)

    def contains(self, t: datetime | None) -> bool:
        return t is not None and any(lo <= t < hi for lo, hi in self.windows)

    def bounds(self, first: datetime | None, last: datetime | None) -> tuple[datetime | None, datetime | None]:
        """The whole data's time range, from the last compute's range and the rows inside the windows.

        Rows outside the windows did not change, so the range only needs a full scan when the old
        earliest (latest) row lies inside the windows and nothing there reaches it any more."""
        old_first, old_last = self.state.first_time, self.state.last_time
        if old_first is None or old_last is None:
            return first, last
        if self.contains(old_last) and (last is None or last < old_last):
            raise NeedFull("the latest row left the data (its period would close)")
        if self.contains(old_first) and (first is None or first > old_first):
            raise NeedFull("the earliest row left the data (its period would close)")
        new_first = old_first if first is None else min(old_first, first)
        new_last = old_last if last is None else max(old_last, last)
        return new_first, new_last


def fingerprint(con: duckdb.DuckDBPyConnection, watermark: datetime | None = None) -> Fingerprint:
    """The store's fingerprint; counts are of rows at or below `watermark` (default: the latest one)."""
    if watermark is None:
        watermark = con.execute(
            "SELECT greatest((SELECT max(ingested_at) FROM events), (SELECT max(ingested_at) FROM items))"
        ).fetchall()[0][0]
    ev, it = con.execute(
        """SELECT (SELECT count(*) FROM events WHERE ingested_at IS NULL OR ingested_at <= ?),
                  (SELECT count(*) FROM items WHERE ingested_at IS NULL OR ingested_at <= ?)""",
        [watermark, watermark],
    ).fetchall()[0]
    ids = con.execute(
        "SELECT count(*), coalesce(sum(hash(identity, person_id)), 0) FROM identities"
    ).fetchall()[0]
    ppl = con.execute(
        """SELECT count(*), coalesce(sum(hash(person_id, display_name, department, location, role, title,
                                              coalesce(is_external, false))), 0) FROM people"""
    ).fetchall()[0]
    return Fingerprint(
        watermark=watermark,
        events_seen=int(ev),
        items_seen=int(it),
        identities_sig=f"{ids[0]}:{ids[1]}",
        people_sig=f"{ppl[0]}:{ppl[1]}",
    )


def read_state(con: duckdb.DuckDBPyConnection) -> State | None:
    rows = con.execute(
        """SELECT run_id, period_types, rules_hash, as_of, watermark, events_seen, items_seen,
                  identities_sig, people_sig, first_time, last_time FROM metric_state WHERE id = 1"""
    ).fetchall()
    if not rows:
        return None
    r = rows[0]
    return State(int(r[0]), list(r[1] or []), r[2], r[3], r[4], int(r[5]), int(r[6]), r[7], r[8], r[9], r[10])


def save_state(
    writer: duckdb.DuckDBPyConnection,
    run_id: int,
    types: Sequence[str],
    rules_digest: str,
    as_of: datetime,
    fp: Fingerprint,
    first: datetime | None,
    last: datetime | None,
) -> None:
    """Record what this compute saw (inside the write's transaction)."""
    writer.execute("DELETE FROM metric_state")
    writer.execute(
        """INSERT INTO metric_state (id, run_id, period_types, rules_hash, as_of, watermark, events_seen,
                                     items_seen, identities_sig, people_sig, first_time, last_time, updated_at)
           VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)""",
        [run_id, list(types), rules_digest, as_of, fp.watermark, fp.events_seen, fp.items_seen,
         fp.identities_sig, fp.people_sig, first, last],
    )


def clear_state(writer: duckdb.DuckDBPyConnection) -> None:
    """Forget the state (a compute of chosen periods leaves the rest as it was: the next one is full)."""
    writer.execute("DELETE FROM metric_state")


TOUCHED_SQL = """
WITH new_ev AS (
    SELECT time, actor, verb, object, ctx_item FROM events
    WHERE ingested_at > $watermark OR (time > $lo AND time <= $hi)
),
new_it AS (SELECT item_id, created FROM items WHERE ingested_at > $watermark),
affected AS (   -- new items and their children (whose titles come from the parent)
    SELECT item_id, created FROM new_it
    UNION SELECT c.item_id, c.created FROM items c WHERE c.parent_id IN (SELECT item_id FROM new_it)
)
SELECT DISTINCT CAST(t AS DATE) AS day FROM (
    SELECT time AS t FROM new_ev
    UNION ALL
    SELECT e.time FROM events e
    JOIN (SELECT DISTINCT actor, object FROM new_ev WHERE verb = 'Vote' AND actor IS NOT NULL) v
      ON e.actor = v.actor AND e.object = v.object
    WHERE e.verb = 'Vote'
    UNION ALL
    SELECT e.time FROM events e
    WHERE e.verb = 'Attend' AND e.object IN (SELECT object FROM new_ev WHERE verb = 'Attend')
    UNION ALL
    SELECT created FROM affected
    UNION ALL
    SELECT c.created FROM items c WHERE c.parent_id IN (SELECT item_id FROM affected)
    UNION ALL
    SELECT e.time FROM events e
    WHERE e.object IN (SELECT item_id FROM affected) OR e.ctx_item IN (SELECT item_id FROM affected)
) WHERE t IS NOT NULL
ORDER BY day
"""


def touched_days(con: duckdb.DuckDBPyConnection, state: State, as_of: datetime) -> list[date]:
    """The days holding a row that may have changed since the state was recorded."""
    lo, hi = sorted([state.as_of, as_of])
    watermark = state.watermark or datetime(1, 1, 1)
    rows = con.execute(TOUCHED_SQL, {"watermark": watermark, "lo": lo, "hi": hi}).fetchall()
    return [r[0] for r in rows]


def periods_containing(day: date, period_type: str) -> list[Period]:
    """Every period of the type whose window holds the day (rolling types: one per month end)."""
    if period_type in CALENDAR_TYPES:
        return [period_of(period_type, day)]
    n = rolling_days(period_type)
    assert n is not None
    out = []
    month = _month_start(day.year, day.month)
    while True:
        p = rolling(n, _month_start(month.year, month.month + 1) - timedelta(days=1))
        if p.start.date() > day:
            break
        out.append(p)
        month = _month_start(month.year, month.month + 1)
    return out


def merge_windows(periods: Iterable[Period]) -> list[tuple[datetime, datetime]]:
    return merge_spans((p.start, p.end) for p in periods)


def merge_spans(spans_in: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Half-open spans merged where they overlap or touch, sorted."""
    spans = sorted(spans_in)
    merged: list[list[datetime]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def plan(
    con: duckdb.DuckDBPyConnection,
    types: Sequence[str],
    rules_digest: str,
    as_of: datetime,
    fp: Fingerprint,
) -> Scope:
    """The scope of an incremental compute, or NeedFull with the reason a full one is needed."""
    state = read_state(con)
    if state is None:
        raise NeedFull("no previous compute recorded")
    if state.rules_hash != rules_digest:
        raise NeedFull("the rules changed")
    if sorted(state.period_types) != sorted(types):
        raise NeedFull("the period types changed")
    if state.identities_sig != fp.identities_sig:
        raise NeedFull("identities changed (a merge, unmerge, forget or new identity)")
    if state.people_sig != fp.people_sig:
        raise NeedFull("people changed (a directory update changes departments and every period's peers)")
    if state.first_time is None or state.last_time is None:
        raise NeedFull("the last compute had no data")
    seen = fingerprint(con, state.watermark or datetime(1, 1, 1))
    if (seen.events_seen, seen.items_seen) != (state.events_seen, state.items_seen):
        raise NeedFull("events or items below the watermark were deleted or arrived late")
    expected = {p.label for p in select_periods(None, state.first_time, state.last_time, types)}
    stored = {r[0] for r in con.execute("SELECT period FROM metric_periods").fetchall()}
    if not expected <= stored:
        raise NeedFull("metric periods are missing from the store")

    days = touched_days(con, state, as_of)
    if not days:
        return Scope(candidates=set(), windows=[], state=state)
    candidates: set[Period] = set()
    for d in days:
        for t in types:
            candidates.update(periods_containing(d, t))
    # Periods a wider time range opens (their windows may also hold old rows: read them too).
    lo = min(state.first_time, datetime(days[0].year, days[0].month, days[0].day))
    hi = max(state.last_time, datetime(days[-1].year, days[-1].month, days[-1].day, 23, 59, 59))
    candidates.update(p for p in select_periods(None, lo, hi, types) if p.label not in stored)
    return Scope(
        candidates={p.label for p in candidates},
        windows=merge_windows(candidates),
        state=state,
        touched_days=len(days),
        day_windows=merge_spans(
            (datetime(d.year, d.month, d.day), datetime(d.year, d.month, d.day) + timedelta(days=1)) for d in days
        ),
    )
