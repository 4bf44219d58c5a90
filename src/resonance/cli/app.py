"""The shared Typer application and the options every command understands."""

from __future__ import annotations

import json
import os
import sys
import time
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
OPEN_WAIT_S = 3.0
"""How long a command waits for a store locked by a server that is still starting."""

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def settings_for(db: Path | None) -> Settings:
    return Settings.from_args(db=db)


@contextmanager
def store_for(db: Path | None, read_only: bool = False) -> Iterator[Store]:
    """The store a command works on; every command that touches the store goes through here.

    - Inside the server (a forwarded job), the server's own store.
    - When a live `resonance serve` owns the file, the whole command is forwarded to
      it, its output relayed, and the process exits with its exit code (the body of
      the `with` never runs here).
    - Otherwise the file itself, opened for this command and closed after.
    See docs/architecture.md.
    """
    from resonance.jobs.context import server_store

    injected = server_store()
    if injected is not None:
        yield injected
        return
    settings = settings_for(db)
    store = _open_or_forward(settings.db_path, read_only)
    try:
        yield store
    finally:
        store.close()


def _open_or_forward(db_path: Path, read_only: bool) -> Store:
    from resonance.jobs.lockfile import live_server

    # A server that is starting holds the file a moment before it writes its lock
    # file: on a lock conflict, look again for a little while.
    deadline = time.monotonic() + OPEN_WAIT_S
    while True:
        lock = live_server(db_path)
        if lock is not None:
            _forward(lock, read_only)
        try:
            return open_store(db_path, read_only=read_only)
        except Exception as exc:  # a locked or unreadable file: say what to do
            if "lock" in str(exc).lower() and time.monotonic() < deadline:
                time.sleep(0.25)
                continue
            fail(f"cannot open store {db_path}: {exc}")


def _forward(lock: Any, read_only: bool) -> None:
    from resonance.jobs._click import get_current_context
    from resonance.jobs.argv import canonical_argv
    from resonance.jobs.client import ServerUnavailable, forward

    ctx = get_current_context(silent=True)
    if ctx is None:
        fail(f"the store is owned by the server at {lock.url} (pid {lock.pid}); "
             "use its API, or stop it to open the file directly")
    try:
        code = forward(lock, canonical_argv(ctx), read_only)
    except ServerUnavailable as exc:
        fail(f"the store is owned by the server at {lock.url} (pid {lock.pid}), which does not answer: {exc}")
    raise typer.Exit(code)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n")


def fail(message: str, code: int = 2) -> None:
    # No wrapping: scripts and people search error messages for paths and words.
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def local_path_absolute(value: str | None) -> str | None:
    """A folder or a URI: a local folder is made absolute, so that a command forwarded to a running server
    (another working directory) reads the same folder; `hdfs://`, `s3a://`, `file://` ... stay as given."""
    if not value or "://" in value:
        return value
    return os.path.abspath(os.path.expanduser(value))
