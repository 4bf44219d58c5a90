"""`resonance jobs`: commands the server ran or queued for command-line clients."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from resonance.cli.app import DbOption, JsonOption, app, console, print_json, store_for
from resonance.jobs.runner import JOB_COLUMNS


@app.command()
def jobs(
    db: DbOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="Jobs to show, newest first.")] = 20,
) -> None:
    """List forwarded jobs: queued, running, done or failed, with their exit codes."""
    with store_for(db, read_only=True) as store:
        exists = store.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'jobs' AND schema_name = 'main'"
        ).fetchall()[0][0]
        rows = (
            store.con.execute(f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs ORDER BY job_id DESC LIMIT ?",
                              [limit]).fetchall()
            if exists else []
        )
    records = [dict(zip(JOB_COLUMNS, r, strict=True)) for r in rows]
    if as_json:
        print_json(records)
        return
    table = Table("job", "status", "exit", "command", "by", "submitted", "finished")
    for r in records:
        table.add_row(str(r["job_id"]), r["status"], "" if r["exit_code"] is None else str(r["exit_code"]),
                      " ".join(r["argv"]), r["requested_by"] or "", str(r["submitted_at"])[:19],
                      str(r["finished_at"] or "")[:19])
    console.print(table)
