"""Periods: ISO weeks, months, quarters, halves and rolling windows, with their labels.

Labels: `2026-W05` (ISO week), `2026-03` (month), `2026-Q1`, `2026-H2`, and
`r90:2026-03-31` (the 90 days ending that day, inclusive). Every metric is
computed per period; a period is the half-open interval [start, end) in UTC.
Rolling windows are computed ending on each month's last day, so that their
trend has one point per month.

Only the handful of period rows is built in Python; events are assigned to
periods by a join inside the engine (`assign`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:  # ibis is heavy to import; the CLI loads this module for every command
    import ibis

CALENDAR_TYPES = ("week", "month", "quarter", "half")
_ROLLING = re.compile(r"^r(\d{1,4})$")
_LABELS = [
    (re.compile(r"^(\d{4})-W(\d{2})$"), "week"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})-Q([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})-H([12])$"), "half"),
    (re.compile(r"^r(\d{1,4}):(\d{4}-\d{2}-\d{2})$"), "rolling"),
]

PERIODS_SCHEMA = pa.schema(
    [
        pa.field("period", pa.string()),
        pa.field("period_type", pa.string()),
        pa.field("period_start", pa.timestamp("us")),
        pa.field("period_end", pa.timestamp("us")),
    ]
)


class PeriodError(ValueError):
    """A period label or type that cannot be understood."""


@dataclass(frozen=True, slots=True, order=True)
class Period:
    start: datetime
    end: datetime  # exclusive
    type: str
    label: str

    @property
    def last_day(self) -> date:
        """The last day inside the period (end is exclusive)."""
        return (self.end - timedelta(days=1)).date()

    def as_dict(self) -> dict[str, str]:
        """The JSON face: label, type, first and last day (inclusive)."""
        return {
            "label": self.label,
            "type": self.type,
            "start": self.start.date().isoformat(),
            "end": self.last_day.isoformat(),
        }


def _dt(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def _month_start(year: int, month: int) -> date:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, 1)


def rolling_days(period_type: str) -> int | None:
    """N for a rolling type `rN`, else None."""
    m = _ROLLING.match(period_type)
    return int(m.group(1)) if m else None


def check_type(period_type: str) -> str:
    if period_type in CALENDAR_TYPES or (rolling_days(period_type) or 0) > 0:
        return period_type
    raise PeriodError(f"unknown period type {period_type!r}; use week, month, quarter, half or rN (e.g. r90)")


def period_of(period_type: str, day: date | datetime) -> Period:
    """The period of `period_type` holding `day` (for rolling types: ending on that month's last day)."""
    d = day.date() if isinstance(day, datetime) else day
    if period_type == "week":
        iso = d.isocalendar()
        start = d - timedelta(days=iso.weekday - 1)
        return Period(_dt(start), _dt(start + timedelta(days=7)), "week", f"{iso.year}-W{iso.week:02d}")
    if period_type == "month":
        start = _month_start(d.year, d.month)
        return Period(_dt(start), _dt(_month_start(d.year, d.month + 1)), "month", f"{d.year}-{d.month:02d}")
    if period_type == "quarter":
        q = (d.month - 1) // 3 + 1
        start = _month_start(d.year, 3 * q - 2)
        return Period(_dt(start), _dt(_month_start(d.year, 3 * q + 1)), "quarter", f"{d.year}-Q{q}")
    if period_type == "half":
        h = 1 if d.month <= 6 else 2
        start = _month_start(d.year, 6 * h - 5)
        return Period(_dt(start), _dt(_month_start(d.year, 6 * h + 1)), "half", f"{d.year}-H{h}")
    n = rolling_days(check_type(period_type))
    assert n is not None
    last = _month_start(d.year, d.month + 1) - timedelta(days=1)
    return rolling(n, last)


def rolling(days: int, last_day: date) -> Period:
    """The `days` days ending on `last_day` (inclusive)."""
    end = _dt(last_day + timedelta(days=1))
    return Period(end - timedelta(days=days), end, f"r{days}", f"r{days}:{last_day.isoformat()}")


def parse_period(label: str) -> Period:
    """A period from its label; raises PeriodError with the accepted forms."""
    label = label.strip()
    for pattern, kind in _LABELS:
        m = pattern.match(label)
        if not m:
            continue
        try:
            if kind == "week":
                return period_of("week", date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1))
            if kind == "month":
                return period_of("month", date(int(m.group(1)), int(m.group(2)), 1))
            if kind == "quarter":
                return period_of("quarter", date(int(m.group(1)), 3 * int(m.group(2)) - 2, 1))
            if kind == "half":
                return period_of("half", date(int(m.group(1)), 6 * int(m.group(2)) - 5, 1))
            return rolling(int(m.group(1)), date.fromisoformat(m.group(2)))
        except ValueError as exc:
            raise PeriodError(f"invalid period {label!r}: {exc}") from exc
    raise PeriodError(f"invalid period {label!r}; use 2026-W05, 2026-03, 2026-Q1, 2026-H2 or r90:2026-03-31")


def periods_between(first: datetime, last: datetime, types: Iterable[str]) -> list[Period]:
    """Every period of `types` that overlaps [first, last], oldest first per type."""
    out: list[Period] = []
    for period_type in types:
        check_type(period_type)
        if period_type in CALENDAR_TYPES:
            p = period_of(period_type, first)
            while p.start <= last:
                out.append(p)
                p = period_of(period_type, p.end)
        else:
            # One window per month, ending on the month's last day, from the first month to the last.
            month = _month_start(first.year, first.month)
            while month <= last.date():
                out.append(period_of(period_type, month))
                month = _month_start(month.year, month.month + 1)
    return sorted(set(out), key=lambda p: (p.type, p.start))


def select_periods(
    specs: Sequence[str] | None, first: datetime | None, last: datetime | None, default_types: Sequence[str]
) -> list[Period]:
    """The periods a compute asks for: labels (`2026-03`) and/or types (`month`, `r90`), or all of
    `default_types` over the data's time range when `specs` is empty."""
    labels: list[Period] = []
    types: list[str] = []
    for spec in specs or []:
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            if part == "all":
                types.extend(default_types)
            elif part in CALENDAR_TYPES or _ROLLING.match(part):
                types.append(check_type(part))
            else:
                labels.append(parse_period(part))
    if not labels and not types:
        types = list(default_types)
    periods = set(labels)
    if types and first is not None and last is not None:
        periods.update(periods_between(first, last, types))
    return sorted(periods, key=lambda p: (p.type, p.start))


def periods_table(periods: Sequence[Period]) -> pa.Table:
    """The periods as an Arrow table (period, period_type, period_start, period_end)."""
    return pa.table(
        {
            "period": [p.label for p in periods],
            "period_type": [p.type for p in periods],
            "period_start": [p.start for p in periods],
            "period_end": [p.end for p in periods],
        },
        schema=PERIODS_SCHEMA,
    )


def assign(table: ibis.Table, periods: ibis.Table, time_col: str = "time") -> ibis.Table:
    """Each row of `table` once per period holding its time, with a `period` column.

    A range join against the small periods table (DuckDB plans it as an IEJoin,
    Spark as a broadcast join)."""
    t = table
    p = periods.select("period", "period_start", "period_end")
    joined = t.join(p, (t[time_col] >= p.period_start) & (t[time_col] < p.period_end))
    return joined.drop("period_start", "period_end")
