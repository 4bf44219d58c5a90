"""Shared reading for delimited text (CSV, TSV): records with exact line numbers, parsed in DuckDB.

Used by the `csv` and `directory` connectors. A file is cut into records with
numpy (a newline ends a record unless it sits inside a quoted field: quote
parity), the records are staged as Arrow strings into a temporary DuckDB file,
and fields are split there with one vectorised expression. So every record keeps
the physical line it starts on, multi-line quoted fields work, and no Python
object is made per row.

Also here: the SQL macros both connectors use to turn text into identity keys
and timestamps (`install_macros`).
"""

from __future__ import annotations

import csv as std_csv
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from resonance.sources.base import SourceError, open_binary

BLOCK_BYTES = 16 << 20
MAX_RECORD_BYTES = 64 << 20
"""A quoted field longer than this is taken as a broken quote: the file is then cut at newlines."""

TRUE_WORDS = ("true", "yes", "1", "y", "t")
FALSE_WORDS = ("false", "no", "0", "n", "f")


def lit(value: str | None) -> str:
    """A SQL string literal (or NULL)."""
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'"


def parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise SourceError(f"option {name} expects true or false, got {value!r}")


def iter_record_blocks(
    path: Path, quote: bytes | None, block_bytes: int = BLOCK_BYTES
) -> Iterator[tuple[pa.Array, pa.Array, list[tuple[int, str]]]]:
    """Yield (start line numbers, records, invalid-UTF-8 records) per block of `path`.

    A record is a line, or several when a newline sits inside a quoted field
    (`quote` given). Records keep their line terminator (stripped in SQL).
    Records that are not valid UTF-8 are left out and returned as
    (line, text with replacement characters).
    """
    quote_byte = quote[0] if quote else None
    next_line = 1
    carry = b""
    with open_binary(path) as f:
        first = True
        while True:
            chunk = f.read(block_bytes)
            data = carry + chunk
            if first:
                data = data.removeprefix(b"\xef\xbb\xbf")
                first = False
            if not chunk:
                if not data:
                    break
                if not data.endswith(b"\n"):
                    data += b"\n"
            buf = np.frombuffer(data, dtype=np.uint8)
            newlines = np.flatnonzero(buf == 10)
            if quote_byte is not None and len(newlines):
                parity = np.cumsum(buf == quote_byte)[newlines] % 2
                ends = newlines[parity == 0]
                if not len(ends) and (not chunk or len(data) > MAX_RECORD_BYTES):
                    ends = newlines  # an unbalanced quote: fall back to lines
            else:
                ends = newlines
            if not len(ends):
                carry = data
                if not chunk:
                    break
                continue
            cut = int(ends[-1]) + 1
            body, carry = data[:cut], data[cut:]
            n = len(ends)
            starts = np.concatenate(([0], ends[:-1] + 1))
            body_newlines = newlines[newlines < cut]
            start_lines = next_line + np.searchsorted(body_newlines, starts)
            offsets = np.empty(n + 1, dtype=np.int32 if len(body) < 2**31 else np.int64)
            offsets[0] = 0
            offsets[1:] = ends + 1
            arrow_type = pa.string() if offsets.dtype == np.int32 else pa.large_string()
            buffers = [None, pa.py_buffer(offsets), pa.py_buffer(body)]
            records = pa.Array.from_buffers(arrow_type, n, buffers)
            line_numbers = pa.array(start_lines.astype(np.int64))
            bad: list[tuple[int, str]] = []
            try:
                records.validate(full=True)
            except pa.ArrowInvalid:
                keep = np.ones(n, dtype=bool)
                for i in range(n):
                    raw = body[int(starts[i]) : int(ends[i])]
                    try:
                        raw.decode("utf-8")
                    except UnicodeDecodeError:
                        keep[i] = False
                        bad.append((int(start_lines[i]), raw.decode("utf-8", "replace").rstrip("\r")))
                binary = pa.binary() if arrow_type == pa.string() else pa.large_binary()
                mask = pa.array(keep)
                records = pa.Array.from_buffers(binary, n, buffers).filter(mask).cast(arrow_type)
                line_numbers = line_numbers.filter(mask)
            next_line += len(body_newlines)
            yield line_numbers, records, bad
            if not chunk:
                break


@dataclass(slots=True)
class Dialect:
    delimiter: str
    quote: str | None  # None: no quoting (TSV)

    @classmethod
    def from_options(cls, path: Path, options: dict[str, Any]) -> Dialect:
        delimiter = options.get("delimiter")
        name = path.name.lower().removesuffix(".gz")
        tsv = name.endswith((".tsv", ".tab"))
        if delimiter in (None, ""):
            delimiter = "\t" if tsv else ","
        elif delimiter in ("\\t", "tab"):
            delimiter = "\t"
        if len(delimiter) != 1:
            raise SourceError(f"delimiter must be one character, got {delimiter!r}")
        quote = options.get("quote")
        if quote is None:
            # Tab-separated files conventionally carry no quoting: a stray " stays text.
            quote = None if delimiter == "\t" else '"'
        elif quote in ("", "none"):
            quote = None
        elif len(quote) != 1:
            raise SourceError(f"quote must be one character or none, got {quote!r}")
        return cls(delimiter, quote)

    def header(self, text: str) -> list[str]:
        """Split one record in Python (the header only)."""
        text = text.rstrip("\r\n")
        if self.quote is None:
            return text.split(self.delimiter)
        return next(std_csv.reader([text], delimiter=self.delimiter, quotechar=self.quote))

    def fields_sql(self, text: str) -> str:
        """SQL: the list of fields of record `text` (a VARCHAR expression without its line end)."""
        d = lit(self.delimiter)
        if self.quote is None:
            return f"string_split({text}, {d})"
        dq, q = re.escape(self.delimiter), re.escape(self.quote)
        pattern = f"{dq}({q}(?:[^{q}]|{q}{q})*{q}|[^{dq}]*)"
        qq = lit(self.quote)
        return (
            f"list_transform(regexp_extract_all({d} || {text}, {lit(pattern)}, 1), "
            f"lambda x: CASE WHEN starts_with(x, {qq}) "
            f"THEN replace(x[2:-2], {lit(self.quote * 2)}, {qq}) ELSE x END)"
        )

    def valid_sql(self, text: str) -> str:
        """SQL: whether record `text` is well quoted."""
        if self.quote is None:
            return "true"
        dq, q = re.escape(self.delimiter), re.escape(self.quote)
        pattern = f"({dq}({q}(?:[^{q}]|{q}{q})*{q}|[^{dq}{q}][^{dq}]*|))*"
        return f"regexp_full_match({lit(self.delimiter)} || {text}, {lit(pattern)})"


def install_macros(con: duckdb.DuckDBPyConnection, identity_prefix: str) -> None:
    """SQL helpers: `nz`, `ident` (text -> identity key), `to_ts` (text -> UTC timestamp)."""
    prefix = lit(identity_prefix + ":")
    con.execute(
        f"""
        CREATE OR REPLACE MACRO nz(x) AS CASE WHEN x IS NULL OR trim(x) = '' THEN NULL ELSE trim(x) END;
        -- "Dana <dana@x.org>", mailto:dana@x.org, dana@x.org -> email:dana@x.org; slack:U1, https://.. kept;
        -- anything else is an account of this source: <identity_prefix>:<value>.
        CREATE OR REPLACE MACRO ident(v) AS CASE
            WHEN nz(v) IS NULL THEN NULL
            WHEN NOT contains(v, '@') AND NOT contains(v, ':') THEN {prefix} || trim(v)  -- the common case, cheaply
            WHEN regexp_matches(v, '<[^<>@\\s]+@[^<>\\s]+>')
                THEN 'email:' || lower(regexp_extract(v, '<([^<>@\\s]+@[^<>\\s]+)>', 1))
            WHEN lower(trim(v)) LIKE 'mailto:%' THEN 'email:' || lower(trim(substr(trim(v), 8)))
            WHEN regexp_full_match(trim(v), '[^@\\s:/<>]+@[^@\\s<>]+\\.[^@\\s<>]+') THEN 'email:' || lower(trim(v))
            WHEN contains(trim(v), ':') THEN trim(v)
            ELSE {prefix} || trim(v) END;
        CREATE OR REPLACE MACRO rfc2822(t) AS CAST(try_strptime(
            regexp_replace(trim(t), '\\s*\\([^)]*\\)\\s*$', ''),
            ['%a, %d %b %Y %H:%M:%S %z', '%d %b %Y %H:%M:%S %z', '%a, %d %b %Y %H:%M %z',
             '%a, %d %b %Y %H:%M:%S %Z', '%d %b %Y %H:%M %z']) AS TIMESTAMP);
        CREATE OR REPLACE MACRO iso_ts(t) AS coalesce(
            CAST(try_cast(trim(t) AS TIMESTAMPTZ) AS TIMESTAMP), try_cast(trim(t) AS TIMESTAMP));
        CREATE OR REPLACE MACRO unix_ts(t, scale) AS CASE
            WHEN try_cast(trim(t) AS DOUBLE) IS NULL OR abs(try_cast(trim(t) AS DOUBLE) / scale) > 1e11 THEN NULL
            ELSE CAST(to_timestamp(try_cast(trim(t) AS DOUBLE) / scale) AS TIMESTAMP) END;
        CREATE OR REPLACE MACRO auto_ts(t) AS CASE
            WHEN nz(t) IS NULL THEN NULL
            WHEN regexp_full_match(trim(t), '\\d{{14}}') THEN try_strptime(trim(t), '%Y%m%d%H%M%S')
            WHEN regexp_full_match(trim(t), '\\d{{12}}') THEN try_strptime(trim(t), '%Y%m%d%H%M')
            WHEN regexp_full_match(trim(t), '\\d{{8}}') THEN try_strptime(trim(t), '%Y%m%d')
            WHEN regexp_full_match(trim(t), '\\d{{13}}') THEN unix_ts(t, 1000)
            WHEN regexp_full_match(trim(t), '-?\\d{{1,11}}(\\.\\d+)?') THEN unix_ts(t, 1)
            ELSE coalesce(iso_ts(t), rfc2822(t)) END;
        """
    )


TIME_FORMATS = ("auto", "iso", "rfc2822", "compact", "unix", "unix_ms")


def time_sql(expr: str, time_format: str | None) -> str:
    """SQL: text `expr` -> TIMESTAMP (UTC) in the given format (see TIME_FORMATS, or a strptime pattern)."""
    fmt = (time_format or "auto").strip()
    if fmt == "auto":
        return f"auto_ts({expr})"
    if fmt == "iso":
        return f"iso_ts({expr})"
    if fmt == "rfc2822":
        return f"rfc2822({expr})"
    if fmt == "compact":
        return f"try_strptime(trim({expr}), '%Y%m%d%H%M%S')"
    if fmt == "unix":
        return f"unix_ts({expr}, 1)"
    if fmt == "unix_ms":
        return f"unix_ts({expr}, 1000)"
    if "%" in fmt:
        return f"CAST(try_strptime(trim({expr}), {lit(fmt)}) AS TIMESTAMP)"
    raise SourceError(f"time_format must be one of {', '.join(TIME_FORMATS)} or a strptime pattern, got {fmt!r}")


IN_MEMORY_BYTES = 256 << 20
"""Inputs up to this size are staged in memory (about 3x faster); larger ones in a
temporary DuckDB file, so memory stays bounded whatever the input size."""


def staging_connection(input_bytes: int, workdir: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for staging an input of `input_bytes`: in memory when small, else on disk."""
    con = duckdb.connect() if input_bytes <= IN_MEMORY_BYTES else duckdb.connect(str(workdir / "stage.duckdb"))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET temp_directory = {lit(str(workdir))}")
    return con


def detect_time_format(con: duckdb.DuckDBPyConnection, sample_sql: str) -> str:
    """The explicit format that reads most of a sample of time values (`sample_sql` selects
    them), so that a whole file is parsed with one cheap expression; `auto` if none fits 90%."""
    values = [r[0] for r in con.execute(sample_sql).fetchall() if r[0] is not None and str(r[0]).strip()]
    if not values:
        return "auto"
    con.register("_time_sample", pa.table({"t": pa.array(values, pa.string())}))
    try:
        best, best_n = "auto", 0
        for fmt in ("iso", "compact", "rfc2822", "unix"):
            # Counted only where it agrees with `auto`, so detection never changes a result.
            n = con.execute(
                f"SELECT count(*) FROM _time_sample WHERE {time_sql('t', fmt)} = auto_ts(t)"
            ).fetchall()[0][0]
            if n > best_n:
                best, best_n = fmt, n
    finally:
        con.unregister("_time_sample")
    return best if best_n >= 0.9 * len(values) else "auto"


class Staging:
    """A temporary DuckDB database holding one input file's records as `rec(line, text)`."""

    def __init__(self, input_bytes: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="resonance-stage-"))
        self.con = staging_connection(input_bytes, self.dir)

    def load(self, path: Path, dialect: Dialect) -> list[tuple[int, str]]:
        """Stage the records of `path`; return the records that are not valid UTF-8."""
        con = self.con
        con.execute("CREATE OR REPLACE TABLE rec (line BIGINT, text VARCHAR)")
        invalid: list[tuple[int, str]] = []
        quote = dialect.quote.encode() if dialect.quote else None
        for lines, records, bad in iter_record_blocks(path, quote):
            con.register("_block", pa.table({"line": lines, "text": records}))
            # Line ends are dropped here, once, so every later expression sees the bare record.
            con.execute(
                "INSERT INTO rec SELECT line, rtrim(text, chr(13) || chr(10)) FROM _block"
            )
            con.unregister("_block")
            invalid.extend(bad)
        return invalid

    def first_record(self) -> tuple[int, str] | None:
        rows = self.con.execute(
            "SELECT line, text FROM rec WHERE trim(text) <> '' ORDER BY line LIMIT 1"
        ).fetchall()
        return (rows[0][0], rows[0][1]) if rows else None

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def resolve_columns(
    column_map: dict[str, str], names: list[str], fields: dict[str, str], kind: str
) -> dict[str, int]:
    """Map target field -> 1-based column index, checking targets and column names."""
    resolved: dict[str, int] = {}
    for target, column in column_map.items():
        field = fields.get(target.strip().lower())
        if field is None:
            raise SourceError(f"{kind}: unknown --map target {target!r}; known: {', '.join(sorted(fields))}")
        if column not in names:
            raise SourceError(f"{kind}: column {column!r} is not in the file (columns: {', '.join(names)})")
        resolved[field] = names.index(column) + 1
    return resolved


def empty_reject(source: str, path: Path) -> pa.Table:
    return pa.table({
        "source": [source], "file": [str(path)], "line": pa.array([1], pa.int64()), "field": ["file"],
        "reason": ["empty file"], "raw": [""],
    })


def invalid_rejects(source: str, path: Path, invalid: list[tuple[int, str]]) -> pa.Table:
    return pa.table({
        "source": [source] * len(invalid), "file": [str(path)] * len(invalid),
        "line": pa.array([n for n, _ in invalid], pa.int64()), "field": ["encoding"] * len(invalid),
        "reason": ["invalid UTF-8"] * len(invalid), "raw": [raw for _, raw in invalid],
    })
