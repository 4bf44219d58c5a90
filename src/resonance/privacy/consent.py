"""Consent choices and opt-out: the one module that changes them, each change audited.

A person's choice per purpose lives in `consent`; a purpose never chosen takes
its default. Every change appends a row to `consent_log` (who changed it, when,
through which interface). The API, the web page and the CLI all call
`set_consent`; nothing else writes these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from resonance.privacy.schema import ensure_privacy_schema
from resonance.store.db import transaction


@dataclass(frozen=True, slots=True)
class Purpose:
    """Something Resonance does with a person's data that the person may refuse."""

    key: str
    label: str
    description: str
    default: bool


ANALYTICS = "analytics"

PURPOSES: dict[str, Purpose] = {
    p.key: p
    for p in (
        Purpose(
            ANALYTICS,
            "Include me in analytics",
            "Your activity counts in your colleagues' figures and in team roll-ups. "
            "Turn this off to opt out: "
            "no one else sees you in any view (roll-ups, colleagues' evidence, kudos lists), and your own "
            "dashboard says so. Your own figures stay visible to you alone.",
            True,
        ),
        Purpose(
            "kudos",
            "Colleagues may send me kudos",
            "Colleagues can thank you with one click, with the meeting or customer it was about. "
            "Turn this off and new kudos to you are declined.",
            True,
        ),
        Purpose(
            "expert_finding",
            "Suggest me as an expert",
            "When a colleague looks for someone who knows a topic you write about, "
            "Resonance may suggest you. "
            "Off until you turn it on.",
            False,
        ),
    )
}
"""Every purpose a person can decide on. Features that honour one ask `consent_granted`."""

OPTED_OUT_SQL = f"SELECT person_id FROM consent WHERE purpose = '{ANALYTICS}' AND NOT granted"
"""A sub-query of the people who opted out, for aggregates to exclude (`WHERE person_id NOT IN (...)`)."""


class UnknownPurpose(ValueError):
    pass


def consents(con: duckdb.DuckDBPyConnection, person_id: str) -> dict[str, bool]:
    """The person's choice for every purpose (defaults filled in)."""
    chosen = dict(
        con.execute("SELECT purpose, granted FROM consent WHERE person_id = ?", [person_id]).fetchall()
    )
    return {key: bool(chosen.get(key, p.default)) for key, p in PURPOSES.items()}


def consent_granted(con: duckdb.DuckDBPyConnection, person_id: str, purpose: str) -> bool:
    """Whether `person_id` allows `purpose` (its default if never chosen)."""
    if purpose not in PURPOSES:
        raise UnknownPurpose(purpose)
    rows = con.execute(
        "SELECT granted FROM consent WHERE person_id = ? AND purpose = ?", [person_id, purpose]
    ).fetchall()
    return bool(rows[0][0]) if rows else PURPOSES[purpose].default


def is_opted_out(con: duckdb.DuckDBPyConnection, person_id: str) -> bool:
    """True when the person refused analytics: invisible to everyone but themselves."""
    return not consent_granted(con, person_id, ANALYTICS)


def opted_out_people(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Everyone who opted out of analytics (read once per web GET request: a page asks several times)."""
    from resonance.web.cache import request_memo

    return set(request_memo("opted_out_people", lambda: frozenset(r[0] for r in con.execute(OPTED_OUT_SQL).fetchall())))


def set_consent(
    con: duckdb.DuckDBPyConnection,
    person_id: str,
    purpose: str,
    granted: bool,
    changed_by: str,
    via: str,
) -> bool:
    """Record the person's choice; returns True when it changed anything.

    `changed_by` names the account acting, `via` the interface (web, api, cli).
    Setting the value it already has writes nothing (no audit noise).
    """
    if purpose not in PURPOSES:
        raise UnknownPurpose(purpose)
    ensure_privacy_schema(con)
    if consent_granted(con, person_id, purpose) == granted and _chosen(con, person_id, purpose):
        return False
    with transaction(con):
        con.execute(
            """INSERT OR REPLACE INTO consent (person_id, purpose, granted, updated_at, updated_by)
               VALUES (?, ?, ?, now()::TIMESTAMP, ?)""",
            [person_id, purpose, granted, changed_by],
        )
        con.execute(
            """INSERT INTO consent_log (change_id, person_id, purpose, granted, changed_at, changed_by, via)
               VALUES (nextval('consent_log_seq'), ?, ?, ?, now()::TIMESTAMP, ?, ?)""",
            [person_id, purpose, granted, changed_by, via],
        )
    return True


def consent_history(con: duckdb.DuckDBPyConnection, person_id: str) -> list[dict]:
    """The person's consent changes, newest first."""
    cur = con.execute(
        """SELECT purpose, granted, changed_at, changed_by, via FROM consent_log
           WHERE person_id = ? ORDER BY change_id DESC""",
        [person_id],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _chosen(con: duckdb.DuckDBPyConnection, person_id: str, purpose: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM consent WHERE person_id = ? AND purpose = ?", [person_id, purpose]
        ).fetchall()[0][0]
    )


def set_consent_many(
    con: duckdb.DuckDBPyConnection,
    person_ids: list[str],
    purpose: str,
    granted: bool,
    changed_by: str,
    via: str,
    keep_choices: bool = True,
) -> int:
    """Record the same choice for many people at once (one transaction, one audit row each).

    For set-up tools such as `resonance demo`, which opt a company's people in on their behalf.
    With `keep_choices` (the default) anyone who already chose for `purpose` keeps that choice;
    otherwise only people whose value would change are written, as `set_consent` does.
    Returns how many people changed."""
    if purpose not in PURPOSES:
        raise UnknownPurpose(purpose)
    if not person_ids:
        return 0
    ensure_privacy_schema(con)
    # Left alone: anyone who already chose (keep_choices), or whose value is already `granted`.
    params: list = [sorted(set(person_ids)), purpose, keep_choices, granted]
    with transaction(con):
        rows = con.execute(
            """SELECT p.person_id FROM (SELECT unnest(?) AS person_id) p
               LEFT JOIN consent c ON c.person_id = p.person_id AND c.purpose = ?
               WHERE c.person_id IS NULL OR NOT (? OR c.granted = ?)
               ORDER BY p.person_id""",
            params,
        ).fetchall()
        changed = [r[0] for r in rows]
        if changed:
            con.execute(
                """INSERT OR REPLACE INTO consent (person_id, purpose, granted, updated_at, updated_by)
                   SELECT person_id, ?, ?, now()::TIMESTAMP, ? FROM (SELECT unnest(?) AS person_id)""",
                [purpose, granted, changed_by, changed],
            )
            con.execute(
                """INSERT INTO consent_log (change_id, person_id, purpose, granted, changed_at, changed_by, via)
                   SELECT nextval('consent_log_seq'), person_id, ?, ?, now()::TIMESTAMP, ?, ?
                   FROM (SELECT unnest(?) AS person_id ORDER BY person_id)""",
                [purpose, granted, changed_by, via, changed],
            )
    return len(changed)
