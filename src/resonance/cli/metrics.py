"""`resonance compute`, `person`, `evidence`, `rules`, `export metrics`: thin faces over resonance.metrics."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from resonance.cli.app import (
    DbOption,
    JsonOption,
    app,
    console,
    fail,
    local_path_absolute,
    print_json,
    store_for,
)
from resonance.metrics.periods import PeriodError
from resonance.metrics.rules import RulesError, describe_rules, load_rules

stdout = Console()  # reports go to stdout; progress and errors to stderr (the shared console)

RulesOption = Annotated[
    Path | None,
    typer.Option("--rules", help="Your rules file overriding the defaults [env RESONANCE_RULES]."),
]
PeriodOption = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="Period label: 2026-W05, 2026-03, 2026-Q1, 2026-H2, r90:2026-03-31 [default: the latest month].",
    ),
]


def _rules(path: Path | None) -> dict:
    try:
        return load_rules(path)
    except RulesError as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


@app.command()
def compute(
    db: DbOption = None,
    engine: Annotated[str, typer.Option(help="Where to compute: duckdb (in the store) or spark.")] = "duckdb",
    spark_master: Annotated[
        str | None, typer.Option("--spark-master", help="Spark master URL [default: local[2]].")
    ] = None,
    period: Annotated[
        list[str] | None,
        typer.Option(
            "--period",
            help="Periods to compute: labels (2026-03, r90:2026-03-31) or types "
            "(week, month, quarter, half, r90, all); repeatable. Default: all types.",
        ),
    ] = None,
    rules: RulesOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Ignore everything dated after this (YYYY-MM-DD[THH:MM]) [default: now]."),
    ] = None,
    full: Annotated[
        bool,
        typer.Option("--full", help="Recompute every period, even when only some were touched since the last compute."),
    ] = False,
    events_parquet: Annotated[
        str | None,
        typer.Option("--events-parquet", callback=local_path_absolute,
                     help="Spark: read events from this Parquet lake (folder or "
                     "hdfs:// / s3a:// URI written by `resonance export-events`) instead of the store."),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option("--out", callback=local_path_absolute,
                     help="Spark: write the metric tables as Parquet here (folder or URI) instead of "
                     "into the store; `resonance import-metrics` loads them. See docs/scale.md."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Compute every metric (Activity, Reaction, Eminence, Network, Knowledge value, personas,
    percentiles) per person and period, and write the metric tables.

    Incremental by default: after a previous compute with the same rules, only the periods touched by
    events ingested since (or newly let in by the as-of) are recomputed; `--full` recomputes everything."""
    from resonance.metrics.pipeline import STAGES, run_pipeline

    if engine not in ("duckdb", "spark"):
        fail(f"unknown engine {engine!r}; use duckdb or spark")
    if (events_parquet or out) and engine != "spark":
        fail("--events-parquet and --out need --engine spark")
    if out:
        from resonance.cli.lake import compute_out

        compute_out(db, out, events_parquet, spark_master, period, _rules(rules), as_of, as_json)
        return
    loaded = _rules(rules)
    try:
        cutoff = datetime.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(f"--as-of expects YYYY-MM-DD or YYYY-MM-DDTHH:MM, got {as_of!r}")
    with store_for(db) as store:
        try:
            with Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                disable=as_json,
            ) as bar:
                task = bar.add_task("computing", total=len(STAGES))

                def show(stage: str, done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total, description=f"computing: {stage}")

                summary = run_pipeline(
                    store.con,
                    engine=engine,
                    periods=period,
                    rules=loaded,
                    progress=show,
                    spark_master=spark_master,
                    as_of=cutoff,
                    incremental=not full,
                    events_parquet=events_parquet,
                )
        except (PeriodError, FileNotFoundError) as exc:
            fail(str(exc))
    if as_json:
        print_json(summary)
        return
    mode = summary.get("mode", "full")
    if mode == "incremental":
        console.print(f"[bold]incremental[/]: {summary.get('touched_days', 0)} days touched since the last compute")
    elif summary.get("full_reason"):
        console.print(f"[bold]full[/] compute: {summary['full_reason']}")
    console.print(
        f"[bold]computed[/] {summary['periods']} periods ({', '.join(summary.get('period_types', []))}) for "
        f"{summary['people']:,} people on {summary['engine']} in {summary['total_seconds']:.1f} s"
    )
    for name, n in summary.get("rows", {}).items():
        console.print(f"  {name}: {n:,} rows")


@app.command()
def person(
    who: Annotated[str, typer.Argument(metavar="ID_OR_EMAIL", help="Person id, e-mail or identity key.")],
    db: DbOption = None,
    period: PeriodOption = None,
    rules: RulesOption = None,
    as_json: JsonOption = False,
) -> None:
    """A person's metrics for a period: values, peer percentiles, trends, breakdowns, persona, top items."""
    from resonance.metrics.report import MetricsNotComputed, PersonNotFound, person_report

    loaded = _rules(rules)
    with store_for(db, read_only=True) as store:
        try:
            report = person_report(store.con, who, period, rules=loaded)
        except (PersonNotFound, MetricsNotComputed, PeriodError) as exc:
            fail(str(exc))
    if as_json:
        print_json(report)
        return
    p = report["person"]
    stdout.print(
        f"[bold]{p['display_name']}[/] ({p['id']}) — {p['department'] or '-'}, "
        f"{p['location'] or '-'}, {p['role'] or '-'}   period [bold]{report['period']['label']}[/] "
        f"({report['period']['start']} .. {report['period']['end']})"
    )
    table = Table("metric", "value", "company", "department", "role", "location", "trend", "top kinds")
    for name, m in report["metrics"].items():
        pct = [f"{v:.0f}" if v is not None else "-" for v in m["percentiles"].values()]
        trend = " ".join(f"{t['value']:.3g}" for t in m["trend"][-6:])
        kinds = ", ".join(f"{k} {v:.3g}" for k, v in list(m["breakdown"].items())[:3])
        table.add_row(name, f"{m['value']:.4g}", *pct, trend, kinds)
    stdout.print(table)
    stdout.print(f"persona: [bold]{report['persona']['name']}[/] — {report['persona']['reason']}")
    stdout.print(f"  rule: {report['persona']['rule']}")
    for item in report["top_items"]:
        stdout.print(f"  {item['value']:.4g}  {item['kind']}  {item['title'] or item['item_id']}")


@app.command()
def evidence(
    who: Annotated[str, typer.Argument(metavar="ID_OR_EMAIL", help="Person id, e-mail or identity key.")],
    metric: Annotated[str, typer.Option(help="activity, reaction, eminence, network or knowledge_value.")],
    db: DbOption = None,
    period: PeriodOption = None,
    page: Annotated[int, typer.Option(help="Page number (1-based).")] = 1,
    page_size: Annotated[int, typer.Option(help="Rows per page.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The events and items behind a figure, paged."""
    from resonance.metrics.evidence import evidence as get_evidence
    from resonance.metrics.report import MetricsNotComputed, PersonNotFound

    with store_for(db, read_only=True) as store:
        try:
            result = get_evidence(store.con, who, metric, period, page=page, page_size=page_size)
        except (PersonNotFound, MetricsNotComputed, PeriodError, ValueError) as exc:
            fail(str(exc))
    if as_json:
        print_json(result)
        return
    stdout.print(
        f"[bold]{metric}[/] of {result['person_id']} in {result['period']['label']}: "
        f"{result['total']:,} rows, page {result['page']}"
    )
    if result["items"]:
        keys = list(result["items"][0])
        table = Table(*keys)
        for item in result["items"]:
            table.add_row(*("" if item[k] is None else str(item[k]) for k in keys))
        stdout.print(table)


@app.command()
def rules(
    rules: RulesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every weight and threshold the metrics use (defaults from rules.toml, your overrides marked)."""
    loaded = _rules(rules)
    if as_json:
        print_json(loaded)
        return
    # TOML on stdout, each rule with its description: readable, and a starting point for an override file.
    section = None
    marked = " (your overrides marked)" if rules else ""
    lines = [f"# Resonance metric rules{marked}; docs/metrics.md explains each metric."]
    for row in describe_rules(loaded):
        head, _, key = row["key"].rpartition(".")
        if head != section:
            section = head
            lines.append(f"\n[{head}]")
        lines.append(f"# {row['description']}" if row["description"] else "#")
        changed = f"  # changed; default {_toml(row['default'])}" if row["changed"] else ""
        lines.append(f"{key} = {_toml(row['value'])}{changed}")
    typer.echo("\n".join(lines))


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _export_group() -> typer.Typer:
    """The `resonance export` group, shared by every feature that exports (created once)."""
    for group in app.registered_groups:
        if group.name == "export" and group.typer_instance is not None:
            return group.typer_instance
    group = typer.Typer(
        help="Export tables for administrators and data engineers (CSV or Parquet).", no_args_is_help=True
    )
    app.add_typer(group, name="export")
    return group


@_export_group().command("metrics")
def export_metrics(
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv or .parquet.")],
    db: DbOption = None,
    period: Annotated[str | None, typer.Option("--period", help="One period label [default: all].")] = None,
    as_json: JsonOption = False,
) -> None:
    """The per-person metric table: one row per person and period with every metric, its company
    percentile and the persona."""
    from resonance.metrics.export import export_metrics as do_export

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        fail(f"{out}: use a .csv or .parquet file name")
    with store_for(db, read_only=True) as store:
        try:
            n = do_export(store.con, out, period)
        except (PeriodError, LookupError) as exc:
            fail(str(exc))
    if as_json:
        print_json({"out": str(out), "rows": n, "period": period})
    else:
        console.print(f"wrote {n:,} rows to {out}")
