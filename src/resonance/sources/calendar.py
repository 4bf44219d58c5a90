"""Calendars: iCalendar (.ics) files with meetings, organisers and attendees.

Each meeting (each occurrence of a recurring one) becomes an item kind `meeting`
with a stable id kudos can point to: `ical:<UID>` for a single meeting,
`ical:<UID>/<RECURRENCE-ID as UTC, e.g. 20260302T090000Z>` for an occurrence.
Events, all at the meeting's start:
- `Create` by the ORGANIZER;
- `Attend` by each ATTENDEE whose PARTSTAT is ACCEPTED or TENTATIVE (`value` = minutes);
- `Invite` by the organiser for every other attendee (target = the attendee): invited,
  not (yet) there.
Recurring meetings are expanded (recurring-ical-events, overrides and EXDATEs
honoured) within a window, by default the last 365 days to 90 days ahead
(`--option window_start=2026-01-01 --option window_end=2026-06-30`); single
meetings are kept whenever they are.
Attendees outside the company's domains are external persons; with
`--option crm=<folder of CRM CSVs>` their domain links them to the customer account
(organisation = account name, `ctx_account` on the meeting's events).
An ATTENDEE that is not a mailto: address is quarantined with the reason.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from resonance.identity.normalize import (
    domain_of,
    email_keys,
    in_domains,
    organization_of,
    parse_domain_aliases,
    parse_domains,
)
from resonance.sources.base import BatchBuilder, Source, SourceError, open_binary
from resonance.store.loader import Batch

SOURCE = "calendar"
ATTENDING = frozenset({"ACCEPTED", "TENTATIVE"})
DEFAULT_PAST_DAYS = 365
DEFAULT_AHEAD_DAYS = 90


class CalendarSource(Source):
    kind = "calendar"
    summary = "iCalendar .ics: meetings, organisers, attendees (PARTSTAT), recurrences in a window"
    option_help = {
        "domains": "company e-mail domains, comma-separated (default: the organisers' most common domain)",
        "domain_aliases": "alias:canonical e-mail domain pairs, comma-separated",
        "window_start": f"expand recurrences from this date (default {DEFAULT_PAST_DAYS} days ago)",
        "window_end": f"expand recurrences up to this date (default {DEFAULT_AHEAD_DAYS} days ahead)",
        "crm": "folder (or files) of CRM CSV exports: link external attendees' domains to accounts",
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.domains = parse_domains(options.get("domains"))
        self.aliases = parse_domain_aliases(options.get("domain_aliases"))
        today = datetime.now(UTC).date()
        self.window = (
            _date_option(options.get("window_start"), "window_start") or today - timedelta(days=DEFAULT_PAST_DAYS),
            _date_option(options.get("window_end"), "window_end") or today + timedelta(days=DEFAULT_AHEAD_DAYS),
        )
        if self.window[0] >= self.window[1]:
            raise SourceError(f"calendar: window_start {self.window[0]} is not before window_end {self.window[1]}")
        self.accounts: dict[str, tuple[str, str]] = {}
        if options.get("crm"):
            from resonance.sources.crm import read_export

            self.accounts = read_export([Path(p) for p in str(options["crm"]).split(",")], {}).account_domains()

    def read(self, path: Path) -> Iterator[Batch]:
        yield from self.read_all([path])

    def read_all(self, paths: Sequence[Path]) -> Iterator[Batch]:
        files: list[Path] = []
        for path in paths:
            path = Path(path)
            if not path.exists():
                raise SourceError(f"{path}: no such file or folder")
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and ".ics" in p.name.lower())
                         if path.is_dir() else [path])
        out = BatchBuilder(SOURCE)
        people = _People()
        for file in files:
            self._read_file(out, people, file)
            yield from out.flush_if_full()
        people.emit(out, self.domains, self.aliases, self.accounts)
        yield from out.flush()

    # -- one file ----------------------------------------------------------------------
    def _read_file(self, out: BatchBuilder, people: _People, file: Path) -> None:
        import icalendar

        name = str(file)
        with open_binary(file) as f:
            data = f.read()
        text = data.decode("utf-8", "replace")
        depth = _nesting(text)
        if depth > MAX_NESTING:
            out.reject(name, 1, "BEGIN", f"components nested {depth} deep (at most {MAX_NESTING} expected): "
                       "not a calendar export", text[:65536])
            return
        try:
            cal = icalendar.Calendar.from_ical(data)
        except Exception as exc:  # noqa: BLE001 - any parse failure: the whole file is one bad record
            out.reject(name, 1, "VCALENDAR", f"not a readable iCalendar file: {exc}", text[:65536])
            return
        container = str(cal.get("X-WR-CALNAME") or file.name.split(".")[0])
        lines = _uid_lines(text)
        valid = icalendar.Calendar()  # only well-formed meetings go to the expander
        recurring: set[str] = set()
        singles = []
        for component in cal.walk("VEVENT"):
            uid = str(component.get("UID") or "").strip()
            line = lines.get(uid, 1)
            if not uid:
                raw = component.to_ical().decode("utf-8", "replace")  # only for the quarantine
                out.reject(name, _line_of(text, raw), "UID", "meeting without UID", raw)
                continue
            if component.get("DTSTART") is None:
                out.reject(name, line, "DTSTART", "meeting without DTSTART",
                           component.to_ical().decode("utf-8", "replace"))
                continue
            try:
                freq = str((component.get("RRULE") or {}).get("FREQ", [""])[0]).upper()
            except Exception as exc:  # noqa: BLE001 - icalendar keeps an unparseable rule as a broken property
                out.reject(name, line, "RRULE", f"unreadable RRULE: {exc}",
                           component.to_ical().decode("utf-8", "replace")[:65536])
                continue
            if freq in SUB_DAILY or _many_a_day(component.get("RRULE")):
                out.reject(name, line, "RRULE", f"a meeting repeating {freq.lower()} "
                           f"{'(more than 24 times a day) ' if freq not in SUB_DAILY else ''}is not expanded",
                           component.to_ical().decode("utf-8", "replace")[:65536])
                continue
            if component.get("RRULE") or component.get("RDATE") or component.get("RECURRENCE-ID"):
                recurring.add(uid)
                valid.add_component(component)
            else:
                singles.append(component)
        for tz in cal.walk("VTIMEZONE"):
            valid.add_component(tz)
        occurrences = []
        if recurring:
            try:
                occurrences = self._expand(valid, name, out)
            except Exception as exc:  # noqa: BLE001 - a broken rule: quarantine, keep the singles
                out.reject(name, 1, "RRULE", f"recurrences cannot be expanded: {exc}", None)
        for component, is_recurring in [(c, False) for c in singles] + [(c, True) for c in occurrences]:
            if is_recurring and str(component.get("UID") or "").strip() not in recurring:
                continue
            try:
                self._meeting(out, people, name, lines, container, component, recurring=is_recurring)
            except Exception as exc:  # noqa: BLE001 - a broken property (date, duration...): quarantine it
                uid = str(component.get("UID") or "").strip()
                out.reject(name, lines.get(uid, 1), "VEVENT", f"unreadable meeting {uid}: {exc}",
                           component.to_ical().decode("utf-8", "replace")[:65536])

    def _expand(self, valid: Any, name: str, out: BatchBuilder) -> list[Any]:
        """The occurrences of the recurring meetings within the window, in time order, with a ceiling.

        Each series is expanded once over the whole window, then all are sorted by start. (The
        library's `after()` gives the same order but re-asks every series for every slice of time
        it steps through, down to 15 minutes: minutes for a company calendar of a few thousand
        series.) A series is read lazily and at most MAX_OCCURRENCES + 1 of its occurrences are
        kept, so a rule is never trusted to be finite or sparse."""
        import recurring_ical_events

        query = recurring_ical_events.of(valid)
        end = datetime.combine(self.window[1], datetime.min.time())
        # Two days past the end: a zone ahead of UTC starts a meeting "on" the last day earlier in UTC;
        # what starts at or after `end` in UTC is cut below, as before.
        stop = self.window[1] + timedelta(days=2)
        found: list[Any] = []
        for series in query.series:
            for k, occurrence in enumerate(series.between(self.window[0], stop)):
                if k > MAX_OCCURRENCES or len(found) > 4 * MAX_OCCURRENCES:
                    break
                found.append(occurrence)
        found.sort()  # by start, as after() yields them
        occurrences, seen = [], set()
        for occurrence in found:
            if occurrence.id in seen:
                continue
            seen.add(occurrence.id)
            component = occurrence.as_component(query.keep_recurrence_attributes)
            start = _utc(component.get("DTSTART").dt)
            if start is not None and start.replace(tzinfo=None) >= end:
                break
            if len(occurrences) >= MAX_OCCURRENCES:
                out.reject(name, 1, "RRULE", f"more than {MAX_OCCURRENCES:,} occurrences in the window: "
                           f"the rest not expanded", None)
                break
            occurrences.append(component)
        return occurrences

    def _meeting(
        self, out: BatchBuilder, people: _People, file: str, lines: dict[str, int], container: str,
        event: Any, recurring: bool,
    ) -> None:
        uid = str(event.get("UID")).strip()
        line = lines.get(uid, 1)
        start = _utc(event.get("DTSTART").dt)
        if start is None:
            out.reject(file, line, "DTSTART", f"unreadable DTSTART {event.get('DTSTART')!r}", None)
            return
        end = _utc(event.get("DTEND").dt) if event.get("DTEND") is not None else None
        if end is None and event.get("DURATION") is not None:
            end = start + event.get("DURATION").dt
        minutes = round((end - start).total_seconds() / 60) if end and end > start else None
        if recurring:
            rid = event.get("RECURRENCE-ID")
            original = _utc(rid.dt) if rid is not None else start
            item_id = f"ical:{uid}/{original:%Y%m%dT%H%M%SZ}"
        else:
            item_id = f"ical:{uid}"
        native_id = item_id.removeprefix("ical:")
        status = str(event.get("STATUS") or "").upper() or None
        organizer, org_name = _address(event.get("ORGANIZER"))
        if event.get("ORGANIZER") is not None and organizer is None:
            out.reject(file, line, "ORGANIZER", f"ORGANIZER without mailto: address: {event.get('ORGANIZER')}",
                       f"ORGANIZER:{event.get('ORGANIZER')}")
        attendees = event.get("ATTENDEE") or []
        if not isinstance(attendees, list):
            attendees = [attendees]
        parsed = []
        for attendee in attendees:
            address, cn = _address(attendee)
            if address is None:
                out.reject(file, line, "ATTENDEE", f"ATTENDEE without mailto: address: {attendee} "
                           f"(meeting {item_id})", f"ATTENDEE:{attendee}")
                continue
            params = getattr(attendee, "params", {})
            parsed.append((address, cn, str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
                           str(params.get("ROLE", "REQ-PARTICIPANT")).upper()))
        if organizer:
            people.see(organizer, org_name, file, line, organizer=True)
        for address, cn, _, _ in parsed:
            people.see(address, cn, file, line)
        account = None
        for address in [a for a, *_ in parsed] + ([organizer] if organizer else []):
            hit = self.accounts.get(domain_of(address) or "")
            if hit:
                account = f"crm-account:{hit[0]}"
                break
        extra = {
            "uid": uid, "start": start.isoformat(), "end": end.isoformat() if end else None, "minutes": minutes,
            "location": str(event.get("LOCATION")) if event.get("LOCATION") else None,
            "recurring": recurring, "status": status, "attendees": len(parsed),
        }
        if account:
            extra["account"] = account
        extra_json = orjson.dumps({k: v for k, v in extra.items() if v is not None}).decode()
        author = f"email:{organizer}" if organizer else None
        out.item(item_id=item_id, native_id=native_id, kind="meeting", author=author, container=container,
                 title=str(event.get("SUMMARY")) if event.get("SUMMARY") else None,
                 text=str(event.get("DESCRIPTION")) if event.get("DESCRIPTION") else None, tags=[],
                 created=start, url=str(event.get("URL")) if event.get("URL") else None, extra=extra_json,
                 file=file, line=line)
        if status == "CANCELLED":
            return  # the meeting is known (kudos may still point to it), but nobody met
        common = {"object": item_id, "object_type": "item", "ctx_meeting": item_id, "ctx_account": account,
                  "file": file, "line": line, "time": start}
        if author:
            out.event(native_id=f"{native_id}#create", actor=author, verb="Create", value=minutes, **common)
        for address, _, partstat, role in parsed:
            attendee_extra = orjson.dumps({"partstat": partstat, "role": role}).decode()
            if partstat in ATTENDING:
                out.event(native_id=f"{native_id}#attend:{address}", actor=f"email:{address}", verb="Attend",
                          value=minutes, extra=attendee_extra, **common)
            elif author and address != organizer:
                out.event(native_id=f"{native_id}#invite:{address}", actor=author, verb="Invite",
                          target=f"email:{address}", extra=attendee_extra, **common)


class _People:
    """Organisers and attendees seen, with their most used CN."""

    def __init__(self) -> None:
        self.names: dict[str, Counter[str]] = {}
        self.first: dict[str, tuple[str, int]] = {}
        self.organizer_domains: Counter[str] = Counter()

    def see(self, address: str, name: str | None, file: str, line: int, organizer: bool = False) -> None:
        if address not in self.names:
            self.names[address] = Counter()
            self.first[address] = (file, line)
        if name and "@" not in name:
            self.names[address][name] += 1
        if organizer:
            self.organizer_domains[domain_of(address) or ""] += 1

    def emit(self, out: BatchBuilder, domains: frozenset[str], aliases: dict[str, str],
             accounts: dict[str, tuple[str, str]]) -> None:
        if not domains:
            # Organisers are employees far more often than not: their main domain is the company's.
            ranked = [(n, d) for d, n in self.organizer_domains.items() if organization_of(d)]
            domains = frozenset({organization_of(max(ranked)[1]) or ""}) if ranked else frozenset()
        for address in sorted(self.names):
            domain = domain_of(address)
            external = bool(domains) and not in_domains(domain, domains)
            account = accounts.get(domain or "") if external else None
            names = self.names[address]
            file, line = self.first[address]
            out.profile(
                native_id=address, identities=email_keys(address, aliases),
                display_name=names.most_common(1)[0][0] if names else None, emails=[address],
                is_external=external,
                organization=(account[1] if account else organization_of(domain)) if external else None,
                extra=orjson.dumps({"account": f"crm-account:{account[0]}"}).decode() if account else None,
                file=file, line=line,
            )


def _address(prop: Any) -> tuple[str | None, str | None]:
    """(lowercase address, CN) of an ORGANIZER/ATTENDEE value; address None unless mailto:."""
    if prop is None:
        return None, None
    value = str(prop).strip()
    cn = getattr(prop, "params", {}).get("CN")
    if value.lower().startswith("mailto:"):
        address = value[7:].strip().lower()
        if "@" in address:
            return address, str(cn).strip('"') if cn else None
    return None, str(cn) if cn else None


MAX_NESTING = 8
"""VCALENDAR > VEVENT > VALARM is 3 deep; anything much deeper is an attack or garbage."""
def _many_a_day(rule: Any) -> bool:
    """A rule that repeats more than 24 times a day through BYHOUR, BYMINUTE and BYSECOND lists (sub-daily
    in disguise: FREQ=DAILY;BYHOUR=0,...,23;BYMINUTE=0,...,59 is 1,440 meetings a day)."""
    if not rule or not hasattr(rule, "get"):
        return False
    per_day = 1
    for part in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        per_day *= max(1, len(rule.get(part) or []))
    return per_day > 24


MAX_OCCURRENCES = 20_000
"""Occurrences expanded per file within the window (an hourly meeting for a year is 8,760)."""
SUB_DAILY = ("SECONDLY", "MINUTELY")
"""Recurrence frequencies no meeting has: quarantined instead of expanded."""


def _nesting(text: str) -> int:
    """Deepest BEGIN:/END: nesting of the file's components (a linear scan, before parsing)."""
    depth = deepest = 0
    for line in text.splitlines():
        head = line[:6].upper()
        if head == "BEGIN:":
            depth += 1
            deepest = max(deepest, depth)
        elif line[:4].upper() == "END:":
            depth -= 1
    return deepest


def _utc(value: Any) -> datetime | None:
    """A DTSTART/DTEND value (datetime with or without zone, or a date) -> naive UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value  # floating time: taken as UTC (documented)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def _date_option(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise SourceError(f"calendar: --option {name} expects a date YYYY-MM-DD, got {value!r}") from exc


_UID_LINE = re.compile(r"^UID[;:](?:[^:\r\n]*:)?(.*)$", re.MULTILINE)


def _uid_lines(text: str) -> dict[str, int]:
    """UID -> the line it is on, so quarantine rows point into the file (one pass: newlines
    are counted between consecutive UIDs only)."""
    lines: dict[str, int] = {}
    line, last = 1, 0
    for m in _UID_LINE.finditer(text):
        line += text.count("\n", last, m.start())
        last = m.start()
        lines.setdefault(m.group(1).strip(), line)
    return lines


def _line_of(text: str, raw: str) -> int:
    first = raw.splitlines()[1] if len(raw.splitlines()) > 1 else ""
    i = text.find(first) if first else -1
    return text.count("\n", 0, i) + 1 if i >= 0 else 1
