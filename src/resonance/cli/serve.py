"""`resonance serve`: the web app and JSON API."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from resonance.cli.app import DbOption, app, console, settings_for


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Serve the dashboard and the API (OpenAPI at /api/docs)."""
    from resonance.web.app import create_app

    settings = settings_for(db)
    settings.host, settings.port = host, port
    console.print(f"Resonance on [bold]http://{host}:{port}[/]  (store {settings.db_path})")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
