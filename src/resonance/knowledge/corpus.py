"""Contributions and the appreciation they earned, read from the canonical tables.

A *contribution* is an item a person authored that can show what they know
(an answer, a post, a wiki page, a file, a comment, a question...). Its
document is its own title and text plus its parent's title (an answer is
about its question) and its tags plus its parent's tags.

*Appreciation* is what others did with it: votes, likes, bookmarks, shares,
an accepted answer, kudos naming the item, replies by other people. Each
appreciation event keeps its time, so that a ranking "as of" a date uses only
what was known then. Self-reactions are ignored.

Everything is selected and joined inside DuckDB and handed over as Arrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from resonance.knowledge.config import KnowledgeModel

HTML_TO_TEXT_SQL = """trim(regexp_replace(replace(replace(replace(replace(replace(
    regexp_replace(coalesce({x}, ''), '<[^>]*>', ' ', 'g'),
    '&lt;', '<'), '&gt;', '>'), '&quot;', '"'), '&#39;', ''''), '&amp;', '&'), '\\s+', ' ', 'g'))"""


def html_to_text_sql(expr: str) -> str:
    """SQL turning HTML (Stack Exchange bodies, AS2 content) into plain text."""
    return HTML_TO_TEXT_SQL.format(x=expr)


SCHEDULED_SOURCES = ("crm", "calendar")
"""Sources whose events may lie in the future (a deal's close date, next week's meeting):
they do not say what "now" is."""


def latest_time(con: duckdb.DuckDBPyConnection) -> datetime:
    """The default "now": the latest activity in the store, for deterministic demos and tests.

    Calendar and CRM events are left out because they are scheduled (future meetings,
    expected close dates); a store holding nothing else falls back to all events.
    """
    scheduled = _sql_list(list(SCHEDULED_SOURCES))
    row = con.execute(
        f"""SELECT coalesce((SELECT max(time) FROM events WHERE source NOT IN ({scheduled})),
                            (SELECT max(time) FROM events), (SELECT max(created) FROM items))"""
    ).fetchall()
    value = row[0][0] if row else None
    return value if value is not None else datetime(1970, 1, 1)


def resolve_as_of(con: duckdb.DuckDBPyConnection, as_of: datetime | str | None) -> datetime:
    """`as_of` as a datetime; None means the latest time in the store. A bare date means its end."""
    if as_of is None:
        return latest_time(con)
    if isinstance(as_of, str):
        text = as_of.strip()
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        if len(text) == 10:  # YYYY-MM-DD: the whole day counts
            parsed = parsed + timedelta(days=1) - timedelta(microseconds=1)
        return parsed
    return as_of


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    return bool(rows[0][0])


def _sql_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"


@dataclass(slots=True)
class Corpus:
    """Contributions (one row each) and appreciation events, as of a date.

    `contributions` columns: pos (row number), item_id, person_id, kind, created, title, doc, tags, parent_id.
    `appreciation` columns: pos (of the contribution), item_id, time, verb, weight, reactor (person_id or NULL).
    """

    contributions: pa.Table
    appreciation: pa.Table
    as_of: datetime

    @property
    def size(self) -> int:
        return self.contributions.num_rows


def load_corpus(
    con: duckdb.DuckDBPyConnection,
    as_of: datetime | str | None = None,
    model: KnowledgeModel | None = None,
    include_external: bool = False,
) -> Corpus:
    """Read contributions and their appreciation up to `as_of` (default: latest time in the store)."""
    model = model or KnowledgeModel()
    as_of_dt = resolve_as_of(con, as_of)
    kinds = _sql_list(list(model.kind_weights))
    external_filter = "" if include_external else "AND NOT coalesce(pe.is_external, false)"
    doc = (
        "concat_ws(' ', i.title, " + "i.title, " * (model.title_repeat - 1)
        + "p.title, " * model.parent_title_repeat
        + "array_to_string(list_concat(coalesce(i.tags, []), coalesce(p.tags, [])), ' '), " * model.tags_in_text
        + (html_to_text_sql("p.text") + ", ") * model.parent_text_repeat
        + html_to_text_sql("i.text") + ")"
    )
    contributions = con.sql(
        f"""
        SELECT (row_number() OVER (ORDER BY i.created, i.item_id) - 1)::BIGINT AS pos,
               i.item_id, idn.person_id, i.kind, i.created,
               coalesce(i.title, p.title) AS title,
               {doc} AS doc,
               list_distinct(list_transform(
                   list_concat(coalesce(i.tags, []), coalesce(p.tags, [])), lambda t: lower(t))) AS tags,
               i.parent_id
        FROM items i
        JOIN identities idn ON idn.identity = i.author
        LEFT JOIN people pe ON pe.person_id = idn.person_id
        LEFT JOIN items p ON p.item_id = i.parent_id
        WHERE i.kind IN ({kinds}) AND i.created IS NOT NULL AND i.created <= ? {external_filter}
        ORDER BY i.created, i.item_id
        """,
        params=[as_of_dt],
    ).to_arrow_table()
    con.register("_k_contrib", contributions.select(["pos", "item_id", "person_id"]))
    con.register("_k_standing", reactor_standing(con, as_of_dt, model))
    try:
        appreciation = con.sql(_appreciation_sql(model), params=[as_of_dt, as_of_dt, as_of_dt]).to_arrow_table()
    finally:
        con.unregister("_k_contrib")
        con.unregister("_k_standing")
    return Corpus(contributions=contributions, appreciation=appreciation, as_of=as_of_dt)


def reactor_standing(con: duckdb.DuckDBPyConnection, as_of: datetime, model: KnowledgeModel) -> pa.Table:
    """Who valued it: each named reactor's weight from their eminence (metrics engine), as of a date.

    factor = 1 - s + 2 * s * percentile / 100 with s = `model.reactor_standing` (0.5: from 0.5 for the
    least to 1.5 for the most eminent); anonymous reactors and stores without metrics count 1.
    The percentile is the company one of the latest rolling-90-day period ending by `as_of`.
    """
    empty = pa.table({"person_id": pa.array([], pa.string()), "factor": pa.array([], pa.float64())})
    if model.reactor_standing <= 0 or not table_exists(con, "person_percentiles"):
        return empty
    period = con.execute(
        """SELECT max(period) FROM person_percentiles
           WHERE metric = 'eminence' AND period LIKE 'r90:%' AND try_cast(substr(period, 5) AS DATE) <= ?""",
        [as_of.date()],
    ).fetchall()[0][0]
    if period is None:
        return empty
    s = float(model.reactor_standing)
    return con.sql(
        """SELECT person_id, 1 - ? + 2 * ? * percentile / 100 AS factor FROM person_percentiles
           WHERE metric = 'eminence' AND peer_group = 'company' AND period = ?""",
        params=[s, s, period],
    ).to_arrow_table()


def _appreciation_sql(model: KnowledgeModel) -> str:
    weights = model.appreciation_weights
    verbs = [v for v in weights if v not in ("Reply", "Kudos")]
    cases = " ".join(f"WHEN '{v}' THEN {float(w)}" for v, w in weights.items())
    return f"""
    WITH reactions AS (
        -- Reactions to the item itself: votes carry their sign in `value`.
        SELECT c.pos, c.item_id, e.time, e.verb,
               (CASE e.verb {cases} ELSE 0 END)
               * CASE WHEN e.verb IN ('Vote', 'Dislike') THEN coalesce(e.value, 1) ELSE 1 END AS weight,
               r.person_id AS reactor, c.person_id AS author
        FROM events e
        JOIN _k_contrib c ON c.item_id = e.object
        LEFT JOIN identities r ON r.identity = e.actor
        WHERE e.verb IN ({_sql_list(verbs)}) AND e.time <= ?
        UNION ALL
        -- Kudos that name the item as their context.
        SELECT c.pos, c.item_id, e.time, 'Kudos', {float(weights.get("Kudos", 0))}, r.person_id, c.person_id
        FROM events e
        JOIN _k_contrib c ON c.item_id = e.ctx_item
        LEFT JOIN identities r ON r.identity = e.actor
        WHERE e.verb = 'Kudos' AND e.time <= ?
        UNION ALL
        -- Replies by other people: the item started a conversation.
        SELECT c.pos, c.item_id, ch.created, 'Reply', {float(weights.get("Reply", 0))}, r.person_id, c.person_id
        FROM items ch
        JOIN _k_contrib c ON c.item_id = ch.parent_id
        LEFT JOIN identities r ON r.identity = ch.author
        WHERE ch.created <= ?
    )
    SELECT pos, item_id, time, verb, weight * coalesce(st.factor, 1.0) AS weight, reactor
    FROM reactions LEFT JOIN _k_standing st ON st.person_id = reactions.reactor
    WHERE weight <> 0 AND (reactor IS NULL OR reactor <> author)  -- self-reactions do not count
    ORDER BY time
    """


def codes(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    """Dictionary-encode strings: (int codes, distinct values in first-seen order)."""
    encoded = pa.chunked_array(values).combine_chunks().dictionary_encode() if isinstance(
        values, pa.ChunkedArray) else values.dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def micros(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Timestamps as int64 microseconds since the epoch."""
    return pa.chunked_array(values).cast(pa.timestamp("us")).cast(pa.int64()).to_numpy().astype(np.int64) \
        if isinstance(values, pa.ChunkedArray) else values.cast(pa.timestamp("us")).cast(pa.int64()).to_numpy()


def to_micros(value: datetime) -> int:
    """A naive UTC datetime as microseconds since the epoch."""
    delta = value - datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


MICROS_PER_DAY = 86_400 * 1_000_000
