"""`resonance ingest KIND PATH...` and `resonance sources`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from resonance.cli.app import DbOption, JsonOption, app, console, fail, print_json, store_for
from resonance.ingest import run_ingest
from resonance.sources import SourceError, registry


def parse_pairs(values: list[str] | None, what: str) -> dict[str, str]:
    """`a=B,c=D` or repeated `--map a=B` -> {'a': 'B', 'c': 'D'}."""
    pairs: dict[str, str] = {}
    for value in values or []:
        for part in value.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise typer.BadParameter(f"{what} expects NAME=VALUE, got {part!r}")
            key, val = part.split("=", 1)
            pairs[key.strip()] = val.strip()
    return pairs


@app.command()
def ingest(
    kind: Annotated[str, typer.Argument(help="Source kind (see `resonance sources`).")],
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to read.")],
    db: DbOption = None,
    as_json: JsonOption = False,
    column_map: Annotated[
        list[str] | None,
        typer.Option("--map", help="Column map FIELD=COLUMN[,FIELD=COLUMN] (csv, directory, crm)."),
    ] = None,
    constants: Annotated[
        list[str] | None, typer.Option("--set", help="Constant FIELD=VALUE for every row (csv).")
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="Field delimiter (csv); \\t for tab.")] = None,
    site: Annotated[str | None, typer.Option(help="Site name (stackexchange; default: folder name).")] = None,
    domains: Annotated[
        str | None, typer.Option(help="Company e-mail domains, comma-separated (email, calendar, crm).")
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="Any other source option NAME=VALUE.")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit non-zero if any record was rejected.")] = False,
) -> None:
    """Read PATH... with the KIND connector into the store.

    Reports records ingested, already present (re-running an ingest adds
    nothing) and rejected by reason; rejected records are kept in the
    quarantine with file, line, field and raw text.
    """
    options: dict[str, object] = parse_pairs(option, "--option")
    if column_map:
        options["column_map"] = parse_pairs(column_map, "--map")
    if constants:
        options["constants"] = parse_pairs(constants, "--set")
    if delimiter is not None:
        options["delimiter"] = "\t" if delimiter in ("\\t", "tab") else delimiter
    if site is not None:
        options["site"] = site
    if domains is not None:
        options["domains"] = domains
    with store_for(db) as store:
        try:
            with Progress(
                SpinnerColumn(), TextColumn("[progress.description]{task.description}"), TimeElapsedColumn(),
                console=console, transient=True, disable=as_json,
            ) as progress:
                task = progress.add_task(f"ingesting {kind}", total=None)

                def show(counts) -> None:  # type: ignore[no-untyped-def]
                    progress.update(
                        task,
                        description=f"ingesting {kind}: {sum(counts.ingested.values()):,} new, "
                        f"{sum(counts.duplicates.values()):,} present, {counts.rejected:,} rejected",
                    )

                report = run_ingest(store.con, kind, paths, options, progress=show)
        except SourceError as exc:
            fail(str(exc))
    result = report.as_dict()
    if as_json:
        print_json(result)
    else:
        console.print(
            f"[bold]{kind}[/]: {report.ingested:,} ingested, {report.duplicates:,} already present, "
            f"{report.rejected:,} rejected"
        )
        for table, n in result["by_table"].items():
            console.print(f"  {table}: {n['ingested']:,} new, {n['duplicates']:,} present")
        for reason, n in result["reasons"].items():
            console.print(f"  [yellow]rejected[/] {n:,} × {reason}")
        if report.rejected:
            console.print("  see them with: resonance quarantine")
    if report.ingested + report.duplicates == 0 and report.rejected > 0 or strict and report.rejected:
        raise typer.Exit(1)
    if report.ingested + report.duplicates + report.rejected == 0:
        console.print("[yellow]nothing could be read[/]")
        raise typer.Exit(1)


@app.command()
def sources() -> None:
    """List the connectors and their options."""
    table = Table("kind", "reads", "options")
    for kind, cls in registry().items():
        table.add_row(kind, cls.summary, ", ".join(cls.option_help) or "-")
    console.print(table)


@app.command()
def quarantine(
    db: DbOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
    reason: Annotated[str | None, typer.Option(help="Only this reason (substring).")] = None,
) -> None:
    """Show rejected records: file, line, field, reason and raw text."""
    with store_for(db) as store:
        rows = store.con.execute(
            """SELECT ingest_id, source, file, line, field, reason, left(raw, 200) AS raw
               FROM quarantine WHERE ? IS NULL OR reason ILIKE '%' || ? || '%'
               ORDER BY ingest_id DESC, file, line LIMIT ?""",
            [reason, reason, limit],
        ).fetchall()
    keys = ["ingest_id", "source", "file", "line", "field", "reason", "raw"]
    if as_json:
        print_json([dict(zip(keys, r, strict=True)) for r in rows])
        return
    table = Table(*keys[1:])
    for r in rows:
        table.add_row(*(str(v) if v is not None else "" for v in r[1:]))
    console.print(table)
