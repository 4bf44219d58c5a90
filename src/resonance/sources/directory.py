"""HR directory CSV / TSV -> people (profiles of source `hr`, the most authoritative).

The default layout needs no options (the contract with the generator):

    id,name,email,manager_id,department,location,title,role,start_date,handles

`handles` holds `;`-separated identity keys (`slack:U0042;github:dscully`);
`email` may hold several addresses separated by `;`. Other layouts use a column
map, e.g. `--map id=ID,manager=ReportsToID,department=Dept`, and files without
a header name their columns 1, 2, 3, ... (`--option header=false`).

Each row becomes one profile with identity keys `<id_prefix>:<id>` (default
`hr:<id>`), `email:<address>` for each address and every handle;
`manager_ref` = `<id_prefix>:<manager id>`. `--option id_prefix=enron` puts the
directory in the same key space as a source whose accounts are `enron:<id>`
(e.g. the Enron messages read with `csv --option identity_prefix=enron`), so the
two meet without any merge. Unmapped columns are kept in the profile's `extra`.

Quarantined, with file and line: invalid UTF-8, bad quoting, a wrong number of
columns, a missing id, a duplicate id; and, keeping the person without the bad
value, an unparseable start date or external flag, an invalid e-mail address,
a handle that is not an identity key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from resonance.sources.base import Source, SourceError
from resonance.sources.delimited import (
    FALSE_WORDS,
    TRUE_WORDS,
    Dialect,
    Staging,
    empty_reject,
    install_macros,
    invalid_rejects,
    lit,
    parse_bool,
    resolve_columns,
)
from resonance.store.loader import Batch

SOURCE = "hr"
DEFAULT_HEADER = ["id", "name", "email", "manager_id", "department", "location", "title", "role", "start_date",
                  "handles"]
FIELDS = {
    "id": "id", "employee_id": "id", "name": "name", "display_name": "name", "email": "email", "emails": "email",
    "mail": "email", "manager": "manager", "manager_id": "manager", "department": "department", "dept": "department",
    "location": "location", "title": "title", "job_title": "title", "role": "role", "start_date": "start_date",
    "hired": "start_date", "handles": "handles", "external": "external", "is_external": "external",
    "organization": "organization", "organisation": "organization", "company": "organization",
}
EMAIL_RE = "[^@\\s:/<>;,]+@[^@\\s<>;,]+\\.[^@\\s<>;,]+"


class DirectorySource(Source):
    kind = "directory"
    summary = "HR directory CSV / TSV (id,name,email,manager_id,department,location,title,role,start_date,handles)"
    option_help = {
        "column_map": "FIELD=COLUMN pairs for other layouts (--map id=ID,manager=ReportsToID,...)",
        "constants": "FIELD=VALUE for every row, e.g. --set location=Houston",
        "delimiter": "field delimiter (default , or tab for .tsv)",
        "quote": "quote character (default \" for CSV, none for TSV)",
        "header": "true (default) or false: then columns are named 1, 2, 3, ...",
        "id_prefix": "identity key prefix of directory ids (default hr: hr:<id>)",
        "multi_sep": "separator inside email and handles cells (default ;)",
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.header = parse_bool(options.get("header", True), "header")
        self.id_prefix = str(options.get("id_prefix") or "hr")
        self.multi_sep = str(options.get("multi_sep") or ";")
        self.constants: dict[str, str] = {}
        for target, value in dict(options.get("constants") or {}).items():
            field = FIELDS.get(target.strip().lower())
            if field is None:
                raise SourceError(f"directory: unknown --set target {target!r}; known: {', '.join(sorted(FIELDS))}")
            self.constants[field] = value

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
                yield Batch(rejects=invalid_rejects(SOURCE, path, invalid))
            first = staging.first_record()
            if first is None:
                if not invalid:
                    yield Batch(rejects=empty_reject(SOURCE, path))
                return
            header_line, header_text = first
            if self.header:
                names = [n.strip() for n in dialect.header(header_text)]
            else:
                names = [str(i + 1) for i in range(len(dialect.header(header_text)))]
                header_line = 0
            column_map = self.options.get("column_map") or {}
            if not column_map:
                # The default layout: columns named like the fields (any order, any subset but id).
                column_map = {n: n for n in names if n.strip().lower() in FIELDS}
            columns = resolve_columns(column_map, names, FIELDS, "directory")
            if "id" not in columns:
                raise SourceError(
                    f"directory: no id column in {path.name} (columns: {', '.join(names)}); "
                    "map one with --map id=COLUMN"
                )
            con = staging.con
            install_macros(con, self.id_prefix)  # for nz()
            con.execute(self._mapping_sql(dialect, names, columns, header_line))
            params = {"source": lit(SOURCE), "file": lit(str(path))}
            for sql, name in ((REJECTS_SQL, "rejects"), (PROFILES_SQL, "profiles")):
                table = con.sql(sql.format(**params)).to_arrow_table()
                if table.num_rows:
                    yield Batch(**{name: table})
        finally:
            staging.close()

    def _value(self, field: str, columns: dict[str, int]) -> str:
        const = self.constants.get(field)
        if field in columns:
            col = f"nz(f[{columns[field]}])"
            return f"coalesce({col}, {lit(const)})" if const is not None else col
        return f"nz({lit(const)})" if const is not None else "NULL::VARCHAR"

    def _mapping_sql(self, dialect: Dialect, names: list[str], columns: dict[str, int], header_line: int) -> str:
        v = {field: self._value(field, columns) for field in set(FIELDS.values())}
        sep = lit(self.multi_sep)
        prefix = lit(self.id_prefix + ":")
        unmapped = [(i + 1, n) for i, n in enumerate(names) if i + 1 not in columns.values()]
        extra = (
            "json_object(" + ", ".join(f"{lit(n)}, f[{i}]" for i, n in unmapped) + ")::VARCHAR"
            if unmapped else "NULL::VARCHAR"
        )
        # A profile's native id: the directory id, namespaced when the directory is not the default `hr`.
        native = "id_v" if self.id_prefix == "hr" else f"{prefix} || id_v"
        return f"""
        CREATE OR REPLACE TABLE parsed AS
        SELECT line, text, {dialect.valid_sql("text")} AS quoting_ok, {dialect.fields_sql("text")} AS f
        FROM rec WHERE line > {header_line} AND trim(text) <> '';

        CREATE OR REPLACE TABLE mapped AS
        WITH m AS (
            SELECT line, text, quoting_ok, len(f) AS nf,
                {v["id"]} AS id_v, {v["name"]} AS name_v, {v["manager"]} AS manager_v,
                {v["department"]} AS department_v, {v["location"]} AS location_v, {v["title"]} AS title_v,
                {v["role"]} AS role_v, {v["start_date"]} AS start_v, {v["external"]} AS external_v,
                {v["organization"]} AS organization_v,
                coalesce(list_filter(list_transform(string_split({v["email"]}, {sep}), lambda x: trim(x)),
                                     lambda x: x <> ''), []) AS email_list,
                coalesce(list_filter(list_transform(string_split({v["handles"]}, {sep}), lambda x: trim(x)),
                                     lambda x: x <> ''), []) AS handle_list,
                CASE WHEN len(f) = {len(names)} THEN {extra} END AS extra
            FROM parsed
        )
        SELECT *,
            coalesce(try_cast(start_v AS DATE), CAST(try_strptime(start_v, ['%Y%m%d', '%Y/%m/%d']) AS DATE))
                AS start_date,
            list_transform(list_filter(email_list, lambda x: regexp_full_match(x, {lit(EMAIL_RE)})),
                           lambda x: lower(x)) AS emails,
            list_filter(email_list, lambda x: NOT regexp_full_match(x, {lit(EMAIL_RE)})) AS bad_emails,
            list_filter(handle_list, lambda x: regexp_full_match(x, '[A-Za-z][A-Za-z0-9_.+-]*:\\S+')) AS handles,
            list_filter(handle_list, lambda x: NOT regexp_full_match(x, '[A-Za-z][A-Za-z0-9_.+-]*:\\S+'))
                AS bad_handles,
            CASE
                WHEN NOT quoting_ok THEN 'quote'
                WHEN nf <> {len(names)} THEN 'columns'
                WHEN id_v IS NULL THEN 'id'
            END AS bad,
            {native} AS native_id, {prefix} || id_v AS id_key, {prefix} || manager_v AS manager_key
        FROM m;
        CREATE OR REPLACE TABLE mapped AS
        SELECT *, CASE bad
                WHEN 'quote' THEN 'malformed CSV quoting'
                WHEN 'columns' THEN 'wrong column count: ' || nf || ' fields, expected {len(names)}'
                WHEN 'id' THEN 'missing id'
            END AS reason,
            start_v IS NOT NULL AND start_date IS NULL AS bad_start,
            external_v IS NOT NULL AND lower(external_v) NOT IN {TRUE_WORDS + FALSE_WORDS!r} AS bad_external
        FROM mapped;

        CREATE OR REPLACE TABLE good AS
        SELECT *, row_number() OVER (PARTITION BY id_v ORDER BY line) AS copy_no,
               min(line) OVER (PARTITION BY id_v) AS first_line
        FROM mapped WHERE bad IS NULL;
        """


REJECTS_SQL = """
SELECT {source} AS source, {file} AS file, line, bad AS field, reason, text AS raw FROM mapped WHERE bad IS NOT NULL
UNION ALL
SELECT {source}, {file}, line, 'id', 'duplicate id ' || left(id_v, 60) || ' (first at line ' || first_line || ')', text
FROM good WHERE copy_no > 1
UNION ALL
SELECT {source}, {file}, line, 'email', 'invalid e-mail address (person kept without it): ' || left(e, 80), text
FROM (SELECT line, text, unnest(bad_emails) AS e FROM good WHERE copy_no = 1)
UNION ALL
SELECT {source}, {file}, line, 'handles', 'handle is not an identity key source:id (person kept without it): '
       || left(h, 80), text
FROM (SELECT line, text, unnest(bad_handles) AS h FROM good WHERE copy_no = 1)
UNION ALL
SELECT {source}, {file}, line, 'start_date', 'unparseable start_date (person kept without it): ' || left(start_v, 40),
       text
FROM good WHERE copy_no = 1 AND bad_start
UNION ALL
SELECT {source}, {file}, line, 'external', 'unparseable external flag (person kept without it): '
       || left(external_v, 20), text
FROM good WHERE copy_no = 1 AND bad_external
"""

PROFILES_SQL = """
SELECT {source} AS source, native_id,
    -- The directory key first: a new person takes the first identity as its id.
    list_filter(ids, lambda x, i: list_position(ids, x) = i) AS identities,
    name_v AS display_name, emails, handles,
    manager_key AS manager_ref, department_v AS department, location_v AS location, title_v AS title,
    role_v AS role, start_date,
    CASE WHEN external_v IS NULL OR bad_external THEN NULL
         ELSE lower(external_v) IN ('true', 'yes', '1', 'y', 't') END AS is_external,
    organization_v AS organization, extra, {file} AS file, line, text AS raw
FROM (SELECT *, list_concat([id_key], list_transform(emails, lambda x: 'email:' || x), handles) AS ids
      FROM good WHERE copy_no = 1)
"""

__all__ = ["DEFAULT_HEADER", "DirectorySource"]
