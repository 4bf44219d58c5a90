"""`resonance serve`: the web app and JSON API."""

from __future__ import annotations

import gc
from typing import Annotated

import typer
import uvicorn

from resonance.cli.app import DbOption, app, console, fail, settings_for
from resonance.config import Settings


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Serve the dashboard and the API (OpenAPI at /api/docs).

    While it runs, the server owns the store: other `resonance` commands on the
    same store are forwarded to it and run as jobs (see `resonance jobs`).
    """
    settings = settings_for(db)
    run_server(settings, host, port)


def run_server(settings: Settings, host: str, port: int) -> None:
    """Serve the app on host:port, owning the store: advertised in `<db>.server.json` so that other
    commands on the same store are forwarded here (shared by `serve` and `demo`)."""
    from resonance.jobs.lockfile import live_server
    from resonance.web.app import create_app

    running = live_server(settings.db_path)
    if running is not None:
        fail(f"{settings.db_path} is already served at {running.url} (pid {running.pid})")
    settings.host, settings.port = host, port
    web = create_app(settings)
    web.state.serve_url = f"http://{host}:{port}"  # advertised in <db>.server.json
    console.print(f"Resonance on [bold]http://{host}:{port}[/]  (store {settings.db_path})")
    # Everything imported and built so far lives as long as the server: out of the collector's sight,
    # a full collection takes about 15 ms instead of 130 (it stops every request thread meanwhile).
    gc.collect()
    gc.freeze()
    # Keep idle connections longer than clients do (httpx: 5 s, uvicorn's default too): a client must
    # never send a request on a connection the server is closing at that moment.
    uvicorn.run(web, host=host, port=port, log_level="warning", timeout_keep_alive=65)
