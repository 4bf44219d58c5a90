"""The kudos rules: what may be given, how often, and what counts once.

Settings live in the `[kudos]` section of the metric rules (`metrics/rules.toml`,
overridable like every other rule), so they show on the "how these are computed" page.
Checks here are pure functions of their inputs; the operations module feeds them the
figures it reads from the store inside its transaction.

- No self-kudos, no vote on one's own item.
- A budget per giver per period (`budget` kudos per `budget_period`), and a rate limit
  per minute (kudos and votes apart).
- The same giver, receiver and context twice is one kudos (`kudos_key`): a kudos
  without any context is bound to its day.
- Value tags from the company's list only; a message of bounded length.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from resonance.metrics.rules import load_rules

PERIODS = ("day", "week", "month")
CHANNELS = frozenset({"web", "api", "cli", "link", "slack", "mattermost", "widget"})


class KudosError(ValueError):
    """A kudos or vote that cannot be recorded; the message says why and what to do.

    `status` is the HTTP answer: 404 for an unknown person or context, 409 when the request
    conflicts with the kudos rules (as account rules do, web/accounts.py), 429 over the budget
    or the rate limit with `retry_after` seconds. 422 stays for malformed requests."""

    def __init__(self, message: str, status: int = 409, code: str = "rule", retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class KudosRules:
    budget: int = 20
    budget_period: str = "week"
    rate_limit_per_minute: int = 10
    vote_rate_limit_per_minute: int = 30
    values: tuple[str, ...] = ("customer-first", "teamwork", "ownership", "craft", "learning")
    max_values: int = 3
    max_message: int = 500
    meeting_participants_only: bool = True
    link_days: int = 30
    link_confirm: bool = False
    votable_kinds: frozenset[str] = field(
        default_factory=lambda: frozenset({"post", "question", "answer", "comment", "file", "wiki", "page", "link"})
    )
    chat_in_channel: bool = True

    @classmethod
    def from_rules(cls, rules: dict[str, Any]) -> KudosRules:
        """The `[kudos]` section of the metric rules (defaults for missing keys)."""
        k = dict(rules.get("kudos") or {})
        if k.get("budget_period", "week") not in PERIODS:
            raise KudosError(f"kudos.budget_period must be one of {', '.join(PERIODS)}", status=500, code="config")
        known = {f for f in cls.__dataclass_fields__}
        args: dict[str, Any] = {key: value for key, value in k.items() if key in known}
        if "values" in args:
            args["values"] = tuple(normalise_tag(str(v)) for v in args["values"])
        if "votable_kinds" in args:
            args["votable_kinds"] = frozenset(str(v) for v in args["votable_kinds"])
        return cls(**args)


def kudos_rules(path: Path | str | None = None) -> KudosRules:
    """The kudos rules from the rules file at `path` (None: the defaults or RESONANCE_RULES)."""
    return KudosRules.from_rules(load_rules(path))


def normalise_tag(tag: str) -> str:
    """`#Customer First` -> `customer-first`: how value tags are compared and stored."""
    return "-".join(tag.strip().lstrip("#").lower().replace("_", " ").replace("-", " ").split())


# --- checks --------------------------------------------------------------------------
def check_not_self(giver_id: str, receiver_id: str) -> None:
    if giver_id == receiver_id:
        raise KudosError("You cannot give kudos to yourself: thank a colleague instead.", code="self")


def check_message(message: str | None, rules: KudosRules) -> str | None:
    """The message, trimmed; None when empty."""
    text = (message or "").strip()
    if len(text) > rules.max_message:
        raise KudosError(f"Kudos messages are limited to {rules.max_message} characters.", code="message")
    return text or None


def check_values(tags: list[str] | tuple[str, ...] | None, rules: KudosRules) -> list[str]:
    """Value tags normalised, de-duplicated, in the company's list, at most `max_values`."""
    out: list[str] = []
    for tag in tags or []:
        t = normalise_tag(tag)
        if t and t not in out:
            out.append(t)
    unknown = [t for t in out if t not in rules.values]
    if unknown:
        allowed = ", ".join(rules.values) or "none are configured"
        raise KudosError(f"Unknown value tag {unknown[0]!r}: the company's values are {allowed}.", code="values")
    if len(out) > rules.max_values:
        raise KudosError(f"At most {rules.max_values} value tags per kudos.", code="values")
    return out


def period_bounds(now: datetime, period: str) -> tuple[datetime, datetime]:
    """[start, end) of the budget period holding `now` (naive UTC)."""
    day = datetime(now.year, now.month, now.day)
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=now.weekday())
        return start, start + timedelta(days=7)
    start = datetime(now.year, now.month, 1)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1)
    return start, end


def check_budget(given_in_period: int, now: datetime, rules: KudosRules) -> None:
    if rules.budget <= 0 or given_in_period < rules.budget:
        return
    _, end = period_bounds(now, rules.budget_period)
    raise KudosError(
        f"You have given your {rules.budget} kudos for this {rules.budget_period}; "
        f"more from {end:%Y-%m-%d %H:%M} UTC. A budget keeps each thank-you meaningful.",
        status=429,
        code="budget",
        retry_after=max(1, int((end - now).total_seconds())),
    )


def check_rate(in_last_minute: int, oldest_in_minute: datetime | None, now: datetime, limit: int, what: str) -> None:
    if limit <= 0 or in_last_minute < limit:
        return
    wait = 60 - int((now - oldest_in_minute).total_seconds()) if oldest_in_minute else 60
    raise KudosError(
        f"Too many {what} in a minute (limit {limit}); try again in {max(1, wait)} seconds.",
        status=429,
        code="rate",
        retry_after=max(1, wait),
    )


def kudos_key(
    giver_id: str,
    receiver_id: str,
    meeting: str | None,
    account: str | None,
    opportunity: str | None,
    item: str | None,
    day: date | None,
) -> str:
    """The idempotency key of a kudos: the same giver, receiver and context give the same key."""
    parts = [giver_id, receiver_id, meeting or "", account or "", opportunity or "", item or ""]
    if not any((meeting, account, opportunity, item)):
        parts.append(day.isoformat() if day else "")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def vote_value(value: int | str) -> int:
    """+1, -1 or 0 from a number or a word (`up`, `useful`, `down`, `not-useful`, `none`)."""
    words = {"up": 1, "useful": 1, "helpful": 1, "yes": 1, "down": -1, "not-useful": -1, "not-helpful": -1,
             "no": -1, "none": 0, "clear": 0, "withdraw": 0}
    if isinstance(value, str):
        key = value.strip().lower().replace("_", "-").replace(" ", "-")
        if key in words:
            return words[key]
        try:
            value = int(key)
        except ValueError:
            raise KudosError("A vote is +1 (useful), -1 (not useful) or 0 (withdraw it).", code="vote") from None
    if value not in (1, -1, 0):
        raise KudosError("A vote is +1 (useful), -1 (not useful) or 0 (withdraw it).", code="vote")
    return int(value)
