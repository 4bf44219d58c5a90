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

NDJSON is parsed inside DuckDB (its vectorised JSON reader), block by block:
throughput is that of DuckDB, memory is one block.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from resonance.model import AS2_OBJECT_KINDS, ITEM_KINDS, VERB_ALIASES, VERBS
from resonance.sources.base import Source, SourceError, iter_line_blocks, open_binary
from resonance.store.loader import Batch

SOURCE = "as2"
PERSON_TYPES = ("Person", "Organization", "Group", "Service", "Application")
PERSON_VERBS = ("Follow", "Kudos")
COLLECTION_TYPES = ("Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage")
PUBLIC = ("https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public")

# Paths pulled from every activity in one JSON parse (json_extract_string with a list).
PATHS = [
    "$.id", "$.type", "$.actor", "$.actor.id", "$.actor.name", "$.object", "$.object.id",
    "$.object.type", "$.object.name", "$.object.content", "$.object.summary", "$.object.inReplyTo",
    "$.object.inReplyTo.id", "$.object.context", "$.object.published", "$.object.attributedTo",
    "$.object.attributedTo.id", "$.object.url", "$.object.tag", "$.published", "$.updated",
    "$.target", "$.target.id", "$.to", "$.cc", "$.bto", "$.bcc", "$.audience", "$.context",
    "$.context.meeting", "$.context.account", "$.context.opportunity", "$.context.item",
    "$.value", "$.result", "$.object.mediaType", "$.object.attachment",
]
P = {path: i + 1 for i, path in enumerate(PATHS)}  # DuckDB lists are 1-based


def _p(path: str) -> str:
    return f"f[{P[path]}]"


def _identity_sql(expr: str) -> str:
    """An IRI -> identity key: mailto: and bare addresses become email:..."""
    return f"""CASE
        WHEN {expr} IS NULL OR {expr} = '' OR starts_with({expr}, '{{') OR starts_with({expr}, '[')
             OR length({expr}) > 2048 THEN NULL  -- an array or a monster is no identity
        WHEN lower({expr}) LIKE 'mailto:%' THEN 'email:' || lower(trim(substr({expr}, 8)))
        WHEN {expr} SIMILAR TO '[^:/ ]+@[^:/ ]+\\.[^:/ ]+' THEN 'email:' || lower(trim({expr}))
        ELSE {expr} END"""


def _id_list_sql(expr: str) -> str:
    """A JSON value that is an IRI, an object with id, or an array of those -> list of ids."""
    return f"""CASE
        WHEN {expr} IS NULL THEN []
        WHEN starts_with({expr}, '[') THEN list_filter(list_transform(
                CAST({expr} AS JSON)::JSON[],
                lambda x: coalesce(json_extract_string(x, '$.id'),
                              CASE WHEN json_type(x) = 'VARCHAR' THEN json_extract_string(x, '$') END)),
             lambda x: x IS NOT NULL)
        WHEN starts_with({expr}, '{{') THEN list_filter([json_extract_string({expr}, '$.id')], lambda x: x IS NOT NULL)
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


TRANSFORM_SQL = f"""
CREATE OR REPLACE TEMP TABLE parsed AS
WITH valid AS (
    SELECT line, text, json_valid(text) AS ok FROM lines
),
extracted AS MATERIALIZED (
    SELECT line, text, ok,
           CASE WHEN ok THEN json_type(text) END AS top_type,
           CASE WHEN ok AND json_type(text) = 'OBJECT'
                THEN json_extract_string(text, {PATHS!r}) END AS f
    FROM valid
),
fields AS (
    SELECT line, text, ok, top_type,
        {_p("$.id")} AS id,
        CASE WHEN starts_with({_p("$.type")}, '[') THEN json_extract_string({_p("$.type")}, '$[0]')
             ELSE {_p("$.type")} END AS as2_type,
        coalesce({_p("$.actor.id")}, {_p("$.actor")}) AS actor_iri,
        {_p("$.actor.name")} AS actor_name,
        coalesce({_p("$.object.id")}, CASE WHEN NOT starts_with({_p("$.object")}, '{{')
                                           THEN {_p("$.object")} END) AS object_iri,
        starts_with({_p("$.object")}, '{{') AS object_embedded,
        {_p("$.object.type")} AS object_type_as2,
        {_p("$.object.name")} AS object_name,
        coalesce({_p("$.object.content")}, {_p("$.object.summary")}) AS object_text,
        coalesce({_p("$.object.inReplyTo.id")}, {_p("$.object.inReplyTo")}) AS object_parent,
        CASE WHEN NOT starts_with({_p("$.object.context")}, '{{') THEN {_p("$.object.context")} END
            AS object_context,
        {_p("$.object.published")} AS object_published,
        coalesce({_p("$.object.attributedTo.id")}, {_p("$.object.attributedTo")}) AS object_author,
        {_p("$.object.url")} AS object_url,
        {_p("$.object.tag")} AS object_tags,
        coalesce({_p("$.published")}, {_p("$.updated")}, {_p("$.object.published")}) AS time_text,
        coalesce({_p("$.target.id")}, {_p("$.target")}) AS target_iri,
        {_p("$.to")} AS to_json, {_p("$.cc")} AS cc_json, {_p("$.bto")} AS bto_json,
        {_p("$.bcc")} AS bcc_json, {_p("$.audience")} AS audience_json,
        {_p("$.context")} AS context_raw,
        {_p("$.context.meeting")} AS ctx_meeting,
        {_p("$.context.account")} AS ctx_account,
        {_p("$.context.opportunity")} AS ctx_opportunity,
        {_p("$.context.item")} AS ctx_item,
        coalesce(try_cast({_p("$.value")} AS DOUBLE), try_cast({_p("$.result")} AS DOUBLE)) AS value
    FROM extracted
),
resolved AS (
    SELECT * EXCLUDE (text),
        {_verb_map_sql()}[lower(as2_type)] AS verb,
        {_time_sql("time_text")} AS time,
        {_identity_sql("actor_iri")} AS actor,
        -- Records without an id get one derived from their content, so re-ingest is idempotent.
        coalesce(id, CASE WHEN ok THEN 'sha1:' || sha1(rtrim(text, chr(10) || chr(13))) END) AS native_id
    FROM fields
),
-- A second record with an id already used in this block is a duplicate. A hash
-- aggregate finds the few repeated ids far faster than a window over all rows.
repeated AS (
    SELECT native_id, min(line) AS first_line FROM resolved
    WHERE native_id IS NOT NULL GROUP BY native_id HAVING count(*) > 1
)
SELECT r.*, r2.first_line,
       CASE WHEN r2.first_line IS NULL OR r.line = r2.first_line THEN 1 ELSE 2 END AS copy_no
FROM resolved r LEFT JOIN repeated r2 USING (native_id)
"""

REJECTS_SQL = """
SELECT 'as2' AS source, ? AS file, line,
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
         ELSE 'duplicate id (first at line ' || first_line || ')' END AS reason,
    rtrim(l.text, chr(10) || chr(13)) AS raw
FROM parsed JOIN lines l USING (line)
WHERE (NOT ok OR top_type <> 'OBJECT' OR verb IS NULL OR time IS NULL
       OR (actor IS NULL AND verb NOT IN ('Vote', 'View')) OR copy_no > 1)
  AND trim(l.text) <> ''  -- blank lines are not records
"""

GOOD = (
    "ok AND top_type = 'OBJECT' AND verb IS NOT NULL AND time IS NOT NULL"
    " AND (actor IS NOT NULL OR verb IN ('Vote', 'View')) AND copy_no = 1"
)

EVENTS_SQL = f"""
SELECT 'as2' AS source,
    native_id AS native_id,
    time, actor, verb,
    CASE WHEN is_person THEN {_identity_sql("object_iri")}
         WHEN verb = 'Create' AND object_embedded THEN coalesce(object_iri, native_id || '#object')
         ELSE object_iri END AS object,
    CASE WHEN is_person THEN 'person' WHEN object_iri IS NOT NULL OR object_embedded THEN 'item' END AS object_type,
    CASE WHEN verb = 'Kudos' OR verb = 'Invite' THEN {_identity_sql("target_iri")} ELSE target_iri END AS target,
    list_filter(list_transform(
        list_concat({_id_list_sql("to_json")}, {_id_list_sql("cc_json")}, {_id_list_sql("bto_json")},
                    {_id_list_sql("bcc_json")}, {_id_list_sql("audience_json")}),
        lambda x: CASE WHEN x IN {PUBLIC!r} THEN NULL ELSE {_identity_sql("x")} END),
        lambda x: x IS NOT NULL) AS recipients,
    value, ctx_meeting, ctx_account, ctx_opportunity, ctx_item,
    NULL::VARCHAR AS extra,
    ? AS file, line, NULL::VARCHAR AS raw  -- good records need no raw copy
FROM (SELECT *, (object_type_as2 IN {PERSON_TYPES!r})
                OR (verb IN {PERSON_VERBS!r} AND NOT object_embedded) AS is_person
      FROM parsed WHERE {GOOD})
"""

ITEMS_SQL = f"""
SELECT coalesce(object_iri, native_id || '#object') AS item_id,
    'as2' AS source,
    coalesce(object_iri, native_id || '#object') AS native_id,
    coalesce({_kind_map_sql()}[object_type_as2],
             CASE WHEN lower(object_type_as2) IN {tuple(sorted(ITEM_KINDS))!r} THEN lower(object_type_as2) END,
             CASE WHEN object_parent IS NOT NULL THEN 'comment' ELSE 'post' END) AS kind,
    coalesce({_identity_sql("object_author")}, actor) AS author,
    object_parent AS parent_id,
    coalesce(object_context, CASE WHEN NOT starts_with(context_raw, '{{') THEN context_raw END,
             target_iri) AS container,
    object_name AS title,
    object_text AS text,
    CASE WHEN object_tags IS NULL THEN []
         WHEN starts_with(object_tags, '[') THEN list_filter(list_transform(
             CAST(object_tags AS JSON)::JSON[],
             lambda x: ltrim(coalesce(json_extract_string(x, '$.name'),
                                 CASE WHEN json_type(x) = 'VARCHAR' THEN json_extract_string(x, '$') END), '#')),
             lambda x: x IS NOT NULL AND x <> '')
         ELSE [ltrim(object_tags, '#')] END AS tags,
    coalesce({_time_sql("object_published")}, time) AS created,
    object_url AS url,
    NULL::VARCHAR AS extra,
    ? AS file, line, NULL::VARCHAR AS raw
FROM parsed
WHERE {GOOD} AND verb = 'Create' AND object_embedded
  AND coalesce(object_type_as2, '') NOT IN {PERSON_TYPES!r}
-- Two activities may create the same object: the first one wins (the batch is "checked").
QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY line) = 1
"""

PROFILES_SQL = """
SELECT 'as2' AS source, actor_iri AS native_id, [actor] AS identities,
       arg_max(actor_name, time) AS display_name,
       CASE WHEN actor LIKE 'email:%' THEN [substr(actor, 7)] ELSE [] END AS emails,
       ? AS file, min(line) AS line, NULL AS raw
FROM parsed
WHERE ok AND actor IS NOT NULL AND actor_name IS NOT NULL
GROUP BY actor_iri, actor
"""


class ActivityStreamsSource(Source):
    kind = "as2"
    summary = "W3C Activity Streams 2.0: NDJSON, a JSON array, one activity or a Collection (gzip ok)"
    option_help: dict[str, str] = {}

    def read(self, path: Path) -> Iterator[Batch]:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            yield from self._read_file(file)

    def _read_file(self, file: Path) -> Iterator[Batch]:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        try:
            if self._is_document(file):
                yield from self._transform(con, file, *self._document_lines(file))
            else:
                for line_numbers, lines, bad in iter_line_blocks(file):
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
            events=con.sql(EVENTS_SQL, params=[name]).to_arrow_table(),
            items=con.sql(ITEMS_SQL, params=[name]).to_arrow_table(),
            profiles=con.sql(PROFILES_SQL, params=[name]).to_arrow_table(),
            rejects=rejects,
            checked=True,
        )
        con.unregister("lines")


__all__ = ["ActivityStreamsSource", "SourceError"]
