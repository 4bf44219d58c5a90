"""Rewriting the store file so that deleted data leaves the disk.

DuckDB frees the blocks of deleted or updated rows but does not wipe them: old
values stay readable in the file until the space is reused. After erasing a
person, the file is therefore rewritten: every live table, sequence, index and
view is copied into a new file, which replaces the old one atomically. Only
possible while no other process (no server) has the store open.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import duckdb


def compact_store(path: Path | str) -> tuple[int, int]:
    """Rewrite the store at `path` in place; returns (bytes before, bytes after)."""
    path = Path(path).absolute()
    tmp = path.with_name(f".{path.name}.compact-{os.getpid()}")
    for leftover in (tmp, Path(f"{tmp}.wal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    before = path.stat().st_size
    con = duckdb.connect(str(path))  # fails if a server or another command holds the file
    try:
        con.execute("CHECKPOINT")
        name = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute(f"ATTACH '{_sql(tmp)}' AS resonance_compact")
        con.execute(f'COPY FROM DATABASE "{name}" TO resonance_compact')
        con.execute("DETACH resonance_compact")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    finally:
        con.close()
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(FileNotFoundError):
        Path(f"{path}.wal").unlink()  # the old file's log, already checkpointed
    return before, path.stat().st_size


def _sql(path: Path) -> str:
    return str(path).replace("'", "''")
