"""`resonance export-events`, `import-metrics` and `compute --out`: the Parquet lake for Spark (docs/scale.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from resonance.cli.app import DbOption, JsonOption, app, console, fail, local_path_absolute, print_json, store_for


@app.command("export-events")
def export_events_cmd(
    parquet: Annotated[str, typer.Option("--parquet", callback=local_path_absolute,
                                          help="Lake root: a folder, or an hdfs:// / s3a:// / "
                                          "file:// URI (written through a local Spark session).")],
    db: DbOption = None,
    full: Annotated[bool, typer.Option("--full", help="Rewrite every day, not only the days that changed.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Export the events as Parquet partitioned by day (ROOT/events/day=YYYY-MM-DD/), plus items,
    identities and people snapshots, for `compute --engine spark --events-parquet ROOT`.

    Incremental: only days with new (or erased) events since the last export to ROOT are rewritten,
    each replaced whole; re-running with nothing new rewrites no day."""
    from resonance.metrics.lake import describe, export_events

    with store_for(db) as store:
        report = export_events(store.con, parquet, full=full)
    if as_json:
        print_json(report.as_dict())
    else:
        console.print(describe(report), soft_wrap=True)


@app.command("import-metrics")
def import_metrics_cmd(
    out: Annotated[Path, typer.Argument(help="Folder written by `compute --engine spark --out`.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load metric tables computed on a cluster (Parquet) into the store, replacing those periods."""
    from resonance.metrics.spark_lake import import_metrics

    with store_for(db) as store:
        try:
            summary = import_metrics(store.con, out)
        except FileNotFoundError as exc:
            fail(str(exc))
    if as_json:
        print_json(summary)
    else:
        console.print(f"imported {summary['periods']} periods: " + ", ".join(
            f"{k} {v:,}" for k, v in summary["rows"].items()), soft_wrap=True)


def compute_out(db: Path | None, out: str, events_parquet: str | None, spark_master: str | None,
                periods: list[str] | None, rules: dict[str, Any], as_of: str | None, as_json: bool) -> None:
    """`compute --engine spark --out URI`: results as Parquet, the store only read (if at all).

    With a lake holding its snapshots and no --db, no store is opened: a cluster driver needs none."""
    from resonance.metrics.periods import PeriodError
    from resonance.metrics.spark_lake import compute_to_parquet

    try:
        cutoff = datetime.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(f"--as-of expects YYYY-MM-DD or YYYY-MM-DDTHH:MM, got {as_of!r}")
    kwargs = dict(spark_master=spark_master, periods=periods, rules=rules, as_of=cutoff)
    try:
        if events_parquet and db is None:
            summary = compute_to_parquet(out, events_parquet=events_parquet, **kwargs)
        else:
            with store_for(db) as store:
                summary = compute_to_parquet(out, events_parquet=events_parquet, con=store.con, **kwargs)
    except (PeriodError, FileNotFoundError) as exc:
        fail(str(exc))
    if as_json:
        print_json(summary)
        return
    console.print(f"[bold]computed[/] {summary['periods']} periods on spark in {summary['total_seconds']:.1f} s;"
                  f" written to {summary['out']}", soft_wrap=True)
