"""Kudos and helpfulness votes: the one module that writes them (API, web, CLI, links and chat call it).

Each write is one transaction that records the kudos (or the vote) in its table, appends
the canonical event the metrics read (`source = 'resonance'`), and leaves an audit row.

Exactly once, under any concurrency:
- A kudos' primary key is its idempotency key (giver, receiver, context; `rules.kudos_key`),
  so the same kudos sent twice, or fifty times at once, is stored once; the repeats return
  the stored kudos with `created = False`.
- Writes of this process are serialised by a lock (the server owns the store: DuckDB allows
  one writing process), so budgets and rate limits are counted on committed data. A
  transaction conflict with another writer (DuckDB's MVCC refuses a concurrent write of the
  same key) is retried a few times, then answered with a clear error.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from resonance.kudos.context import (
    PersonRef,
    ResolvedContext,
    meeting_participants,
    resolve_context,
    resolve_person,
)
from resonance.kudos.rules import (
    CHANNELS,
    KudosError,
    KudosRules,
    check_budget,
    check_message,
    check_not_self,
    check_rate,
    check_values,
    kudos_key,
    period_bounds,
    vote_value,
)
from resonance.kudos.schema import ensure_kudos_schema
from resonance.privacy.consent import consent_granted
from resonance.store.db import transaction

SOURCE = "resonance"
"""The `source` of the events kudos and votes write."""
MAX_ATTEMPTS = 6
_WRITE_LOCK = threading.Lock()

KUDOS_COLUMNS = (
    "kudos_id", "giver_id", "receiver_id", "ctx_meeting", "ctx_account", "ctx_opportunity", "ctx_item",
    "message", "value_tags", "channel", "given_at",
)


@dataclass(frozen=True, slots=True)
class KudosResult:
    """A kudos as stored, and whether this call stored it (False: it was already there)."""

    kudos: dict[str, Any]
    created: bool


@dataclass(frozen=True, slots=True)
class VoteResult:
    item_id: str
    voter_id: str
    value: int
    previous: int | None
    changed: bool
    version: int


def utcnow() -> datetime:
    """Now, as the store keeps times: naive UTC, to the microsecond."""
    return datetime.now(UTC).replace(tzinfo=None)


# --- kudos --------------------------------------------------------------------------------
def give_kudos(
    con: duckdb.DuckDBPyConnection,
    giver: str | PersonRef,
    receiver: str | PersonRef,
    rules: KudosRules,
    *,
    meeting: str | None = None,
    account: str | None = None,
    opportunity: str | None = None,
    item: str | None = None,
    context: ResolvedContext | None = None,
    message: str | None = None,
    values: list[str] | tuple[str, ...] | None = None,
    channel: str = "api",
    actor: str | None = None,
    now: datetime | None = None,
) -> KudosResult:
    """Record that `giver` thanks `receiver`, with an optional context, message and value tags.

    Givers and receivers are person references (see `context.resolve_person`); the
    context is checked against the store. Raises KudosError when a rule refuses it."""
    if channel not in CHANNELS:
        raise KudosError(f"Unknown channel {channel!r}.", status=500, code="channel")
    ensure_kudos_schema(con)
    g = giver if isinstance(giver, PersonRef) else resolve_person(con, giver, "giver")
    r = receiver if isinstance(receiver, PersonRef) else resolve_person(con, receiver, "receiver")
    check_not_self(g.person_id, r.person_id)
    if not consent_granted(con, r.person_id, "kudos"):
        raise KudosError(
            f"{r.display_name or r.person_id} has chosen not to receive kudos; thank them in person.", code="declined"
        )
    text = check_message(message, rules)
    tags = check_values(values, rules)
    ctx = context or resolve_context(con, meeting, account, opportunity, item)
    if ctx.meeting and rules.meeting_participants_only:
        people = meeting_participants(con, ctx.meeting)
        for who, ref in (("You were", g), (f"{r.display_name or r.person_id} was", r)):
            if ref.person_id not in people:
                raise KudosError(
                    f"{who} not in the meeting {ctx.meeting_title or ctx.meeting!r} (organiser, attendee or "
                    "invitee): kudos about a meeting are between people who were in it.",
                    code="meeting",
                )
    when = now or utcnow()
    key = kudos_key(g.person_id, r.person_id, ctx.meeting, ctx.account, ctx.opportunity, ctx.item, when.date())
    return _write_kudos(con, key, g, r, ctx, text, tags, channel, actor, rules, when)


def _write_kudos(
    con: duckdb.DuckDBPyConnection,
    key: str,
    g: PersonRef,
    r: PersonRef,
    ctx: ResolvedContext,
    text: str | None,
    tags: list[str],
    channel: str,
    actor: str | None,
    rules: KudosRules,
    when: datetime,
) -> KudosResult:
    native_id = f"kudos:{key}"
    extra = {"kudos_id": key, "message": text, "tags": tags, "channel": channel}
    for attempt in range(MAX_ATTEMPTS):
        with _WRITE_LOCK:
            try:
                with transaction(con):
                    if con.execute("SELECT count(*) FROM kudos WHERE kudos_id = ?", [key]).fetchall()[0][0]:
                        existing = get_kudos(con, key)
                        assert existing is not None
                        return KudosResult(existing, created=False)
                    start, end = period_bounds(when, rules.budget_period)
                    counts = con.execute(
                        """SELECT count(*) FILTER (WHERE given_at >= ? AND given_at < ?),
                                  count(*) FILTER (WHERE given_at > ?),
                                  min(given_at) FILTER (WHERE given_at > ?)
                           FROM kudos WHERE giver_id = ?""",
                        [start, end, when - timedelta(minutes=1), when - timedelta(minutes=1), g.person_id],
                    ).fetchall()[0]
                    check_budget(int(counts[0]), when, rules)
                    check_rate(int(counts[1]), counts[2], when, rules.rate_limit_per_minute, "kudos")
                    con.execute(
                        """INSERT INTO kudos (kudos_id, giver_id, receiver_id, giver_identity, receiver_identity,
                                              ctx_meeting, ctx_account, ctx_opportunity, ctx_item, context_day,
                                              message, value_tags, channel, recorded_by, given_at, event_native_id)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        [key, g.person_id, r.person_id, g.identity, r.identity, ctx.meeting, ctx.account,
                         ctx.opportunity, ctx.item, when.date() if ctx.empty else None, text, tags, channel,
                         actor, when, native_id],
                    )
                    con.execute(
                        """INSERT INTO events (source, native_id, time, actor, verb, object, object_type, value,
                                               ctx_meeting, ctx_account, ctx_opportunity, ctx_item, extra, ingested_at)
                           VALUES (?, ?, ?, ?, 'Kudos', ?, 'person', 1, ?, ?, ?, ?, ?, now()::TIMESTAMP)""",
                        [SOURCE, native_id, when, g.identity, r.identity, ctx.meeting, ctx.account, ctx.opportunity,
                         ctx.item, json.dumps(extra)],
                    )
                    _audit(con, when, "kudos", actor, channel, g.person_id, key,
                           {"receiver_id": r.person_id, "context": {k: v for k, v in ctx.as_dict().items() if v}})
            except (duckdb.TransactionException, duckdb.ConstraintException) as exc:
                if attempt + 1 == MAX_ATTEMPTS:
                    raise KudosError(
                        "The store is busy; the kudos was not recorded. Try again.", status=503, code="busy"
                    ) from exc
                time.sleep(0.01 * (attempt + 1))
                continue
        stored = get_kudos(con, key)
        assert stored is not None
        return KudosResult(stored, created=True)
    raise AssertionError("unreachable")


def get_kudos(con: duckdb.DuckDBPyConnection, kudos_id: str) -> dict[str, Any] | None:
    """One kudos with the names of the people and of its context, or None."""
    rows = _kudos_rows(con, "k.kudos_id = ?", [kudos_id], 1, 0)
    return rows[0] if rows else None


def list_kudos(
    con: duckdb.DuckDBPyConnection,
    giver_id: str | None = None,
    receiver_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Kudos recorded through Resonance, newest first, filtered by giver and/or receiver."""
    ensure_kudos_schema(con)
    where, params = ["true"], []
    for column, value in (("giver_id", giver_id), ("receiver_id", receiver_id)):
        if value is not None:
            where.append(f"k.{column} = ?")
            params.append(value)
    cond = " AND ".join(where)
    total = con.execute(f"SELECT count(*) FROM kudos k WHERE {cond}", params).fetchall()[0][0]
    return {"items": _kudos_rows(con, cond, params, limit, offset), "total": int(total)}


def _kudos_rows(
    con: duckdb.DuckDBPyConnection, cond: str, params: list[Any], limit: int, offset: int
) -> list[dict[str, Any]]:
    # Titles are looked up for this page's context ids only (a semi-join), not joined to all items.
    cur = con.execute(
        f"""
        WITH k AS (SELECT * FROM kudos k WHERE {cond} ORDER BY given_at DESC, kudos_id LIMIT ? OFFSET ?),
        ids AS (SELECT ctx_meeting AS id FROM k UNION SELECT ctx_account FROM k
                UNION SELECT ctx_opportunity FROM k UNION SELECT ctx_item FROM k),
        t AS (SELECT item_id, any_value(title) AS title FROM items
              WHERE item_id IN (SELECT id FROM ids WHERE id IS NOT NULL) GROUP BY item_id)
        SELECT k.kudos_id, k.giver_id, g.display_name AS giver_name, k.receiver_id,
               r.display_name AS receiver_name, k.ctx_meeting AS meeting, tm.title AS meeting_title,
               k.ctx_account AS account, ta.title AS account_name, k.ctx_opportunity AS opportunity,
               top.title AS opportunity_name, k.ctx_item AS item, ti.title AS item_title,
               k.message, k.value_tags AS "values", k.channel, k.given_at
        FROM k
        LEFT JOIN people g ON g.person_id = k.giver_id
        LEFT JOIN people r ON r.person_id = k.receiver_id
        LEFT JOIN t tm ON tm.item_id = k.ctx_meeting
        LEFT JOIN t ta ON ta.item_id = k.ctx_account
        LEFT JOIN t top ON top.item_id = k.ctx_opportunity
        LEFT JOIN t ti ON ti.item_id = k.ctx_item
        ORDER BY k.given_at DESC, k.kudos_id
        """,
        [*params, limit, offset],
    )
    names = [d[0] for d in cur.description]
    items = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for row in items:
        row["values"] = list(row["values"] or [])
    return items


def budget_left(con: duckdb.DuckDBPyConnection, giver_id: str, rules: KudosRules, now: datetime | None = None) -> dict:
    """What the giver may still give in this budget period."""
    ensure_kudos_schema(con)
    when = now or utcnow()
    start, end = period_bounds(when, rules.budget_period)
    used = con.execute(
        "SELECT count(*) FROM kudos WHERE giver_id = ? AND given_at >= ? AND given_at < ?", [giver_id, start, end]
    ).fetchall()[0][0]
    return {
        "budget": rules.budget,
        "period": rules.budget_period,
        "used": int(used),
        "left": max(rules.budget - int(used), 0) if rules.budget > 0 else None,
        "resets_at": end,
    }


# --- votes --------------------------------------------------------------------------------
def vote(
    con: duckdb.DuckDBPyConnection,
    voter: str | PersonRef,
    item_id: str,
    value: int | str,
    rules: KudosRules,
    *,
    channel: str = "api",
    actor: str | None = None,
    now: datetime | None = None,
) -> VoteResult:
    """Mark an item useful (+1), not useful (-1), or withdraw the vote (0).

    One vote per person per item: a new vote replaces the previous one (a new `Vote` event;
    the metrics count only each person's latest). The same vote again changes nothing."""
    if channel not in CHANNELS:
        raise KudosError(f"Unknown channel {channel!r}.", status=500, code="channel")
    ensure_kudos_schema(con)
    v = vote_value(value)
    who = voter if isinstance(voter, PersonRef) else resolve_person(con, voter, "voter")
    rows = con.execute(
        """SELECT it.item_id, any_value(it.kind), any_value(a.person_id) FROM items it
           LEFT JOIN identities a ON a.identity = it.author WHERE it.item_id = ? GROUP BY 1""",
        [item_id],
    ).fetchall()
    if not rows:
        raise KudosError(f"No item {item_id!r} in the store.", status=404, code="item")
    _, kind, author = rows[0]
    if kind not in rules.votable_kinds:
        raise KudosError(
            f"Items of kind {kind!r} take no helpfulness votes (votable: {', '.join(sorted(rules.votable_kinds))}).",
            code="kind",
        )
    if author == who.person_id:
        raise KudosError("You cannot vote on your own item.", code="self")
    when = now or utcnow()
    for attempt in range(MAX_ATTEMPTS):
        with _WRITE_LOCK:
            try:
                with transaction(con):
                    current = con.execute(
                        "SELECT value, version FROM item_votes WHERE item_id = ? AND voter_id = ?",
                        [item_id, who.person_id],
                    ).fetchall()
                    previous, version = (current[0][0], current[0][1]) if current else (None, 0)
                    if previous == v or (previous is None and v == 0):
                        return VoteResult(item_id, who.person_id, v, previous, False, version)
                    recent = con.execute(
                        """SELECT count(*), min(done_at) FROM kudos_audit
                           WHERE action = 'vote' AND person_id = ? AND done_at > ?""",
                        [who.person_id, when - timedelta(minutes=1)],
                    ).fetchall()[0]
                    check_rate(int(recent[0]), recent[1], when, rules.vote_rate_limit_per_minute, "votes")
                    version += 1
                    con.execute(
                        """INSERT INTO item_votes (item_id, voter_id, value, version, channel, voted_at)
                           VALUES (?, ?, ?, ?, ?, ?)
                           ON CONFLICT (item_id, voter_id) DO UPDATE
                           SET value = excluded.value, version = excluded.version, channel = excluded.channel,
                               voted_at = excluded.voted_at""",
                        [item_id, who.person_id, v, version, channel, when],
                    )
                    pair = hashlib.sha256(f"{who.person_id}\x1f{item_id}".encode()).hexdigest()[:24]
                    con.execute(
                        """INSERT INTO events (source, native_id, time, actor, verb, object, object_type, value,
                                               ctx_item, extra, ingested_at)
                           VALUES (?, ?, ?, ?, 'Vote', ?, 'item', ?, ?, ?, now()::TIMESTAMP)""",
                        [SOURCE, f"vote:{pair}:{version:06d}", when, who.identity, item_id, float(v), item_id,
                         json.dumps({"channel": channel, "version": version, "previous": previous})],
                    )
                    _audit(con, when, "vote", actor, channel, who.person_id, item_id,
                           {"value": v, "previous": previous})
            except (duckdb.TransactionException, duckdb.ConstraintException) as exc:
                if attempt + 1 == MAX_ATTEMPTS:
                    raise KudosError("The store is busy; the vote was not recorded. Try again.", 503, "busy") from exc
                time.sleep(0.01 * (attempt + 1))
                continue
        return VoteResult(item_id, who.person_id, v, previous, True, version)
    raise AssertionError("unreachable")


def item_votes(con: duckdb.DuckDBPyConnection, item_id: str, voter_id: str | None = None) -> dict[str, Any]:
    """Current useful / not useful counts of an item, and `mine` (the voter's current vote, 0 if none)."""
    ensure_kudos_schema(con)
    rows = con.execute(
        """SELECT count(*) FILTER (WHERE value > 0), count(*) FILTER (WHERE value < 0),
                  coalesce(max(value) FILTER (WHERE voter_id = ?), 0)
           FROM item_votes WHERE item_id = ?""",
        [voter_id, item_id],
    ).fetchall()[0]
    return {"item_id": item_id, "useful": int(rows[0]), "not_useful": int(rows[1]), "mine": int(rows[2])}


# --- audit --------------------------------------------------------------------------------
def audit_log(con: duckdb.DuckDBPyConnection, limit: int = 100) -> list[dict[str, Any]]:
    ensure_kudos_schema(con)
    cur = con.execute(
        """SELECT audit_id, done_at, action, actor, channel, person_id, subject, detail
           FROM kudos_audit ORDER BY audit_id DESC LIMIT ?""",
        [limit],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _audit(
    con: duckdb.DuckDBPyConnection,
    when: datetime,
    action: str,
    actor: str | None,
    channel: str,
    person_id: str,
    subject: str,
    detail: dict[str, Any],
) -> None:
    con.execute(
        """INSERT INTO kudos_audit (audit_id, done_at, action, actor, channel, person_id, subject, detail)
           VALUES (nextval('kudos_audit_seq'), ?, ?, ?, ?, ?, ?, ?)""",
        [when, action, actor, channel, person_id, subject, json.dumps(detail, default=str)],
    )

