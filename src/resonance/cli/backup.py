"""`resonance backup` and `resonance restore`: the whole store, consistent while the server runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resonance.cli.app import DbOption, JsonOption, app, console, fail, print_json, store_for
from resonance.store.backup import FORMATS, BackupError
from resonance.store.backup import backup as backup_store
from resonance.store.backup import restore as restore_store

DATA_TABLES = ("events", "items", "profiles", "identities")


@app.command()
def backup(
    out: Annotated[Path, typer.Option("--out", help="New folder or .duckdb file, or an existing folder "
                                                    "to create a timestamped backup in.")],
    fmt: Annotated[str | None, typer.Option("--format", help=f"{' or '.join(FORMATS)} [default: duckdb if "
                                                            "--out ends in .duckdb, else parquet].")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Back up every table of the store: one consistent snapshot, even while the server runs."""
    with store_for(db, read_only=True) as store:
        try:
            manifest = backup_store(store.con, out, fmt)
        except BackupError as exc:
            fail(str(exc))
    if as_json:
        print_json(manifest)
        return
    rows = sum(manifest["tables"].values())
    console.print(f"backup ({manifest['format']}) of {len(manifest['tables'])} tables, {rows:,} rows: "
                  f"[bold]{manifest['path']}[/]", soft_wrap=True)


@app.command()
def restore(
    source: Annotated[Path, typer.Argument(help="A backup folder (parquet) or .duckdb file from `resonance backup`.")],
    db: DbOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Replace a store that already holds data.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Replace the store's content with a backup (checked against its manifest first).

    Everything written since the backup is lost, so a store holding data is only
    replaced with --yes. The server's job list is kept."""
    with store_for(db) as store:
        held = sum(store.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in DATA_TABLES)
        if held and not yes:
            fail(f"the store holds {held:,} rows of data that the restore would replace; add --yes", code=1)
        try:
            manifest = restore_store(store.con, source)
        except BackupError as exc:
            fail(str(exc))
        store.migrate()  # a backup from an older version gets the newer core tables
    if as_json:
        print_json(manifest)
        return
    console.print(f"restored {len(manifest['tables'])} tables, {sum(manifest['tables'].values()):,} rows "
                  f"from a backup of {manifest['created_at']}", soft_wrap=True)
