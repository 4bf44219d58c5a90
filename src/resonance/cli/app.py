"""The shared Typer application and the options every command understands."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from resonance.config import Settings
from resonance.store import Store, open_store

app = typer.Typer(
    name="resonance",
    help="Resonance: personal social analytics for the enterprise.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB store file [env RESONANCE_DB; default ./resonance.duckdb]."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def settings_for(db: Path | None) -> Settings:
    return Settings.from_args(db=db)


@contextmanager
def store_for(db: Path | None, read_only: bool = False) -> Iterator[Store]:
    settings = settings_for(db)
    try:
        store = open_store(settings.db_path, read_only=read_only)
    except Exception as exc:  # a locked or unreadable file: say what to do
        fail(f"cannot open store {settings.db_path}: {exc}")
    try:
        yield store
    finally:
        store.close()


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n")


def fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
