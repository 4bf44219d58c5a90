"""The face every connector shows, and the small tools they share.

A connector is one module in `resonance/sources/` defining a `Source`
subclass. It reads files and yields `Batch`es of canonical rows (Arrow
tables following the schemas in `resonance.model`) and of rejected records,
each rejection naming file, line, field and reason. Connectors never write
to the store: `resonance.ingest` does, so every source gets idempotency,
quarantine and run accounting for free.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, ClassVar

import pyarrow as pa

from resonance.model import EVENT_SCHEMA, ITEM_SCHEMA, PROFILE_SCHEMA, REJECT_SCHEMA
from resonance.store.loader import Batch

DEFAULT_BATCH_ROWS = 200_000


class SourceError(Exception):
    """A whole input cannot be read (missing file, not this format)."""


class Source(ABC):
    """One kind of input. Subclasses set `kind`, `summary` and `option_help`."""

    kind: ClassVar[str]
    summary: ClassVar[str]
    option_help: ClassVar[dict[str, str]] = {}
    """Options the source accepts (name -> help); the CLI passes them through."""

    def __init__(self, **options: Any) -> None:
        unknown = set(k for k, v in options.items() if v not in (None, [], {}, ())) - set(self.option_help)
        if unknown:
            raise SourceError(
                f"{self.kind}: unknown option(s) {', '.join(sorted(unknown))}; "
                f"accepted: {', '.join(sorted(self.option_help)) or 'none'}"
            )
        self.options = options

    @abstractmethod
    def read(self, path: Path) -> Iterator[Batch]:
        """Yield batches for one input path (a file or a folder)."""

    def read_all(self, paths: Sequence[Path]) -> Iterator[Batch]:
        for path in paths:
            if not Path(path).exists():
                raise SourceError(f"{path}: no such file or folder")
            yield from self.read(Path(path))


# --- reading -------------------------------------------------------------------------
def open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading bytes, decompressing gzip transparently."""
    f = open(path, "rb")  # noqa: SIM115 - returned to the caller
    magic = f.read(2)
    f.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f)  # type: ignore[return-value]
    return f


def open_text(path: Path, encoding: str = "utf-8-sig") -> IO[str]:
    """Text view of a (maybe gzipped) file; undecodable bytes become U+FFFD so one
    bad byte never stops a file (the affected records are checked by the caller)."""
    return io.TextIOWrapper(open_binary(path), encoding=encoding, errors="replace", newline="")


def content_id(*parts: str | bytes | None) -> str:
    """A stable id from record content, for sources without native ids:
    re-ingesting the same row yields the same id."""
    h = hashlib.sha1(usedforsecurity=False)
    for part in parts:
        if part is None:
            part = b"\x00"
        h.update(part if isinstance(part, bytes) else part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return "sha1:" + h.hexdigest()


# --- building batches in Python (for sources that must parse record by record) ---------
class TableBuffer:
    """Column lists for one canonical table, flushed to Arrow every `limit` rows so
    memory stays flat however large the input."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.names = schema.names
        self.columns: dict[str, list[Any]] = {n: [] for n in self.names}
        self.rows = 0

    def append(self, **values: Any) -> None:
        for name in self.names:
            self.columns[name].append(values.get(name))
        self.rows += 1

    def take(self) -> pa.Table | None:
        if not self.rows:
            return None
        table = pa.Table.from_pydict(self.columns, schema=self.schema)
        self.columns = {n: [] for n in self.names}
        self.rows = 0
        return table


class BatchBuilder:
    """Collects events, items, profiles and rejects; yields a Batch when full."""

    def __init__(self, source: str, limit: int = DEFAULT_BATCH_ROWS) -> None:
        self.source = source
        self.limit = limit
        self.events = TableBuffer(EVENT_SCHEMA)
        self.items = TableBuffer(ITEM_SCHEMA)
        self.profiles = TableBuffer(PROFILE_SCHEMA)
        self.rejects = TableBuffer(REJECT_SCHEMA)

    def event(self, **values: Any) -> None:
        values.setdefault("source", self.source)
        self.events.append(**values)

    def item(self, **values: Any) -> None:
        values.setdefault("source", self.source)
        self.items.append(**values)

    def profile(self, **values: Any) -> None:
        values.setdefault("source", self.source)
        self.profiles.append(**values)

    def reject(self, file: str, line: int | None, field: str | None, reason: str, raw: str | None) -> None:
        self.rejects.append(source=self.source, file=file, line=line, field=field, reason=reason, raw=raw)

    @property
    def full(self) -> bool:
        return max(self.events.rows, self.items.rows, self.profiles.rows, self.rejects.rows) >= self.limit

    def take(self) -> Batch | None:
        batch = Batch(
            events=self.events.take(),
            items=self.items.take(),
            profiles=self.profiles.take(),
            rejects=self.rejects.take(),
        )
        if batch.events is None and batch.items is None and batch.profiles is None and batch.rejects is None:
            return None
        return batch

    def flush_if_full(self) -> Iterator[Batch]:
        if self.full:
            batch = self.take()
            if batch is not None:
                yield batch

    def flush(self) -> Iterator[Batch]:
        batch = self.take()
        if batch is not None:
            yield batch


# --- line blocks: NDJSON and other line formats without per-line Python objects ---------
def iter_line_blocks(
    path: Path, block_bytes: int = 16 << 20
) -> Iterator[tuple[pa.Array, pa.Array, list[tuple[int, str]]]]:
    """Yield (line numbers, lines as an Arrow string array, invalid lines) per block.

    Lines are found with numpy and wrapped as Arrow buffers over the block, so
    a block of a million lines costs no Python string objects. Each line keeps
    its trailing newline. Lines that are not valid UTF-8 are left out of the
    array and returned as (line number, text with replacement characters) so
    the caller can quarantine them.
    """
    import numpy as np

    next_line = 1
    carry = b""
    with open_binary(path) as f:
        while True:
            chunk = f.read(block_bytes)
            data = carry + chunk
            if not chunk:
                if not data:
                    break
                data += b"\n"
            last_nl = data.rfind(b"\n")
            if last_nl < 0:
                carry = data
                continue
            body, carry = data[: last_nl + 1], data[last_nl + 1 :]
            buf = np.frombuffer(body, dtype=np.uint8)
            ends = np.flatnonzero(buf == 10)
            n = len(ends)
            # Zero-copy: each line keeps its trailing newline (JSON and CSV parsers
            # ignore it), so Arrow offsets point straight into the block.
            offsets = np.empty(n + 1, dtype=np.int32 if len(body) < 2**31 else np.int64)
            offsets[0] = 0
            offsets[1:] = ends + 1
            arrow_type = pa.string() if offsets.dtype == np.int32 else pa.large_string()
            buffers = [None, pa.py_buffer(offsets), pa.py_buffer(body)]
            lines = pa.Array.from_buffers(arrow_type, n, buffers)
            line_numbers = pa.array(np.arange(next_line, next_line + n, dtype=np.int64))
            bad: list[tuple[int, str]] = []
            try:
                lines.validate(full=True)
            except pa.ArrowInvalid:
                keep = np.ones(n, dtype=bool)
                start = 0
                for i, end in enumerate(ends):
                    raw = body[start:end]
                    start = end + 1
                    try:
                        raw.decode("utf-8")
                    except UnicodeDecodeError:
                        keep[i] = False
                        bad.append((next_line + i, raw.decode("utf-8", "replace")))
                mask = pa.array(keep)
                binary = pa.binary() if arrow_type == pa.string() else pa.large_binary()
                lines = pa.Array.from_buffers(binary, n, buffers).filter(mask).cast(arrow_type)
                line_numbers = line_numbers.filter(mask)
            next_line += n
            yield line_numbers, lines, bad
            if not chunk:
                break
