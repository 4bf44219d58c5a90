"""Generic CSV / TSV of events, with a column map and constants.

    resonance ingest csv communication.csv --delimiter ';' \\
        --map actor=Sender,to=Recipient,time=EventDate --set verb=Create --set object_kind=message

`--map FIELD=COLUMN` says which column fills which field; `--set FIELD=VALUE`
gives a constant (a mapped column wins where it is not empty). Fields (docs/connectors.md):

| field | event / item column |
|---|---|
| id | native id (else derived from the row's content: re-ingest is idempotent) |
| time | time (`time_format`: auto, iso, rfc2822, compact = yyyymmddHHMMSS, unix, unix_ms, or a strptime pattern) |
| actor | actor, as an identity key (see below) |
| verb | verb (AS2 names or aliases: like, share, bookmark, read, ...) |
| object, object_kind, object_type | object: an item (`object_kind` = message, post, ...) or a person |
| target | target |
| to / recipients, cc, bcc | recipients: several values in one cell, split on `multi_sep` (default `,`) |
| value | value (a number) |
| meeting, account, opportunity, item | business context |
| title, text, tags, container, parent, url | the item a Create makes |

Identity keys for actor, recipients and person objects: an e-mail address
(also `Name <a@b.c>` and `mailto:`) becomes `email:<address>`; a value that is
already a key (`slack:U42`, `hr:E7`, an IRI) is kept; anything else becomes
`<identity_prefix>:<value>` (default prefix: the source name, `csv`), e.g.
`--option identity_prefix=enron` turns `138` into `enron:138`. Item ids work
the same way with the source name as prefix.

A Create whose object has a kind (`object_kind`) or a title/text also makes the
item (author = actor, created = time). Columns that are not mapped are kept in
the event's `extra` JSON.

Quarantined, with file and line: invalid UTF-8, bad quoting, a wrong number of
columns, a missing or unparseable time, a missing or unknown verb, a missing
actor, an unknown object kind, an unparseable value, a duplicate id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from resonance.model import ITEM_KINDS, VERB_ALIASES, VERBS
from resonance.sources.base import Source, SourceError
from resonance.sources.delimited import (
    Dialect,
    Staging,
    detect_time_format,
    empty_reject,
    install_macros,
    invalid_rejects,
    lit,
    parse_bool,
    resolve_columns,
    time_sql,
)
from resonance.store.loader import Batch

OUT_ROWS = 100_000

# --map / --set target -> canonical field (synonyms accepted)
FIELDS = {
    "id": "id", "native_id": "id", "time": "time", "date": "time", "actor": "actor", "from": "actor",
    "verb": "verb", "object": "object", "object_kind": "object_kind", "kind": "object_kind",
    "object_type": "object_type", "target": "target", "to": "to", "recipients": "to", "recipient": "to",
    "cc": "cc", "bcc": "bcc", "value": "value", "meeting": "meeting", "ctx_meeting": "meeting",
    "account": "account", "ctx_account": "account", "opportunity": "opportunity",
    "ctx_opportunity": "opportunity", "item": "item", "ctx_item": "item", "title": "title", "subject": "title",
    "text": "text", "body": "text", "tags": "tags", "container": "container", "parent": "parent", "url": "url",
}
PERSON_VERBS = ("Follow", "Kudos", "Mention", "Invite")
ANONYMOUS_VERBS = ("Vote", "View")


def _verb_map_sql() -> str:
    pairs = {v.lower(): v for v in VERBS}
    pairs.update(VERB_ALIASES)
    return "MAP([" + ", ".join(map(lit, pairs)) + "], [" + ", ".join(map(lit, pairs.values())) + "])"


class CsvSource(Source):
    kind = "csv"
    summary = "CSV / TSV of events with a column map (--map FIELD=COLUMN) and constants (--set FIELD=VALUE)"
    option_help = {
        "column_map": "FIELD=COLUMN pairs (--map)",
        "constants": "FIELD=VALUE constants for every row (--set)",
        "delimiter": "field delimiter (default , or tab for .tsv)",
        "quote": "quote character (default \" for CSV, none for TSV)",
        "header": "true (default) or false: then columns are named 1, 2, 3, ...",
        "source": "source name stored with every event (default csv)",
        "identity_prefix": "prefix for actor/recipient values that are not e-mails or keys (default: source)",
        "time_format": "auto (default), iso, rfc2822, compact (yyyymmddHHMMSS), unix, unix_ms or a strptime pattern",
        "multi_sep": "separator inside multi-valued cells: to, cc, bcc, tags (default ,)",
        "keep_unmapped": "true (default): keep unmapped columns in the event's extra JSON",
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.source = str(options.get("source") or "csv")
        self.column_map: dict[str, str] = dict(options.get("column_map") or {})
        constants = dict(options.get("constants") or {})
        self.constants: dict[str, str] = {}
        for target, value in constants.items():
            field = FIELDS.get(target.strip().lower())
            if field is None:
                raise SourceError(f"csv: unknown --set target {target!r}; known: {', '.join(sorted(FIELDS))}")
            self.constants[field] = value
        self.header = parse_bool(options.get("header", True), "header")
        self.identity_prefix = str(options.get("identity_prefix") or self.source)
        self.time_format = options.get("time_format")
        time_sql("t", self.time_format)  # fail early on a bad format
        self.multi_sep = str(options.get("multi_sep") or ",")
        self.keep_unmapped = parse_bool(options.get("keep_unmapped", True), "keep_unmapped")

    def read(self, path: Path) -> Iterator[Batch]:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            yield from self._read_file(file)

    def _read_file(self, path: Path) -> Iterator[Batch]:
        dialect = Dialect.from_options(path, self.options)
        staging = Staging(path.stat().st_size)
        try:
            invalid = staging.load(path, dialect)
            if invalid:
                yield Batch(rejects=invalid_rejects(self.source, path, invalid))
            first = staging.first_record()
            if first is None:
                if not invalid:
                    yield Batch(rejects=empty_reject(self.source, path))
                return
            header_line, header_text = first
            if self.header:
                names = [n.strip() for n in dialect.header(header_text)]
            else:
                names = [str(i + 1) for i in range(len(dialect.header(header_text)))]
                header_line = 0
            columns = resolve_columns(self.column_map, names, FIELDS, "csv")
            for needed in ("time", "verb", "actor"):
                if needed not in columns and needed not in self.constants:
                    if needed == "actor" and self.constants.get("verb", "").lower() in ("vote", "view"):
                        continue
                    raise SourceError(f"csv: map a column to {needed!r} (--map {needed}=COLUMN) or --set it")
            con = staging.con
            install_macros(con, self.identity_prefix)
            time_format = self.time_format or "auto"
            if time_format == "auto" and "time" in columns:
                time_format = detect_time_format(
                    con, f"SELECT ({dialect.fields_sql('text')})[{columns['time']}] FROM rec "
                         f"WHERE line > {header_line} AND trim(text) <> '' ORDER BY line LIMIT 200")
            con.execute(self._mapping_sql(dialect, names, columns, header_line, time_format))
            for sql, name in ((REJECTS_SQL, "rejects"), (ITEMS_SQL, "items"), (EVENTS_SQL, "events")):
                query = sql.format(source=lit(self.source), file=lit(str(path)), multi_sep=lit(self.multi_sep))
                reader = con.sql(query).to_arrow_reader(OUT_ROWS)
                for record_batch in reader:
                    if record_batch.num_rows:
                        table = pa.Table.from_batches([record_batch])
                        # Every check the loader would make was made above, over the whole file.
                        yield Batch(**{name: table}, checked=name != "rejects")
        finally:
            staging.close()

    # -- SQL -----------------------------------------------------------------------------
    def _value(self, field: str, columns: dict[str, int]) -> str:
        """SQL for a field: its column (if mapped), else its constant, else NULL."""
        const = self.constants.get(field)
        if field in columns:
            col = f"nz(f[{columns[field]}])"
            return f"coalesce({col}, {lit(const)})" if const is not None else col
        return f"nz({lit(const)})" if const is not None else "NULL::VARCHAR"

    def _mapping_sql(
        self, dialect: Dialect, names: list[str], columns: dict[str, int], header_line: int, time_format: str | None
    ) -> str:
        v = {field: self._value(field, columns) for field in set(FIELDS.values())}
        time_expr = time_sql("time_v", time_format)
        if time_format != (self.time_format or "auto"):
            # A format detected on a sample: the rows it does not fit still get the full auto rules.
            time_expr = f"coalesce({time_expr}, {time_sql('time_v', 'auto')})"
        sep = lit(self.multi_sep)
        multi = " || ".join(
            f"coalesce(list_filter(list_transform(string_split({v[f]}, {sep}), lambda x: ident(x)), "
            f"lambda x: x IS NOT NULL), [])"
            for f in ("to", "cc", "bcc")
        )
        unmapped = [(i + 1, n) for i, n in enumerate(names) if i + 1 not in columns.values()]
        if self.keep_unmapped and unmapped:
            pairs = ", ".join(f"{lit(n)}, f[{i}]" for i, n in unmapped)
            extra = f"json_object({pairs})::VARCHAR"
        else:
            extra = "NULL::VARCHAR"
        id_sql = v["id"] if "id" in columns or "id" in self.constants else "NULL::VARCHAR"
        kinds = ", ".join(map(lit, sorted(ITEM_KINDS)))
        return f"""
        -- One pass, materialised once: fields, then values, then checks.
        CREATE OR REPLACE TABLE mapped AS
        WITH parsed AS (
            SELECT line, text, {dialect.valid_sql("text")} AS quoting_ok, {dialect.fields_sql("text")} AS f
            FROM rec WHERE line > {header_line} AND trim(text) <> ''
        ), m AS (
            SELECT line, text, quoting_ok, len(f) AS nf,
                {id_sql} AS id_v, {v["time"]} AS time_v, {v["verb"]} AS verb_v, {v["actor"]} AS actor_v,
                {v["object"]} AS object_v, lower({v["object_kind"]}) AS kind_v, lower({v["object_type"]}) AS otype_v,
                {v["target"]} AS target_v, {v["value"]} AS value_v, {v["title"]} AS title_v,
                {v["text"]} AS text_v, {v["tags"]} AS tags_v, {v["container"]} AS container_v,
                {v["parent"]} AS parent_v, {v["url"]} AS url_v, {v["meeting"]} AS meeting_v,
                {v["account"]} AS account_v, {v["opportunity"]} AS opportunity_v, {v["item"]} AS item_v,
                CASE WHEN len(f) = {len(names)} THEN {multi} END AS recipients,
                CASE WHEN len(f) = {len(names)} THEN {extra} END AS extra
            FROM parsed
        ), t AS (
            SELECT *,
                {time_expr} AS time,
                {_verb_map_sql()}[lower(verb_v)] AS verb,
                ident(actor_v) AS actor,
                coalesce(id_v, 'sha1:' || sha1(text)) AS native_id
            FROM m
        )
        SELECT *,
            CASE
                WHEN NOT quoting_ok THEN 'quote'
                WHEN nf <> {len(names)} THEN 'columns'
                WHEN {"id" in columns} AND id_v IS NULL THEN 'id'
                WHEN time_v IS NULL OR time IS NULL THEN 'time'
                WHEN verb IS NULL THEN 'verb'
                WHEN actor IS NULL AND verb NOT IN {ANONYMOUS_VERBS!r} THEN 'actor'
                WHEN kind_v IS NOT NULL AND kind_v NOT IN ({kinds}) THEN 'object_kind'
                WHEN value_v IS NOT NULL AND try_cast(value_v AS DOUBLE) IS NULL THEN 'value'
            END AS bad,
            CASE
                WHEN NOT quoting_ok THEN 'malformed CSV quoting'
                WHEN nf <> {len(names)} THEN 'wrong column count: ' || nf || ' fields, expected {len(names)}'
                WHEN {"id" in columns} AND id_v IS NULL THEN 'missing id'
                WHEN time_v IS NULL THEN 'missing time'
                WHEN time IS NULL THEN 'unparseable time ' || left(time_v, 40)
                WHEN verb_v IS NULL THEN 'missing verb'
                WHEN verb IS NULL THEN 'unknown verb ' || left(verb_v, 40)
                WHEN actor IS NULL AND verb NOT IN {ANONYMOUS_VERBS!r} THEN 'missing actor'
                WHEN kind_v IS NOT NULL AND kind_v NOT IN ({kinds}) THEN 'unknown object kind ' || left(kind_v, 40)
                WHEN value_v IS NOT NULL AND try_cast(value_v AS DOUBLE) IS NULL
                    THEN 'unparseable value ' || left(value_v, 40)
            END AS reason
        FROM t;

        -- The first good copy of each id goes in; later copies are duplicates (a hash
        -- aggregate finds the few repeated ids; no sort of the whole file).
        CREATE OR REPLACE TABLE dups AS
        SELECT native_id, min(line) AS first_line FROM mapped WHERE bad IS NULL
        GROUP BY native_id HAVING count(*) > 1;
        CREATE OR REPLACE VIEW good AS
        SELECT m.*, CASE WHEN d.native_id IS NULL OR m.line = d.first_line THEN 1 ELSE 2 END AS copy_no,
               d.first_line,
               verb = 'Create' AND (kind_v IS NOT NULL OR title_v IS NOT NULL OR text_v IS NOT NULL)
                   AND coalesce(otype_v, 'item') = 'item' AS makes_item,
               coalesce(otype_v = 'person', verb IN {PERSON_VERBS!r} AND kind_v IS NULL) AS object_is_person
        FROM mapped m LEFT JOIN dups d USING (native_id) WHERE m.bad IS NULL;
        """


def _ref(expr: str) -> str:
    """An id from a cell: kept when it already is a key or IRI, else prefixed with the source."""
    return (
        f"CASE WHEN {expr} IS NULL THEN NULL WHEN contains({expr}, ':') THEN {expr} "
        f"ELSE {{source}} || ':' || {expr} END"
    )


_OBJECT_SQL = f"""CASE WHEN object_is_person THEN ident(object_v)
         WHEN makes_item THEN coalesce({_ref("object_v")}, {{source}} || ':' || native_id)
         ELSE {_ref("object_v")} END"""

REJECTS_SQL = """
SELECT {source} AS source, {file} AS file, line, bad AS field, reason, text AS raw FROM mapped WHERE bad IS NOT NULL
UNION ALL
SELECT {source}, {file}, line, 'id', 'duplicate id ' || left(native_id, 60) || ' (first at line ' || first_line || ')',
       text
FROM good WHERE copy_no > 1
"""

EVENTS_SQL = f"""
SELECT {{source}} AS source, native_id, time, actor, verb,
    {_OBJECT_SQL} AS object,
    CASE WHEN object_is_person THEN 'person' WHEN object_v IS NOT NULL OR makes_item THEN 'item' END AS object_type,
    CASE WHEN verb IN ('Invite', 'Kudos') THEN ident(target_v) ELSE target_v END AS target,
    recipients, try_cast(value_v AS DOUBLE) AS value,
    meeting_v AS ctx_meeting, account_v AS ctx_account, opportunity_v AS ctx_opportunity, item_v AS ctx_item,
    extra, {{file}} AS file, line, text AS raw
FROM good WHERE copy_no = 1
"""

ITEMS_SQL = f"""
SELECT {_OBJECT_SQL} AS item_id, {{source}} AS source, {_OBJECT_SQL} AS native_id,
    coalesce(kind_v, 'post') AS kind, actor AS author, {_ref("parent_v")} AS parent_id, container_v AS container,
    title_v AS title, text_v AS text,
    coalesce(list_filter(list_transform(string_split(tags_v, {{multi_sep}}), lambda x: trim(x)), lambda x: x <> ''),
             []) AS tags,
    time AS created, url_v AS url, NULL::VARCHAR AS extra, {{file}} AS file, line, text AS raw
FROM good WHERE copy_no = 1 AND makes_item
"""

__all__ = ["CsvSource"]
