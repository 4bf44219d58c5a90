"""Backup and restore of the whole store, consistent while the server runs.

A backup is taken inside one read transaction, so it is one snapshot of the
store even while web requests and jobs write beside it (DuckDB's MVCC):

- `parquet` (default): a folder written by DuckDB's `EXPORT DATABASE`
  (`schema.sql`, `load.sql`, one Parquet file per table) plus `manifest.json`
  (Resonance version, time, row count of every table).
- `duckdb`: one DuckDB file (`COPY FROM DATABASE`), with the manifest in its
  `resonance_backup_manifest` table.

Both are first written beside the target under a temporary name and renamed
at the end: a backup that exists is complete.

Restore reads a backup into a staging database, checks every table's row
count against the manifest, then replaces the store's tables, sequences,
indexes and views with the backup's in one transaction. The live `jobs`
table is kept (it records the restore itself and any queued work).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from resonance import __version__
from resonance.store.db import transaction

MANIFEST = "manifest.json"
MANIFEST_TABLE = "resonance_backup_manifest"
KEEP_ON_RESTORE = {"jobs", "job_seq"}
"""Operational state of the running server, not data: never replaced by a restore."""
FORMATS = ("parquet", "duckdb")


class BackupError(Exception):
    """A backup cannot be written or read (bad target, incomplete or foreign backup)."""


def backup(con: duckdb.DuckDBPyConnection, out: Path | str, fmt: str | None = None) -> dict[str, Any]:
    """Write a consistent backup of the store behind `con` to `out`; returns its manifest.

    `out` is a new folder (parquet) or file (duckdb), or an existing folder in which a
    timestamped backup is created. `fmt` defaults to duckdb when `out` ends in .duckdb,
    else parquet."""
    out = Path(out).absolute()
    fmt = fmt or ("duckdb" if out.suffix == ".duckdb" else "parquet")
    if fmt not in FORMATS:
        raise BackupError(f"unknown backup format {fmt!r}; use {' or '.join(FORMATS)}")
    if out.is_dir():
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        out = out / (f"resonance-{stamp}.duckdb" if fmt == "duckdb" else f"resonance-{stamp}")
    if out.exists():
        raise BackupError(f"{out} already exists; choose a new name or a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    _remove(tmp)
    target = f"resonance_backup_{os.getpid()}"
    if fmt == "duckdb":
        con.execute(f"ATTACH {_lit(tmp)} AS {target} (READ_WRITE)")  # even from a read-only store
    try:
        with transaction(con):  # one snapshot for the data and the manifest
            manifest = _manifest(con, fmt)
            if fmt == "parquet":
                con.execute(f"EXPORT DATABASE {_lit(tmp)} (FORMAT parquet)")
                (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
            else:
                con.execute(f'COPY FROM DATABASE "{_current_db(con)}" TO {target}')
                con.execute(f"CREATE TABLE {target}.{MANIFEST_TABLE} (manifest JSON)")
                con.execute(f"INSERT INTO {target}.{MANIFEST_TABLE} VALUES (?)", [json.dumps(manifest)])
    except BaseException:
        if fmt == "duckdb":
            con.execute(f"DETACH {target}")
        _remove(tmp)
        raise
    if fmt == "duckdb":
        con.execute(f"DETACH {target}")
    os.replace(tmp, out)
    manifest["path"] = str(out)
    return manifest


def restore(con: duckdb.DuckDBPyConnection, source: Path | str) -> dict[str, Any]:
    """Replace the store's content with the backup at `source`; returns its manifest."""
    source = Path(source).absolute()
    main = _current_db(con)
    staging = f"resonance_restore_{os.getpid()}"
    workdir: str | None = None
    if (source / "schema.sql").is_file():
        manifest = _read_json(source / MANIFEST)
        workdir = tempfile.mkdtemp(prefix="resonance-restore-")
        con.execute(f"ATTACH {_lit(Path(workdir) / 'staging.duckdb')} AS {staging}")
        try:
            con.execute(f"USE {staging}")
            con.execute(f"IMPORT DATABASE {_lit(source)}")
        finally:
            con.execute(f'USE "{main}"')
    elif source.is_file():
        try:
            con.execute(f"ATTACH {_lit(source)} AS {staging} (READ_ONLY)")
        except duckdb.Error as exc:
            raise BackupError(f"{source}: not a DuckDB backup ({exc})") from exc
        rows = _fetch(con, f"SELECT manifest FROM {staging}.{MANIFEST_TABLE}") if _has_table(
            con, staging, MANIFEST_TABLE) else []
        if not rows:
            con.execute(f"DETACH {staging}")
            raise BackupError(f"{source}: not a Resonance backup (no {MANIFEST_TABLE} table)")
        manifest = json.loads(rows[0][0])
    else:
        raise BackupError(f"{source}: no such backup (a backup folder with schema.sql, or a .duckdb file)")
    try:
        _check_counts(con, staging, manifest)
        _replace(con, main, staging)
    finally:
        con.execute(f"DETACH {staging}")
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return manifest


# -- helpers ------------------------------------------------------------------------------
def _manifest(con: duckdb.DuckDBPyConnection, fmt: str) -> dict[str, Any]:
    db = _current_db(con)
    tables = [r[0] for r in _fetch(
        con, "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary ORDER BY 1", [db])]
    counts = {t: int(_fetch(con, f'SELECT count(*) FROM "{db}".main."{t}"')[0][0]) for t in tables}
    return {
        "resonance_version": __version__,
        "duckdb_version": duckdb.__version__,
        "format": fmt,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tables": counts,
    }


def _check_counts(con: duckdb.DuckDBPyConnection, staging: str, manifest: dict[str, Any]) -> None:
    expected = manifest.get("tables")
    if not isinstance(expected, dict):
        raise BackupError("the backup's manifest lists no tables")
    present = {r[0] for r in _fetch(
        con, "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [staging])}
    for table, n in expected.items():
        if table not in present:
            raise BackupError(f"the backup lacks table {table} listed in its manifest")
        got = int(_fetch(con, f'SELECT count(*) FROM {staging}.main."{table}"')[0][0])
        if got != n:
            raise BackupError(f"table {table}: {got} rows in the backup, {n} in its manifest (incomplete backup?)")


def _replace(con: duckdb.DuckDBPyConnection, main: str, staging: str) -> None:
    """Drop the store's objects and recreate them from `staging`, in one transaction."""
    objects = {kind: _fetch(con, sql, [staging]) for kind, sql in {
        "sequences": "SELECT sequence_name, sql FROM duckdb_sequences() WHERE database_name = ?",
        "tables": "SELECT table_name, sql FROM duckdb_tables() WHERE database_name = ? ORDER BY table_oid",
        "indexes": "SELECT index_name, sql FROM duckdb_indexes() WHERE database_name = ?",
        "views": "SELECT view_name, sql FROM duckdb_views() WHERE database_name = ? AND NOT internal "
                 "ORDER BY view_oid",
    }.items()}
    macros = _fetch(con, """SELECT function_name FROM duckdb_functions()
                            WHERE database_name = ? AND NOT internal AND function_type LIKE '%macro%'""", [staging])
    if macros:
        raise BackupError(f"the backup holds macros ({', '.join(r[0] for r in macros)}), which restore cannot copy")
    with transaction(con):
        con.execute(f'USE "{main}"')
        for (name,) in _fetch(con, "SELECT view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal "
                                   "AND schema_name = 'main'", [main]):
            con.execute(f'DROP VIEW "{name}"')
        for (name,) in _fetch(con, "SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
                                   "AND schema_name = 'main' AND NOT temporary", [main]):
            if name not in KEEP_ON_RESTORE:
                con.execute(f'DROP TABLE "{name}" CASCADE')
        for (name,) in _fetch(con, "SELECT sequence_name FROM duckdb_sequences() WHERE database_name = ? "
                                   "AND schema_name = 'main'", [main]):
            if name not in KEEP_ON_RESTORE:
                con.execute(f'DROP SEQUENCE "{name}"')
        for name, sql in objects["sequences"]:
            if name not in KEEP_ON_RESTORE:
                con.execute(sql)
        for name, sql in objects["tables"]:
            if name in KEEP_ON_RESTORE or name == MANIFEST_TABLE:
                continue
            con.execute(sql)
            con.execute(f'INSERT INTO "{main}".main."{name}" SELECT * FROM {staging}.main."{name}"')
        for _, sql in objects["indexes"]:
            if sql:
                con.execute(sql)
        for _, sql in objects["views"]:
            con.execute(sql)


def _current_db(con: duckdb.DuckDBPyConnection) -> str:
    return str(_fetch(con, "SELECT current_database()")[0][0])


def _has_table(con: duckdb.DuckDBPyConnection, db: str, table: str) -> bool:
    return bool(_fetch(con, "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?",
                       [db, table])[0][0])


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _lit(path: Path | str) -> str:
    """A path as a SQL string literal (DDL takes no parameters)."""
    return "'" + str(path).replace("'", "''") + "'"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path}: missing or unreadable manifest ({exc})") from exc


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()
