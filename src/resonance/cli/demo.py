"""`resonance demo`: generate a company, ingest it, compute, and serve it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from resonance.cli.app import DbOption, app, console, fail, settings_for
from resonance.cli.generate import ProgressBar
from resonance.demo import prepare_demo
from resonance.generate import GenerateOptions
from resonance.store import open_store


def _print_accounts(accounts: Any) -> None:
    if not accounts:
        return
    console.print("[bold]Sign in with:[/]")
    rows = accounts if isinstance(accounts, list) else [accounts] if isinstance(accounts, dict) else None
    if rows is None:
        console.print(f"  {accounts}")
        return
    for row in rows:
        if isinstance(row, dict):
            console.print("  " + ", ".join(f"{k}: [bold]{v}[/]" for k, v in row.items()))
        else:
            console.print(f"  {row}")


@app.command()
def demo(
    data_dir: Annotated[
        Path, typer.Option("--dir", help="Where the synthetic company is written.")
    ] = Path("demo-data"),
    db: DbOption = None,
    people: Annotated[int, typer.Option(help="Employees of the demo company.", min=20)] = 2000,
    days: Annotated[int, typer.Option(help="Days of activity.", min=1)] = 365,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the app when ready.")] = True,
) -> None:
    """Generate a demo company, ingest it, compute the metrics and serve http://127.0.0.1:8000.

    A second run reuses what is there: the data folder (same company) and the
    store (formats already ingested, metrics already computed).
    """
    settings = settings_for(db)
    options = GenerateOptions(people=people, days=days, seed=seed)
    started = time.perf_counter()
    from resonance.jobs.lockfile import live_server

    running = live_server(settings.db_path)
    if running is not None:
        fail(f"{settings.db_path} is already served at {running.url} (pid {running.pid}); stop it first")
    store = open_store(settings.db_path)
    try:
        with ProgressBar() as progress:
            report = prepare_demo(store.con, data_dir, options, log=console.print, progress=progress)
    except RuntimeError as exc:
        store.close()
        fail(str(exc))
    except BaseException:
        store.close()
        raise
    store.close()
    console.print(
        f"ready in {time.perf_counter() - started:.1f}s "
        f"(generate {report.seconds['generate']:.1f}s, ingest {report.seconds['ingest']:.1f}s, "
        f"compute {report.seconds['compute']:.1f}s); store {settings.db_path}"
    )
    _print_accounts(report.accounts)
    if not serve:
        return
    from resonance.cli.serve import run_server

    run_server(settings, host, port)  # owns the store: other commands are forwarded to it
