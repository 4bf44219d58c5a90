"""The recommendations: what the person could do, why (evidence), where (a link), and what it would change.

Each kind of advice finds its evidence in the store for the period, turns the action into metric
changes with the rules in force, and asks `simulate` where that would move the person among
their peers. Ranked by the largest percentile gain (then by how much evidence backs it).

- answer_questions: open questions (no accepted answer, not yours, not answered by you, asked in
  the last 60 days of the period) tagged with your topics. Activity + n x answer weight; Reaction
  + n x what an answer drew on average in the period; Knowledge value + n x an answer's average value.
- reply_commenters: people who commented on or answered your items in the period, with no later
  reply of yours in that thread. Activity + n x comment weight.
- thank_helpers: people who answered your questions or whose items you shared, bookmarked or
  accepted, and whom you did not thank. Activity + n x kudos-given weight.
- reshare_item: your item with the most reuse in the period. Knowledge value + its value in the
  period; Reaction + the reaction it drew (the same response again).
- reach_department: a department whose people read your items but with whom you have no tie.
  Network + one department + one non-redundant contact (network weights).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import duckdb
import pyarrow as pa

from resonance.advice.simulate import Simulator, peers_of
from resonance.metrics.memo import Memo, no_memo
from resonance.metrics.report import resolve_person
from resonance.metrics.rules import load_rules
from resonance.org.periods import default_period
from resonance.privacy.guard import redact_people as _guard_redact

METRIC_LABELS = {
    "activity": "Activity",
    "reaction": "Reaction",
    "eminence": "Eminence",
    "network": "Network",
    "knowledge_value": "Knowledge value",
}
QUESTION_DAYS = 60
MAX_ACTIONS = 3
"""How many of a kind one piece of advice proposes (answer 3 questions, thank 3 people)."""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _ordinal(x: float) -> str:
    n = int(round(x))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def recommend(
    con: duckdb.DuckDBPyConnection,
    person: str,
    period: str | None = None,
    peer_group: str = "role",
    rules: dict[str, Any] | None = None,
    limit: int = 6,
    topics: list[str] | None = None,
    memo: Memo = no_memo,
) -> dict[str, Any]:
    """{"person_id", "period", "peers", "advice": [...]} ranked, best first (see the module docstring).

    Each advice: kind, title, text (with the "would move" sentence), link, evidence (list),
    effect (the main simulated change), effects (every simulated change), assumption, gain.
    `topics`: the person's expertise topics when known (the knowledge module's profile), tried
    before the tags of what they shared. `memo` may remember what is the same for everybody in a period
    (the peers' values, the group sizes, what an answer draws): see `resonance.metrics.memo`."""
    pid = resolve_person(con, person)
    p = default_period(con, period, memo)
    rules = rules if rules is not None else load_rules()
    peers = peers_of(con, pid, peer_group, memo)
    ctx = {
        "pid": pid,
        "label": p.label,
        "start": p.start,
        "end": p.end,
        "rules": rules,
        "peers": peers,
        "expertise": [t.lower() for t in (topics or [])],
        "memo": memo,
    }
    found: list[dict[str, Any]] = []
    simulator = Simulator(con, pid, p.label, peers, memo)  # each metric's peer values read once
    # What the person wrote, read once (and remembered per store version through the memo) for the kinds
    # that need it: `items` is kept in arrival order, so a read of one author's items is a scan.
    con.register(MY_ITEMS, memo(("advice_my_items", pid), lambda: _my_items(con, pid)))
    try:
        made = [make(con, ctx) for make in (_answer_questions, _reply_commenters, _thank_helpers, _reshare_item,
                                            _reach_department)]
    finally:
        con.unregister(MY_ITEMS)
    for advice in made:
        if advice is None:
            continue
        effects = [simulator.simulate(m, d) for m, d in advice.pop("deltas").items() if d > 0]
        if not effects:
            continue
        for e in effects:
            e["label"] = METRIC_LABELS[e["metric"]]
            e["gain"] = round(e["new_percentile"] - e["percentile"], 1)
        main = max(effects, key=lambda e: (e["gain"], e["delta"]))
        advice["effects"] = effects
        advice["effect"] = main
        advice["gain"] = main["gain"]
        advice["text"] = _effect_sentence(advice["doing"], main, peers.phrase())
        found.append(advice)
    found.sort(key=lambda a: (-a["gain"], -len(a["evidence"]), a["kind"]))
    return {
        "person_id": pid,
        "period": p.as_dict(),
        "peers": {"group": peers.group, "key": peers.key, "size": peers.size, "phrase": peers.phrase()},
        "advice": found[:limit],
    }


MY_ITEMS = "_advice_my_items"
"""The name the person's own items are registered under while their advice is made (see `_my_items`)."""


def _my_items(con: duckdb.DuckDBPyConnection, pid: str) -> pa.Table:
    """Every item the person wrote, through any of their identities (an Arrow table: it is registered on
    the cursor, and kept by the web's read cache between the periods a person browses)."""
    return con.sql(
        """SELECT it.item_id, it.parent_id, it.kind, it.title, it.tags, it.created
           FROM items it JOIN identities a ON a.identity = it.author WHERE a.person_id = ?""",
        params=[pid],
    ).to_arrow_table()


# --- the kinds of advice --------------------------------------------------------------
def _my_topics(con: duckdb.DuckDBPyConnection, ctx: dict[str, Any], top: int = 5) -> list[str]:
    """Your topics: tags of what you shared up to the period's end, weighted by the value others found in it."""
    rows = con.execute(
        f"""
        WITH mine AS (
            SELECT item_id, tags FROM {MY_ITEMS} WHERE created < ? AND len(tags) > 0
        ),
        t AS (
            SELECT lower(unnest(m.tags)) AS tag, 1 + coalesce(v.value, 0) AS w
            FROM mine m LEFT JOIN (SELECT item_id, sum(value) AS value FROM item_value WHERE period = ?
                                   GROUP BY item_id) v USING (item_id)
        )
        SELECT tag FROM t GROUP BY tag ORDER BY sum(w) DESC, tag LIMIT ?
        """,
        [ctx["end"], ctx["label"], top],
    ).fetchall()
    seen: list[str] = []
    for tag in [*ctx.get("expertise", []), *(r[0] for r in rows)]:
        if tag.lower() not in seen:
            seen.append(tag.lower())
    return seen[:top]


def _answer_questions(con: duckdb.DuckDBPyConnection, ctx: dict[str, Any]) -> dict[str, Any] | None:
    topics = _my_topics(con, ctx)
    if not topics:
        return None
    # The period's open questions are the same for everybody: read once (through the memo), then the
    # person's own filter and order here, as the query did it (tags compared in lower case).
    candidates = ctx["memo"](("advice_open_questions", ctx["label"]), lambda: _open_questions(con, ctx["end"]))
    wanted = set(topics)
    mine = [
        q for q in candidates
        if q["asker"] != ctx["pid"] and not q["accepted"] and ctx["pid"] not in q["answerers"] and q["topics"] & wanted
    ]
    mine.sort(key=lambda q: q["item_id"])
    mine.sort(key=lambda q: (len(q["topics"] & wanted), q["created"]), reverse=True)
    questions = mine[:MAX_ACTIONS]
    if not questions:
        return None
    n = len(questions)
    rules = ctx["rules"]
    c = float(rules["reaction"]["full_credit_per_reactor"])
    # What an answer drew in this period, on average (the same for everybody: remembered per period).
    avg = ctx["memo"](("advice_answer_average", ctx["label"], c), lambda: _answer_average(con, ctx, c))
    answers = max(int(avg[0]), 1)
    per_reaction, per_value = float(avg[1]) / answers, float(avg[2]) / answers
    # The topic most of the questions share (your stronger topic first among equals).
    counts = {t: sum(t in {x.lower() for x in (q["tags"] or [])} for q in questions) for t in topics}
    topic = max(topics, key=lambda t: (counts[t], -topics.index(t)))
    w_answer = float(rules["activity"]["weights"].get("answer", rules["activity"]["default_weight"]))
    return {
        "kind": "answer_questions",
        "title": f"Answer {n} open question{'s' if n > 1 else ''} on {topic}",
        "doing": f"Answering {n} open question{'s' if n > 1 else ''} on {topic}",
        "link": _link(questions[0]),
        "evidence": [
            {
                "item_id": q["item_id"],
                "title": q["title"],
                "tags": list(q["tags"] or []),
                "asked": q["created"].isoformat() if q["created"] else None,
                "where": q["container"],
                "url": _link(q),
            }
            for q in questions
        ],
        "deltas": {
            "activity": n * w_answer,
            "reaction": n * per_reaction,
            "knowledge_value": n * per_value,
        },
        "assumption": (
            f"Each answer counts {w_answer:g} in Activity (rules); it is assumed to draw what an answer drew on "
            f"average in {ctx['label']}: {per_reaction:.2f} reaction points after diminishing returns and "
            f"{per_value:.2f} in knowledge value ({answers} answers)."
        ),
        "topics": topics,
    }


def _open_questions(con: duckdb.DuckDBPyConnection, end: Any) -> list[dict[str, Any]]:
    """Questions asked in the QUESTION_DAYS before `end` by a known person: with their tags in lower case,
    whether an answer written before `end` was accepted before `end`, and who wrote those answers."""
    since = end - timedelta(days=QUESTION_DAYS)
    rows = _rows(
        con,
        """
        WITH q AS (
            SELECT it.item_id, it.title, it.tags, it.created, it.container, it.url, a.person_id AS asker
            FROM items it JOIN identities a ON a.identity = it.author
            WHERE it.kind = 'question' AND it.created >= ? AND it.created < ? AND a.person_id IS NOT NULL
        ),
        answered AS (
            SELECT ans.parent_id AS item_id,
                   bool_or(acc.object IS NOT NULL) AS accepted,
                   list(DISTINCT me.person_id) FILTER (WHERE me.person_id IS NOT NULL) AS answerers
            FROM items ans
            LEFT JOIN identities me ON me.identity = ans.author
            LEFT JOIN (SELECT DISTINCT object FROM events WHERE verb = 'Accept' AND time < ?) acc
                   ON acc.object = ans.item_id
            WHERE ans.parent_id IN (SELECT item_id FROM q) AND ans.created < ?
            GROUP BY ans.parent_id
        )
        SELECT q.*, coalesce(answered.accepted, false) AS accepted, coalesce(answered.answerers, []) AS answerers
        FROM q LEFT JOIN answered USING (item_id)
        """,
        [since, end, end, end],
    )
    for r in rows:
        r["topics"] = frozenset(t.lower() for t in (r["tags"] or []))
        r["answerers"] = frozenset(r["answerers"] or [])
    return rows


def _answer_average(con: duckdb.DuckDBPyConnection, ctx: dict[str, Any], c: float) -> tuple[int, float, float]:
    """(answers written in the period, the reaction credit they drew after diminishing returns, their value)."""
    row = con.execute(
        """
        WITH a AS (SELECT item_id FROM items WHERE kind = 'answer' AND created >= ? AND created < ?),
        per AS (
            SELECT r.item_id, coalesce(r.reactor_id, r.event_id) AS who, sum(r.weight) AS pts
            FROM metric_reactions r WHERE r.item_id IN (SELECT item_id FROM a) AND r.time >= ? AND r.time < ?
              AND r.weight > 0
            GROUP BY ALL
        ),
        credit AS (SELECT item_id, sum(CASE WHEN pts <= ? THEN pts ELSE sqrt(? * pts) END) AS credit
                   FROM per GROUP BY item_id)
        SELECT (SELECT count(*) FROM a), coalesce((SELECT sum(credit) FROM credit), 0),
               coalesce((SELECT sum(value) FROM item_value WHERE period = ?
                         AND item_id IN (SELECT item_id FROM a)), 0)
        """,
        [ctx["start"], ctx["end"], ctx["start"], ctx["end"], c, c, ctx["label"]],
    ).fetchall()[0]
    return int(row[0]), float(row[1]), float(row[2])


def _reply_commenters(con: duckdb.DuckDBPyConnection, ctx: dict[str, Any]) -> dict[str, Any] | None:
    rows = _rows(
        con,
        f"""
        WITH mine AS (SELECT item_id, title, kind FROM {MY_ITEMS}),
        c AS (
            SELECT ch.item_id AS comment_id, ch.parent_id, ch.created, w.person_id AS who
            FROM items ch JOIN identities w ON w.identity = ch.author
            WHERE ch.parent_id IN (SELECT item_id FROM mine) AND ch.created >= ? AND ch.created < ?
              AND w.person_id <> ? AND ch.kind IN ('comment', 'answer', 'message', 'post')
        ),
        replied AS (
            SELECT c.comment_id FROM c JOIN {MY_ITEMS} r ON (r.parent_id = c.parent_id OR r.parent_id = c.comment_id)
            WHERE r.created > c.created
        )
        SELECT c.who AS person_id, any_value(p.display_name) AS name, count(*) AS comments,
               arg_max(m.title, c.created) AS on_title, arg_max(c.parent_id, c.created) AS item_id,
               max(c.created) AS last
        FROM c JOIN mine m ON m.item_id = c.parent_id LEFT JOIN people p ON p.person_id = c.who
        WHERE c.comment_id NOT IN (SELECT comment_id FROM replied)
        GROUP BY c.who ORDER BY comments DESC, last DESC, c.who LIMIT ?
        """,
        [ctx["start"], ctx["end"], ctx["pid"], MAX_ACTIONS],
    )
    if not rows:
        return None
    rows = _redact(con, ctx, rows, "person_id", ["name"])
    n = len(rows)
    w = float(ctx["rules"]["activity"]["weights"].get("comment", 1.0))
    return {
        "kind": "reply_commenters",
        "title": f"Reply to {n} colleague{'s' if n > 1 else ''} who commented on your work",
        "doing": f"Replying to {n} colleague{'s' if n > 1 else ''} who commented on your work",
        "link": "/me/item?" + urlencode({"id": rows[0]["item_id"]}),
        "evidence": [
            {
                "person": r["name"] or "A colleague",
                "comments": int(r["comments"]),
                "on": r["on_title"],
                "item_id": r["item_id"],
                "last": r["last"].isoformat() if r["last"] else None,
            }
            for r in rows
        ],
        "deltas": {"activity": n * w},
        "assumption": f"Each reply counts {w:g} in Activity (a comment, rules); conversations also build ties.",
    }


def _thank_helpers(con: duckdb.DuckDBPyConnection, ctx: dict[str, Any]) -> dict[str, Any] | None:
    rows = _rows(
        con,
        """
        WITH helped AS (
            SELECT reactor_id AS helper, 'answered your question' AS how, time FROM metric_reactions
            WHERE author_id = ? AND kind = 'answer' AND reactor_id IS NOT NULL AND time >= ? AND time < ?
            UNION ALL
            SELECT author_id, CASE kind WHEN 'share' THEN 'you shared their work'
                                        WHEN 'bookmark' THEN 'you bookmarked their work'
                                        ELSE 'you accepted their answer' END, time
            FROM metric_reactions
            WHERE reactor_id = ? AND kind IN ('share', 'bookmark', 'accept') AND time >= ? AND time < ?
        ),
        thanked AS (
            SELECT DISTINCT author_id FROM metric_reactions WHERE reactor_id = ? AND kind = 'kudos'
              AND time >= ? - INTERVAL 90 DAY AND time < ?
        )
        SELECT h.helper AS person_id, any_value(p.display_name) AS name, count(*) AS times,
               arg_max(h.how, h.time) AS how, max(h.time) AS last
        FROM helped h LEFT JOIN people p ON p.person_id = h.helper
        WHERE h.helper <> ? AND h.helper NOT IN (SELECT author_id FROM thanked)
          AND NOT coalesce(p.is_external, false)
        GROUP BY h.helper ORDER BY times DESC, last DESC, h.helper LIMIT ?
        """,
        [
            ctx["pid"],
            ctx["start"],
            ctx["end"],
            ctx["pid"],
            ctx["start"],
            ctx["end"],
            ctx["pid"],
            ctx["start"],
            ctx["end"],
            ctx["pid"],
            MAX_ACTIONS,
        ],
    )
    rows = _redact(con, ctx, rows, "person_id", ["name"])
    rows = [r for r in rows if r["person_id"]]  # an opted-out colleague cannot be thanked through Resonance
    if not rows:
        return None
    n = len(rows)
    w = float(ctx["rules"]["activity"]["weights"].get("kudos_given", 1.0))
    k = float(ctx["rules"]["reaction"]["weights"].get("kudos", 3.0))
    return {
        "kind": "thank_helpers",
        "title": f"Thank {n} colleague{'s' if n > 1 else ''} who helped you",
        "doing": f"Thanking {n} colleague{'s' if n > 1 else ''} who helped you",
        "link": "/me/kudos",
        "evidence": [
            {
                "person": r["name"],
                "how": r["how"],
                "times": int(r["times"]),
                "last": r["last"].isoformat() if r["last"] else None,
            }
            for r in rows
        ],
        "deltas": {"activity": n * w},
        "assumption": f"Each kudos given counts {w:g} in Activity (rules), and {k:g} in the Reaction of the "
        "colleague you thank: recognition is how sharing gets rewarded.",
    }


def _reshare_item(con: duckdb.DuckDBPyConnection, ctx: dict[str, Any]) -> dict[str, Any] | None:
    rows = _rows(
        con,
        """SELECT item_id, title, kind, value, reactions, reuse FROM item_value
           WHERE period = ? AND author_id = ? AND reuse > 0 AND value > 0
           ORDER BY reuse DESC, value DESC, item_id LIMIT 1""",
        [ctx["label"], ctx["pid"]],
    )
    if not rows:
        return None
    item = rows[0]
    c = float(ctx["rules"]["reaction"]["full_credit_per_reactor"])
    credit = con.execute(
        """SELECT coalesce(sum(CASE WHEN pts <= ? THEN pts ELSE sqrt(? * pts) END), 0) FROM (
               SELECT coalesce(reactor_id, event_id) AS who, sum(weight) AS pts FROM metric_reactions
               WHERE item_id = ? AND author_id = ? AND time >= ? AND time < ? AND weight > 0 GROUP BY ALL)""",
        [c, c, item["item_id"], ctx["pid"], ctx["start"], ctx["end"]],
    ).fetchall()[0][0]
    title = item["title"] or f"your {item['kind']}"
    return {
        "kind": "reshare_item",
        "title": f"Share again “{title}”, which colleagues reuse",
        "doing": f"Sharing “{title}” again where another team will find it",
        "link": "/me/item?" + urlencode({"id": item["item_id"]}),
        "evidence": [
            {
                "item_id": item["item_id"],
                "title": title,
                "kind": item["kind"],
                "reuse": int(item["reuse"] or 0),
                "reactions": int(item["reactions"] or 0),
                "value": round(float(item["value"]), 2),
            }
        ],
        "deltas": {"knowledge_value": float(item["value"]), "reaction": float(credit)},
        "assumption": f"Assumes the item draws the same response again as in {ctx['label']} "
        f"({int(item['reuse'] or 0)} reuses, {int(item['reactions'] or 0)} reactions).",
    }


def _reach_department(con: duckdb.DuckDBPyConnection, ctx: dict[str, Any]) -> dict[str, Any] | None:
    rows = _rows(
        con,
        """
        WITH readers AS (
            SELECT p.department, count(DISTINCT r.reactor_id) AS readers, count(*) AS reads
            FROM metric_reactions r JOIN people p ON p.person_id = r.reactor_id
            WHERE r.author_id = ? AND r.kind = 'read' AND r.time >= ? AND r.time < ?
              AND p.department IS NOT NULL AND NOT coalesce(p.is_external, false)
            GROUP BY p.department
        )
        SELECT department, readers, reads FROM readers
        WHERE department IS DISTINCT FROM (SELECT department FROM people WHERE person_id = ?)
          AND department NOT IN (SELECT name FROM person_reach WHERE period = ? AND person_id = ?
                                   AND dimension = 'department')
        ORDER BY readers DESC, reads DESC, department LIMIT 1
        """,
        [ctx["pid"], ctx["start"], ctx["end"], ctx["pid"], ctx["label"], ctx["pid"]],
    )
    if not rows:
        return None
    d = rows[0]
    weights = ctx["rules"]["network"]["weights"]
    delta = float(weights.get("departments", 1.0)) + float(weights.get("effective_size", 1.0))
    readers = int(d["readers"])
    return {
        "kind": "reach_department",
        "title": f"Reach {d['department']}, a department that reads your work",
        "doing": f"Starting a conversation with someone in {d['department']}",
        "link": "/me/evidence?metric=network&period=" + ctx["label"],
        "evidence": [
            {
                "department": d["department"],
                "readers": readers,
                "reads": int(d["reads"]),
                "note": f"{readers} {'person' if readers == 1 else 'people'} there read your items; "
                "you have no tie with anyone there",
            }
        ],
        "deltas": {"network": delta},
        "assumption": "One new contact there adds a department reached "
        f"({float(weights.get('departments', 1.0)):g}) and a non-redundant contact to your effective size "
        f"({float(weights.get('effective_size', 1.0)):g}) (network weights).",
    }


def _effect_sentence(doing: str, main: dict[str, Any], phrase: str) -> str:
    """'Answering 3 open questions on X would move your Reaction from the 42nd to about the 55th percentile
    among engineers (+12.0).' When the change passes no peer, it says what it adds and why the rank stays."""
    if main["gain"] > 0:
        return (
            f"{doing} would move your {main['label']} from the {_ordinal(main['percentile'])} to about the "
            f"{_ordinal(main['new_percentile'])} percentile {phrase} (+{main['delta']:.1f})."
        )
    if main["percentile"] >= 100:
        return (
            f"{doing} would add about {main['delta']:.1f} to your {main['label']}, widening your lead: you are "
            f"already at the 100th percentile {phrase}."
        )
    return (
        f"{doing} would add about {main['delta']:.1f} to your {main['label']}, not yet enough to pass a peer: "
        f"you would stay at the {_ordinal(main['percentile'])} percentile {phrase}."
    )


def _link(item: dict[str, Any]) -> str | None:
    """Where to act on an item: its URL, or its id when the id is itself a web address (AS2 IRIs)."""
    for candidate in (item.get("url"), item.get("item_id")):
        if isinstance(candidate, str) and candidate.startswith(("https://", "http://")):
            return candidate
    return None


def _redact(
    con: duckdb.DuckDBPyConnection, ctx: dict[str, Any], rows: list[dict[str, Any]], field: str, names: list[str]
) -> list[dict[str, Any]]:
    """Opted-out colleagues hidden (a store without the consent table has no opt-outs yet)."""
    exists = ctx["memo"](("consent_table_exists",), lambda: bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'consent' AND NOT temporary"
    ).fetchall()[0][0]))
    return _guard_redact(con, ctx["pid"], rows, field, names) if exists else rows
