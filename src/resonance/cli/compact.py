"""`resonance compact`: rewrite the store file so deleted data leaves the disk."""

from __future__ import annotations

from resonance.cli.app import DbOption, app, console, fail, settings_for
from resonance.jobs.lockfile import live_server
from resonance.store.compact import compact_store


@app.command()
def compact(db: DbOption = None) -> None:
    """Rewrite the store into a fresh file (after `resonance forget`, or to reclaim space).

    Needs the store to itself: stop the server first."""
    settings = settings_for(db)
    server = live_server(settings.db_path)
    if server is not None:
        fail(f"the server at {server.url} (pid {server.pid}) has the store open; stop it, then compact")
    if not settings.db_path.exists():
        fail(f"no store at {settings.db_path}")
    try:
        before, after = compact_store(settings.db_path)
    except Exception as exc:  # noqa: BLE001 - a locked file: say so
        fail(f"cannot compact {settings.db_path}: {exc}")
    console.print(f"compacted {settings.db_path}: {before:,} -> {after:,} bytes", soft_wrap=True)
