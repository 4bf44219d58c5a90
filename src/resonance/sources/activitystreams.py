"""W3C Activity Streams 2.0: NDJSON, a JSON array, a single activity or a Collection.

Mapping (docs/connectors.md has the full table):
- activity `type` -> verb (Create, Like, Announce = share, Add = bookmark, View, ...)
- `actor` (IRI or object with `id`, `name`) -> identity key; `mailto:` IRIs become
  `email:<address>` so they meet the directory's e-mails; other IRIs are kept as-is.
- `object` -> an item id, or a person when it is a Person or the verb is Follow/Kudos.
  A Create with an embedded object also yields the item (kind from its type,
  `attributedTo`, `name`, `content`, `tag`, `inReplyTo`, `published`).
- `published` (else `updated`, else the object's) -> time, in UTC.
- `to`, `cc`, `bto`, `bcc`, `audience` -> recipients (Public collection left out).
- `context` as an object with `meeting`, `account`, `opportunity`, `item` -> business context.

Two paths, same results:
- fast (plain or gzipped NDJSON up to FAST_PATH_MAX_BYTES): the batch is a `Staged` one; the store's
  own connection parses the whole file with DuckDB's C++ `read_json` and maps it in one parallel
  statement, then inserts events and items from that staged table (no Arrow, no Python per row).
  It is taken only when the file needs nothing the ordinary path would quarantine or order by line;
  otherwise the loader falls back to
- ordinary: Arrow blocks of lines (about 64 MB), parsed with `json_transform` in a DuckDB of the
  source's own, each bad line quarantined with its number and text; memory is one block.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from resonance.model import AS2_OBJECT_KINDS, ITEM_KINDS, VERB_ALIASES, VERBS
from resonance.sources.base import Source, SourceError, iter_line_blocks, open_binary
from resonance.store.loader import Batch, Staged

SOURCE = "as2"
PERSON_TYPES = ("Person", "Organization", "Group", "Service", "Application")
PERSON_VERBS = ("Follow", "Kudos")
COLLECTION_TYPES = ("Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage")
PUBLIC = ("https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public")
BLOCK_BYTES = 64 << 20
"""NDJSON bytes parsed per batch (about 200k activities): large batches mean fewer commits and
fewer anti-join scans of the events already stored; memory stays a few hundred MB."""
READ_BYTES = 8 << 20
"""Bytes read at a time. A batch is several such reads kept as Arrow chunks: small buffers are
recycled by the allocator (one 64 MB buffer per batch costs more in page faults than the
newline search), and DuckDB scans the chunks in parallel."""


def _grouped_blocks(file: Path) -> Iterator[tuple[pa.ChunkedArray, pa.ChunkedArray, list[tuple[int, str]]]]:
    """`iter_line_blocks` read by READ_BYTES, handed on by about BLOCK_BYTES as chunked arrays."""
    numbers: list[pa.Array] = []
    texts: list[pa.Array] = []
    bad: list[tuple[int, str]] = []
    size = 0
    for line_numbers, lines, block_bad in iter_line_blocks(file, READ_BYTES):
        numbers.append(line_numbers)
        texts.append(lines)
        bad.extend(block_bad)
        size += lines.nbytes
        if size >= BLOCK_BYTES:
            yield pa.chunked_array(numbers, pa.int64()), pa.chunked_array(texts, texts[0].type), bad
            numbers, texts, bad, size = [], [], [], 0
    if numbers or bad:
        text_type = texts[0].type if texts else pa.string()
        yield pa.chunked_array(numbers, pa.int64()), pa.chunked_array(texts, text_type), bad

# The keys read from every activity, in one JSON parse (json_transform). A VARCHAR field
# gets a string's value, or the JSON text of an object, array or number: the same as
# json_extract_string, so nested objects are parsed again only where they occur.
TOP_KEYS = ("id", "type", "actor", "object", "published", "updated", "target", "to", "cc", "bto", "bcc",
            "audience", "context", "value", "result", "content", "summary")
OBJECT_KEYS = ("id", "type", "name", "content", "summary", "inReplyTo", "context", "published",
               "attributedTo", "url", "tag")
CONTEXT_KEYS = ("meeting", "account", "opportunity", "item")


def _struct(keys: tuple[str, ...]) -> str:
    return "'{" + ", ".join(f'"{k}": "VARCHAR"' for k in keys) + "}'"


def _json_object(expr: str) -> str:
    """True when a VARCHAR read from JSON holds an object: json_transform gives an object's JSON text,
    but a string's value as is, and a string may start with a brace too (parsing it would stop the
    whole ingest)."""
    return f"(starts_with({expr}, '{{') AND json_valid({expr}))"


def _json_array(expr: str) -> str:
    """True when a VARCHAR read from JSON holds an array (see _json_object)."""
    return f"(starts_with({expr}, '[') AND json_valid({expr}))"


def _identity_sql(expr: str) -> str:
    """An IRI -> identity key: mailto: and bare addresses become email:..."""
    return f"""CASE
        WHEN {expr} IS NULL OR {expr} = '' OR starts_with({expr}, '{{') OR starts_with({expr}, '[')
             OR length({expr}) > 2048 THEN NULL  -- an array or a monster is no identity
        WHEN {expr} ILIKE 'mailto:%' THEN 'email:' || lower(trim(substr({expr}, 8)))
        WHEN {expr} SIMILAR TO '[^:/ ]+@[^:/ ]+\\.[^:/ ]+' THEN 'email:' || lower(trim({expr}))
        ELSE {expr} END"""


PLAIN_STRING_ARRAY = """'\\["[^"\\\\]*"(,"[^"\\\\]*")*\\]'"""
"""A compact JSON array of strings without escapes, the usual `to`/`cc`: its values are the text
between `["`, `","` and `"]` (no JSON parse per element needed)."""


def _id_list_sql(expr: str) -> str:
    """A JSON value that is an IRI, an object with id, or an array of those -> list of ids."""
    return f"""CASE
        WHEN {expr} IS NULL THEN []
        WHEN regexp_full_match({expr}, {PLAIN_STRING_ARRAY}) THEN string_split({expr}[3:-3], '","')
        WHEN {_json_array(expr)} THEN list_filter(list_transform(
                CAST({expr} AS JSON)::JSON[],
                lambda x: coalesce(json_extract_string(x, '$.id'),
                              CASE WHEN json_type(x) = 'VARCHAR' THEN json_extract_string(x, '$') END)),
             lambda x: x IS NOT NULL)
        WHEN {_json_object(expr)} THEN list_filter([json_extract_string({expr}, '$.id')], lambda x: x IS NOT NULL)
        ELSE [{expr}] END"""


def _time_sql(expr: str) -> str:
    return f"""coalesce(
        CAST(try_cast({expr} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP),
        try_cast({expr} AS TIMESTAMP))"""


def _verb_map_sql() -> str:
    pairs = {v.lower(): v for v in VERBS}
    pairs.update(VERB_ALIASES)
    pairs["read"] = "View"
    keys = ", ".join(f"'{k}'" for k in pairs)
    values = ", ".join(f"'{v}'" for v in pairs.values())
    return f"MAP([{keys}], [{values}])"


def _kind_map_sql() -> str:
    pairs = dict(AS2_OBJECT_KINDS)
    keys = ", ".join(f"'{k}'" for k in pairs)
    values = ", ".join(f"'{v}'" for v in pairs.values())
    return f"MAP([{keys}], [{values}])"


def _id_of(expr: str) -> str:
    """`x.id` when x is a JSON object, else x itself (an IRI, or the JSON text of anything else)."""
    return f"coalesce(CASE WHEN {_json_object(expr)} THEN json_extract_string({expr}, '$.id') END, {expr})"


# The parts of the mapping both paths share (see TRANSFORM_SQL and FAST_STAGE_SQL): `j` holds the
# top-level keys (a struct from json_transform, or read_json's columns under the alias j).
_NESTED = f"""        CASE WHEN {_json_object("j.actor")}
             THEN json_transform(j.actor, '{{"id": "VARCHAR", "name": "VARCHAR"}}') END AS a,
        CASE WHEN {_json_object("j.object")} THEN json_transform(j.object, {_struct(OBJECT_KEYS)}) END AS o,
        CASE WHEN {_json_object("j.context")} THEN json_transform(j.context, {_struct(CONTEXT_KEYS)}) END AS c
"""
_FIELDS = f"""        j.id AS id,
        CASE WHEN {_json_array("j.type")} THEN json_extract_string(j.type, '$[0]') ELSE j.type END AS as2_type,
        coalesce(a.id, j.actor) AS actor_iri,
        a.name AS actor_name,
        coalesce(o.id, CASE WHEN NOT {_json_object("j.object")} THEN j.object END) AS object_iri,
        {_json_object("j.object")} AS object_embedded,
        o.type AS object_type_as2,
        o.name AS object_name,
        coalesce(o.content, o.summary) AS object_text,
        {_id_of("o.inReplyTo")} AS object_parent,
        CASE WHEN NOT {_json_object("o.context")} THEN o.context END AS object_context,
        o.published AS object_published,
        {_id_of("o.attributedTo")} AS object_author,
        o.url AS object_url,
        o.tag AS object_tags,
        coalesce(j.published, j.updated, o.published) AS time_text,
        {_id_of("j.target")} AS target_iri,
        j.to AS to_json, j.cc AS cc_json, j.bto AS bto_json, j.bcc AS bcc_json, j.audience AS audience_json,
        j.context AS context_raw,
        c.meeting AS ctx_meeting, c.account AS ctx_account, c.opportunity AS ctx_opportunity, c.item AS ctx_item,
        coalesce(try_cast(j.value AS DOUBLE), try_cast(j.result AS DOUBLE)) AS value,
        -- The activity's own words (a Kudos' thanks), kept in the event's extra under content.
        CASE WHEN coalesce(j.content, j.summary) IS NOT NULL
             THEN json_object('content', coalesce(j.content, j.summary))::VARCHAR END AS activity_extra
"""


# One JSON parse per line (json_transform into a struct of the keys we map); embedded objects are
# parsed again only on the lines that have them. Blocks are plain Arrow over the file's bytes.
TRANSFORM_SQL = f"""
CREATE OR REPLACE TEMP TABLE parsed AS
WITH top AS (
    SELECT line, text, ok, top_type,
           CASE WHEN top_type = 'OBJECT' THEN json_transform(text, {_struct(TOP_KEYS)}) END AS j
    FROM (
        SELECT line, text, ok,
               -- valid JSON starting with a brace is an object; only other lines are asked their type
               CASE WHEN ok THEN CASE WHEN starts_with(text, '{{') THEN 'OBJECT' ELSE json_type(text) END END
                   AS top_type
        FROM (SELECT line, text, json_valid(text) AS ok FROM lines)
    )
),
nested AS (
    SELECT line, text, ok, top_type, j,
{_NESTED}    FROM top
),
fields AS (
    SELECT line, text, ok, top_type,
{_FIELDS}    FROM nested
)
SELECT *,
    -- Everything a good record needs except being the first of its id (see REPEATED_SQL).
    ok AND top_type = 'OBJECT' AND verb IS NOT NULL AND time IS NOT NULL
        AND (actor IS NOT NULL OR verb IN ('Vote', 'View')) AS valid
FROM (
    SELECT * EXCLUDE (text),
        {_verb_map_sql()}[lower(as2_type)] AS verb,
        {_time_sql("time_text")} AS time,
        {_identity_sql("actor_iri")} AS actor,
        -- Records without an id get one derived from their content, so re-ingest is idempotent.
        coalesce(id, CASE WHEN ok THEN 'sha1:' || sha1(rtrim(text, chr(10) || chr(13))) END) AS native_id
    FROM fields
)
"""

# A second record with an id already used in this block is a duplicate. A hash
# aggregate over the parsed table finds the few repeated ids far faster than a window.
REPEATED_SQL = """
CREATE OR REPLACE TEMP TABLE repeated AS
SELECT native_id, min(line) AS first_line FROM parsed
WHERE native_id IS NOT NULL GROUP BY native_id HAVING count(*) > 1
"""

PARSED = """(SELECT p.*, r.first_line,
                    CASE WHEN r.first_line IS NULL OR p.line = r.first_line THEN 1 ELSE 2 END AS copy_no
             FROM parsed p LEFT JOIN repeated r USING (native_id))"""
PARSED_NO_REPEATS = "(SELECT *, NULL::BIGINT AS first_line, 1 AS copy_no FROM parsed)"
"""The usual block has no repeated id: no join needed."""

# The rejected lines (usually none) first, then their raw text: joining the small set to
# the block's lines, never the whole block.
REJECTED_SQL = """
CREATE OR REPLACE TEMP TABLE rejected AS
SELECT line,
    CASE WHEN NOT ok THEN 'json' WHEN top_type <> 'OBJECT' THEN 'record'
         WHEN as2_type IS NULL OR verb IS NULL THEN 'type'
         WHEN time_text IS NULL OR time IS NULL THEN 'published'
         WHEN actor IS NULL AND verb NOT IN ('Vote', 'View') THEN 'actor'
         ELSE 'id' END AS field,
    CASE WHEN NOT ok THEN 'malformed JSON'
         WHEN top_type <> 'OBJECT' THEN 'record is not a JSON object'
         WHEN as2_type IS NULL THEN 'missing activity type'
         WHEN verb IS NULL THEN 'unknown verb ' || as2_type
         WHEN time_text IS NULL THEN 'missing time (published)'
         WHEN time IS NULL THEN 'unparseable time ' || left(time_text, 40)
         WHEN actor IS NULL AND verb NOT IN ('Vote', 'View') THEN 'missing actor'
         ELSE 'duplicate id (first at line ' || first_line || ')' END AS reason
FROM {parsed} p
WHERE NOT valid OR copy_no > 1
"""

REJECTS_SQL = """
SELECT 'as2' AS source, ? AS file, r.line, r.field, r.reason, rtrim(l.text, chr(10) || chr(13)) AS raw
FROM rejected r JOIN lines l ON l.line = r.line
WHERE trim(l.text) <> ''  -- blank lines are not records
ORDER BY r.line
"""

GOOD = "valid AND copy_no = 1"

_EVENT_COLUMNS = f"""    time, actor, verb,
    CASE WHEN is_person THEN {_identity_sql("object_iri")}
         WHEN verb = 'Create' AND object_embedded THEN coalesce(object_iri, native_id || '#object')
         ELSE object_iri END AS object,
    CASE WHEN is_person THEN 'person' WHEN object_iri IS NOT NULL OR object_embedded THEN 'item' END AS object_type,
    CASE WHEN verb = 'Kudos' OR verb = 'Invite' THEN {_identity_sql("target_iri")} ELSE target_iri END AS target,
    CASE WHEN to_json IS NULL AND cc_json IS NULL AND bto_json IS NULL AND bcc_json IS NULL AND audience_json IS NULL
         THEN []::VARCHAR[]  -- most activities: no list work at all
         ELSE list_filter(list_transform(
        list_concat({_id_list_sql("to_json")}, {_id_list_sql("cc_json")}, {_id_list_sql("bto_json")},
                    {_id_list_sql("bcc_json")}, {_id_list_sql("audience_json")}),
        lambda x: CASE WHEN x IN {PUBLIC!r} THEN NULL ELSE {_identity_sql("x")} END),
        lambda x: x IS NOT NULL) END AS recipients,
    value, ctx_meeting, ctx_account, ctx_opportunity, ctx_item"""
_IS_PERSON = f"""(object_type_as2 IN {PERSON_TYPES!r})
                OR (verb IN {PERSON_VERBS!r} AND NOT object_embedded)"""
_IS_ITEM = f"""verb = 'Create' AND object_embedded
  AND coalesce(object_type_as2, '') NOT IN {PERSON_TYPES!r}"""

EVENTS_SQL = f"""
SELECT 'as2' AS source,
    native_id AS native_id,
{_EVENT_COLUMNS},
    activity_extra AS extra,
    ? AS file, line, NULL::VARCHAR AS raw  -- good records need no raw copy
FROM (SELECT *, {_IS_PERSON} AS is_person
      FROM {{parsed}} p WHERE {GOOD})
"""

_ITEM_COLUMNS = f"""    coalesce({_kind_map_sql()}[object_type_as2],
             CASE WHEN lower(object_type_as2) IN {tuple(sorted(ITEM_KINDS))!r} THEN lower(object_type_as2) END,
             CASE WHEN object_parent IS NOT NULL THEN 'comment' ELSE 'post' END) AS kind,
    coalesce({_identity_sql("object_author")}, actor) AS author,
    object_parent AS parent_id,
    coalesce(object_context, CASE WHEN NOT {_json_object("context_raw")} THEN context_raw END,
             target_iri) AS container,
    object_name AS title,
    object_text AS text,
    CASE WHEN object_tags IS NULL THEN []
         WHEN {_json_array("object_tags")} THEN list_filter(list_transform(
             CAST(object_tags AS JSON)::JSON[],
             lambda x: ltrim(coalesce(json_extract_string(x, '$.name'),
                                 CASE WHEN json_type(x) = 'VARCHAR' THEN json_extract_string(x, '$') END), '#')),
             lambda x: x IS NOT NULL AND x <> '')
         ELSE [ltrim(object_tags, '#')] END AS tags,
    coalesce({_time_sql("object_published")}, time) AS created,
    object_url AS url"""

ITEMS_SQL = f"""
SELECT coalesce(object_iri, native_id || '#object') AS item_id,
    'as2' AS source,
    coalesce(object_iri, native_id || '#object') AS native_id,
{_ITEM_COLUMNS},
    NULL::VARCHAR AS extra,
    ? AS file, line, NULL::VARCHAR AS raw
FROM {{parsed}} p
WHERE {GOOD} AND {_IS_ITEM}
-- Two activities may create the same object: the first one wins (the batch is "checked").
QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY line) = 1
"""

_PROFILE_COLUMNS = """'as2' AS source, actor_iri AS native_id, [actor] AS identities,
       arg_max(actor_name, time) AS display_name,
       CASE WHEN actor LIKE 'email:%' THEN [substr(actor, 7)] ELSE [] END AS emails"""

PROFILES_SQL = f"""
SELECT {_PROFILE_COLUMNS},
       ? AS file, min(line) AS line, NULL AS raw
FROM parsed
WHERE ok AND actor IS NOT NULL AND actor_name IS NOT NULL
GROUP BY actor_iri, actor
"""


# --- The fast path: DuckDB reads the file itself, in the store's connection ------------------------
STAGED = "_as2_staged"
FAST_PATH_MAX_BYTES = 1 << 30
"""Largest NDJSON file (about 3M activities) the fast path stages whole; its staged table takes about
800 MB per million activities. Larger files go the ordinary way, 64 MB at a time (flat memory)."""
GZIP_RATIO = 8
"""Assumed expansion of gzipped NDJSON, to apply FAST_PATH_MAX_BYTES to a compressed file."""
READ_JSON_COLUMNS = "{" + ", ".join(f"'{k}': 'VARCHAR'" for k in TOP_KEYS) + "}"
"""read_json's VARCHAR columns take a string's value, or the JSON text of anything else: the same as
json_transform on the ordinary path, so the mapping (_NESTED, _FIELDS, ...) is shared text."""

# The whole mapping of one file in one parallel statement: DuckDB's C++ reader splits and parses the
# lines (yyjson) on every core, the canonical event columns are computed once, and only the fields an
# item needs are kept for the Create rows. `valid` is the ordinary path's test; records without an
# `id` (whose id the ordinary path derives from the line's text) are a problem here.
FAST_STAGE_SQL = f"""
CREATE OR REPLACE TEMP TABLE {STAGED} AS
WITH nested AS (
    SELECT j.*,
{_NESTED}    FROM read_json({{source}}, format = 'newline_delimited', compression = '{{compression}}',
                   columns = {READ_JSON_COLUMNS}) AS j
),
fields AS (
    SELECT
{_FIELDS}    FROM nested AS j
),
mapped AS (
    SELECT *,
        {_verb_map_sql()}[lower(as2_type)] AS verb,
        {_time_sql("time_text")} AS time,
        {_identity_sql("actor_iri")} AS actor,
        id AS native_id
    FROM fields
),
flagged AS (
    SELECT *, {_IS_PERSON} AS is_person, {_IS_ITEM} AS is_item,
        verb IS NOT NULL AND time IS NOT NULL AND (actor IS NOT NULL OR verb IN ('Vote', 'View')) AS valid
    FROM mapped
)
SELECT valid, is_item, native_id,
{_EVENT_COLUMNS},
    activity_extra,
    -- what an item needs beyond the event's columns (its id is the event's object)
    CASE WHEN is_item THEN object_type_as2 END AS object_type_as2,
    CASE WHEN is_item THEN object_parent END AS object_parent,
    CASE WHEN is_item THEN object_author END AS object_author,
    CASE WHEN is_item THEN object_context END AS object_context,
    CASE WHEN is_item THEN context_raw END AS context_raw,
    CASE WHEN is_item THEN target_iri END AS target_iri,
    CASE WHEN is_item THEN object_name END AS object_name,
    CASE WHEN is_item THEN object_text END AS object_text,
    CASE WHEN is_item THEN object_tags END AS object_tags,
    CASE WHEN is_item THEN object_published END AS object_published,
    CASE WHEN is_item THEN object_url END AS object_url,
    CASE WHEN actor_name IS NOT NULL THEN actor_iri END AS actor_iri,
    actor_name
FROM flagged
"""

# Anything the ordinary path would quarantine or order by line: an invalid record, a record without
# an id, an id used twice, an object created twice (there the first line wins).
FAST_PROBLEMS_SQL = f"""
SELECT count(*) FILTER (WHERE NOT valid OR native_id IS NULL)
       -- distinct hashes: a repeated id always shows; a (rare) collision only costs the fast path
       + (count(native_id) - count(DISTINCT hash(native_id)) FILTER (WHERE native_id IS NOT NULL))
       + (count(*) FILTER (WHERE is_item) - count(DISTINCT hash(object)) FILTER (WHERE is_item AND object IS NOT NULL)),
       count(*)
FROM {STAGED}
"""

FAST_EVENTS_SQL = f"""
SELECT 'as2' AS source, native_id,
    time, actor, verb, object, object_type, target, recipients,
    value, ctx_meeting, ctx_account, ctx_opportunity, ctx_item,
    activity_extra AS extra
FROM {STAGED}
"""

FAST_ITEMS_SQL = f"""
SELECT object AS item_id, 'as2' AS source, object AS native_id,
{_ITEM_COLUMNS},
    NULL::VARCHAR AS extra
FROM {STAGED}
WHERE is_item
"""

FAST_PROFILES_SQL = f"""
SELECT {_PROFILE_COLUMNS},
       {{file}} AS file, NULL::BIGINT AS line, NULL::VARCHAR AS raw
FROM {STAGED}
WHERE actor IS NOT NULL AND actor_name IS NOT NULL
GROUP BY actor_iri, actor
"""


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _count_lines(file: Path) -> int:
    """Lines as the ordinary path numbers them (a last line without a newline counts too)."""
    import numpy as np

    buffer = bytearray(READ_BYTES)
    view = np.frombuffer(buffer, dtype=np.uint8)
    lines, last = 0, 10
    with open_binary(file) as f:
        while size := f.readinto(buffer):  # type: ignore[attr-defined]
            lines += int(np.count_nonzero(view[:size] == 10))  # vectorised: half the cost of bytes.count
            last = buffer[size - 1]
    return lines + (last != 10)


def _in_thread(fn: Callable[[], int]) -> Callable[[], int]:
    """Start `fn` in a thread now; the returned callable waits for its result (or raises its error)."""
    future: Future[int] = Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever asks for the result
            future.set_exception(exc)

    threading.Thread(target=run, name="as2-count-lines", daemon=True).start()
    return future.result


def _fast_path_compression(file: Path) -> str | None:
    """DuckDB's `compression` for a file the fast path can read, or None.

    Left to the ordinary path: names DuckDB would expand as a glob, a UTF-8 byte-order mark (DuckDB
    skips it, the ordinary path quarantines the line), files above FAST_PATH_MAX_BYTES (the staged
    table holds the whole file), anything not plain or gzip (magic bytes decide, as in `open_binary`,
    not the file name)."""
    if any(c in str(file) for c in "*?[]{}") or not file.is_file():
        return None
    with open(file, "rb") as f:
        head = f.read(3)
    size = file.stat().st_size
    if head[:2] == b"\x1f\x8b":
        with open_binary(file) as g:
            head = g.read(3)
        compression, size = "gzip", size * GZIP_RATIO
    else:
        compression = "none"
    return None if head == b"\xef\xbb\xbf" or size > FAST_PATH_MAX_BYTES else compression


class ActivityStreamsSource(Source):
    kind = "as2"
    summary = "W3C Activity Streams 2.0: NDJSON, a JSON array, one activity or a Collection (gzip ok)"
    option_help: dict[str, str] = {}

    def read(self, path: Path) -> Iterator[Batch]:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            yield from self._read_file(file)

    def _read_file(self, file: Path) -> Iterator[Batch]:
        compression = None if self._is_document(file) else _fast_path_compression(file)
        if compression is None:
            yield from self._read_file_in_blocks(file)
            return
        source = _sql_string(str(file))
        yield Batch(staged=Staged(
            table=STAGED,
            stage=FAST_STAGE_SQL.replace("{source}", source).replace("{compression}", compression),
            problems=FAST_PROBLEMS_SQL,
            events=FAST_EVENTS_SQL,
            items=FAST_ITEMS_SQL,
            profiles=FAST_PROFILES_SQL.replace("{file}", source),
            identities=f"""
                SELECT actor AS identity FROM {STAGED} WHERE actor IS NOT NULL AND actor <> ''
                UNION SELECT object FROM {STAGED} WHERE object_type = 'person' AND object IS NOT NULL
                UNION SELECT unnest(recipients) FROM {STAGED}""",
            fallback=lambda: self._read_file_in_blocks(file),
            # read_json skips blank lines the ordinary path quarantines: the counts must agree. The
            # count (a newline search) runs beside DuckDB's parse.
            expected_rows=_in_thread(lambda: _count_lines(file)),
        ))

    def _read_file_in_blocks(self, file: Path) -> Iterator[Batch]:
        """The ordinary path: Arrow blocks of lines parsed in a DuckDB of its own, each bad line
        quarantined with its number and text."""
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        try:
            if self._is_document(file):
                yield from self._transform(con, file, *self._document_lines(file))
            else:
                for line_numbers, lines, bad in _grouped_blocks(file):
                    yield from self._transform(con, file, line_numbers, lines, bad)
        finally:
            con.close()

    @staticmethod
    def _is_document(file: Path) -> bool:
        """True for a JSON array or a pretty-printed single object (not NDJSON)."""
        with open_binary(file) as f:
            head = f.read(1 << 16)
        stripped = head.lstrip()
        if stripped.startswith(b"["):
            return True
        if not stripped.startswith(b"{"):
            return False
        first_line = stripped.split(b"\n", 1)[0]
        try:
            orjson.loads(first_line)
            return False
        except orjson.JSONDecodeError:
            return True

    @staticmethod
    def _document_lines(file: Path) -> tuple[pa.Array, pa.Array, list[tuple[int, str]]]:
        with open_binary(file) as f:
            data = f.read()
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            text = data[:4096].decode("utf-8", "replace")
            return pa.array([], pa.int64()), pa.array([], pa.string()), [(1, f"{text}\x00{exc}")]
        if isinstance(doc, dict) and doc.get("type") in COLLECTION_TYPES:
            doc = doc.get("orderedItems") or doc.get("items") or []
        records = doc if isinstance(doc, list) else [doc]
        texts = [orjson.dumps(r).decode() for r in records]
        return pa.array(range(1, len(texts) + 1), pa.int64()), pa.array(texts, pa.string()), []

    def _transform(
        self, con: duckdb.DuckDBPyConnection, file: Path, line_numbers: pa.Array, lines: pa.Array,
        bad: list[tuple[int, str]],
    ) -> Iterator[Batch]:
        name = str(file)
        con.register("lines", pa.table({"line": line_numbers, "text": lines}))
        con.execute(TRANSFORM_SQL)
        con.execute(REPEATED_SQL)
        repeats = con.execute("SELECT count(*) FROM repeated").fetchall()[0][0]
        parsed = PARSED if repeats else PARSED_NO_REPEATS
        con.execute(REJECTED_SQL.replace("{parsed}", parsed))
        rejects = con.sql(REJECTS_SQL, params=[name]).to_arrow_table()
        if bad:
            extra = pa.table({
                "source": [SOURCE] * len(bad),
                "file": [name] * len(bad),
                "line": [n for n, _ in bad],
                "field": ["encoding" if "\x00" not in raw else "json" for _, raw in bad],
                "reason": ["invalid UTF-8" if "\x00" not in raw else "malformed JSON document: "
                           + raw.split("\x00", 1)[1] for _, raw in bad],
                "raw": [raw.split("\x00", 1)[0] for _, raw in bad],
            })
            rejects = pa.concat_tables([rejects, extra.cast(rejects.schema)])
        yield Batch(
            events=con.sql(EVENTS_SQL.replace("{parsed}", parsed), params=[name]).to_arrow_table(),
            items=con.sql(ITEMS_SQL.replace("{parsed}", parsed), params=[name]).to_arrow_table(),
            profiles=con.sql(PROFILES_SQL, params=[name]).to_arrow_table(),
            rejects=rejects,
            checked=True,
        )
        con.unregister("lines")


__all__ = ["ActivityStreamsSource", "SourceError"]
