"""Streaming reader for "one `<row .../>` per line" XML files (Stack Exchange dumps and the like).

Parsing is SAX-style on the C expat parser: each `<row>` start tag becomes one
entry in column lists that are flushed to an Arrow table every `block_rows`
rows, so memory stays flat whatever the file size. Nothing else is kept.

Hostile and broken input:
- **Entity expansion and external entities are refused**, the way `defusedxml`
  refuses them (its `DefusedExpatParser` handlers, with its exception types):
  any entity declaration (billion laughs, quadratic blow-up) or external
  reference stops the file with one quarantine record. Parameter entities are
  never parsed.
- **A malformed record** (bad markup, invalid UTF-8, an undefined entity) is
  quarantined with its line(s) and text, and parsing resumes on the next line
  with a fresh parser: the records before and after it still go in.
- **A truncated file**: the records before the break go in; the break is
  quarantined with its line.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from defusedxml import EntitiesForbidden, ExternalReferenceForbidden

from resonance.sources.base import open_binary

CHUNK_BYTES = 1 << 20
MAX_ERRORS_PER_FILE = 1000
RAW_BYTES = 64 * 1024


@dataclass(slots=True)
class XmlProblem:
    """A record (or a stretch of lines) that could not be read."""

    line: int
    field: str
    reason: str
    raw: str


@dataclass(slots=True)
class XmlBlock:
    """Up to `block_rows` rows as an Arrow table (`line` + one string column per
    attribute asked for), and the problems met since the previous block."""

    table: pa.Table | None
    problems: list[XmlProblem] = field(default_factory=list)


class _Refused(Exception):
    """A security refusal: the whole rest of the file is skipped."""


class _Parser:
    """One expat parser over the file from a given byte offset and line."""

    def __init__(self, reader: XmlRowReader, start_offset: int, line_offset: int, prefix: bytes) -> None:
        self.reader = reader
        self.start_offset = start_offset
        self.line_offset = line_offset
        self.prefix = prefix
        p = xml.parsers.expat.ParserCreate()
        p.buffer_text = True
        # Same protections as defusedxml.expatreader.DefusedExpatParser (forbid_entities,
        # forbid_external), and no parameter entities at all.
        p.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.EntityDeclHandler = self._entity_decl
        p.UnparsedEntityDeclHandler = self._unparsed_entity_decl
        p.ExternalEntityRefHandler = self._external_entity_ref
        self.p = p
        p.StartElementHandler = self._make_start()
        self.in_prefix = bool(prefix)
        if prefix:
            p.Parse(prefix, False)
        self.in_prefix = False

    # -- defusing -------------------------------------------------------------------
    @staticmethod
    def _entity_decl(name, is_parameter_entity, value, base, sysid, pubid, notation_name):  # noqa: ANN001
        raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)

    @staticmethod
    def _unparsed_entity_decl(name, base, sysid, pubid, notation_name):  # noqa: ANN001, ANN205
        raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)

    @staticmethod
    def _external_entity_ref(context, base, sysid, pubid):  # noqa: ANN001, ANN205
        raise ExternalReferenceForbidden(context, base, sysid, pubid)

    # -- rows -------------------------------------------------------------------------
    def _make_start(self):  # noqa: ANN202 - an expat handler
        """The start-element handler: for a row, three list appends and nothing else
        (this is the per-row hot path; columns are built per block in `_take`)."""
        reader, p, row_tag = self.reader, self.p, self.reader.row_tag
        dicts_append, lines_append, bytes_append = reader.dicts.append, reader.lines.append, reader.bytes.append
        line_offset = self.line_offset
        delta = self.start_offset - len(self.prefix)

        def start(name: str, attrs: dict[str, str]) -> None:
            if name == row_tag:
                dicts_append(attrs)
                lines_append(p.CurrentLineNumber + line_offset)
                bytes_append(p.CurrentByteIndex + delta)
            elif not self.in_prefix:
                if reader.root_tag is None:
                    reader.root_tag = name
                reader.flush_marks()
                reader.mark_ok(p.CurrentLineNumber + line_offset, p.CurrentByteIndex + delta)

        return start

    def file_offset(self, index: int) -> int:
        return self.start_offset + index - len(self.prefix)

    def feed(self, data: bytes, final: bool = False) -> None:
        self.p.Parse(data, final)


class XmlRowReader:
    """Iterate the `<row>` records of one file as Arrow blocks (see module docstring)."""

    def __init__(
        self, path: Path, attributes: Sequence[str], row_tag: str = "row", block_rows: int = 50_000
    ) -> None:
        self.path = path
        self.attributes = list(attributes)
        self.row_tag = row_tag
        self.block_rows = block_rows
        self.root_tag: str | None = None
        # Rows of the current block: attribute dicts, line numbers, file byte offsets.
        self.dicts: list[dict[str, str]] = []
        self.lines: list[int] = []
        self.bytes: list[int] = []
        self.struct = pa.struct([(a, pa.string()) for a in self.attributes])
        # Where the last good record was: its line, and a byte inside it (or the start
        # of the line after it when `resume_at_line_start`), so a failure can quote the
        # broken lines exactly.
        self.last_ok_line = 0
        self.last_ok_byte = 0
        self.resume_at_line_start = True
        self.problems: list[XmlProblem] = []
        self.errors = 0

    def mark_ok(self, line: int, byte: int) -> None:
        self.last_ok_line = line
        self.last_ok_byte = byte
        self.resume_at_line_start = False

    def flush_marks(self) -> None:
        """Bring `last_ok_*` up to the last row read (rows only append to lists)."""
        if self.lines:
            self.mark_ok(self.lines[-1], self.bytes[-1])

    @property
    def rows(self) -> int:
        return len(self.dicts)

    def _take(self) -> XmlBlock:
        table = None
        if self.dicts:
            self.flush_marks()
            columns = pa.array(self.dicts, type=self.struct).flatten()
            table = pa.Table.from_arrays([pa.array(self.lines, pa.int64()), *columns],
                                         names=["line", *self.attributes])
            # Cleared, not replaced: the parser's handler holds these lists' append methods.
            self.dicts.clear()
            self.lines.clear()
            self.bytes.clear()
        block = XmlBlock(table, self.problems)
        self.problems = []
        return block

    def __iter__(self) -> Iterator[XmlBlock]:
        with open_binary(self.path) as f:
            head = f.read(CHUNK_BYTES)
            if not head.strip().lstrip(b"\xef\xbb\xbf").strip():
                yield XmlBlock(None, [XmlProblem(1, "file", "empty file", "")])
                return
            f.seek(0)
            parser = _Parser(self, 0, 0, b"")
            while True:
                chunk = f.read(CHUNK_BYTES)
                # Cut at a line end so a failed record never straddles two chunks.
                if chunk and not chunk.endswith(b"\n"):
                    chunk += f.readline()
                final = not chunk
                try:
                    parser.feed(chunk, final)
                except (EntitiesForbidden, ExternalReferenceForbidden) as exc:
                    line = parser.line_offset + parser.p.CurrentLineNumber
                    kind = "entity declaration" if isinstance(exc, EntitiesForbidden) else "external entity"
                    self.problems.append(
                        XmlProblem(
                            line,
                            "xml",
                            f"refused XML {kind} (entity expansion / external entity attack); "
                            "rest of file skipped",
                            str(exc)[:RAW_BYTES],
                        )
                    )
                    break
                except xml.parsers.expat.ExpatError as exc:
                    self.errors += 1
                    restart = self._recover(f, parser, exc, final)
                    if restart is None:
                        break
                    parser, offset = restart
                    f.seek(offset)
                    if self.errors >= MAX_ERRORS_PER_FILE:
                        self.problems.append(
                            XmlProblem(
                                parser.line_offset + 1,
                                "xml",
                                f"too many XML errors ({self.errors}); rest of file skipped",
                                "",
                            )
                        )
                        break
                    continue
                if self.rows >= self.block_rows:
                    yield self._take()
                if final:
                    break
        yield self._take()

    def _recover(
        self,
        f,
        parser: _Parser,
        exc: xml.parsers.expat.ExpatError,
        final: bool,  # noqa: ANN001
    ) -> tuple[_Parser, int] | None:
        """Quarantine the lines from the last good record to the error, and return a
        fresh parser positioned on the next line (None at the end of the file)."""
        self.flush_marks()
        err_line = parser.line_offset + exc.lineno
        first_bad = self.last_ok_line + 1
        # Skip the rest of the last good line, then read the broken lines.
        f.seek(self.last_ok_byte)
        if not self.resume_at_line_start:
            f.readline()
        raw_lines: list[bytes] = []
        size = 0
        for _ in range(max(err_line - self.last_ok_line, 0)):
            line = f.readline()
            if not line:
                break
            if size < RAW_BYTES:
                raw_lines.append(line[: RAW_BYTES - size])
                size += len(raw_lines[-1])
        raw_bytes = b"".join(raw_lines)
        next_offset = f.tell()
        message = xml.parsers.expat.ErrorString(exc.code)
        try:
            raw_bytes.decode("utf-8")
            encoding_ok = True
        except UnicodeDecodeError:
            encoding_ok = False
        at_end = final or not f.read(1)
        while len(raw_lines) > 1 and not raw_lines[0].strip():
            first_bad += 1
            raw_lines.pop(0)
        first_bad = min(first_bad, err_line)
        lines = f"line {err_line}" if first_bad == err_line else f"lines {first_bad}-{err_line}"
        if not encoding_ok:
            reason = "invalid UTF-8"
        elif final:
            closing = f" before </{self.root_tag}>" if self.root_tag else ""
            reason = f"truncated XML: file ends{closing} ({message}, {lines})"
        else:
            reason = f"malformed XML: {message} ({lines})"
        self.problems.append(
            XmlProblem(first_bad, "xml", reason, b"".join(raw_lines).decode("utf-8", "replace").strip())
        )
        if at_end:
            return None
        self.last_ok_line = err_line
        self.last_ok_byte = next_offset
        self.resume_at_line_start = True
        prefix = f"<{self.root_tag}>".encode() if self.root_tag else b""
        # The prefix holds no newline, so the new parser's line 1 is file line err_line + 1.
        fresh = _Parser(self, next_offset, err_line, prefix)
        return fresh, next_offset


def iter_xml_rows(
    path: Path, attributes: Sequence[str], row_tag: str = "row", block_rows: int = 50_000
) -> Iterator[XmlBlock]:
    """Yield `XmlBlock`s for the `<row_tag>` records of `path` (gzip ok)."""
    return iter(XmlRowReader(path, attributes, row_tag, block_rows))
