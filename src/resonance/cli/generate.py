"""`resonance generate`: write a synthetic company in every connector's format."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from resonance.cli.app import JsonOption, app, console, fail, print_json
from resonance.generate import DEFAULT_END, FORMATS, GenerateOptions
from resonance.generate import Progress as ProgressFn
from resonance.generate import generate as run_generate


def parse_formats(value: str | None) -> tuple[str, ...]:
    if not value:
        return FORMATS
    formats = tuple(f.strip() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise typer.BadParameter(f"unknown format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in formats)


def parse_end(value: str | None) -> date:
    if not value:
        return DEFAULT_END
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"--end expects YYYY-MM-DD, got {value!r}") from exc


class ProgressBar:
    """A rich progress bar with one task per generation stage."""

    def __init__(self, disable: bool = False) -> None:
        self.progress = Progress(
            TextColumn("[progress.description]{task.description:<10}"), BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(), console=console, transient=False, disable=disable,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> ProgressFn:
        self.progress.__enter__()

        def update(stage: str, done: int, total: int) -> None:
            if stage not in self.tasks:
                self.tasks[stage] = self.progress.add_task(stage, total=max(total, 1))
            self.progress.update(self.tasks[stage], completed=done, total=max(total, 1))

        return update

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write into (created; our files are replaced).")],
    people: Annotated[int, typer.Option(help="Employees (20 to 100,000+).", min=20)] = 2000,
    days: Annotated[int, typer.Option(help="Days of activity, ending on --end.", min=1)] = 365,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 42,
    end: Annotated[str | None, typer.Option(help=f"Last day, YYYY-MM-DD [default {DEFAULT_END}].")] = None,
    events: Annotated[
        int | None, typer.Option(help="Activity Streams events to write [default people × days × 0.3].", min=1)
    ] = None,
    formats: Annotated[
        str | None, typer.Option(help=f"Comma-separated subset of: {', '.join(FORMATS)} [default all].")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write a realistic synthetic company in the connectors' own formats, plus truth tables.

    Org chart, departments, locations, behaviour types, heavy-tailed activity,
    topics, cross-department help, customers and deals; the same people under
    different aliases in every source. Deterministic for a seed; streamed in
    constant memory. See docs/generator.md.
    """
    options = GenerateOptions(
        people=people, days=days, seed=seed, end=parse_end(end), events=events, formats=parse_formats(formats),
    )
    started = time.perf_counter()
    try:
        with ProgressBar(disable=as_json) as progress:
            manifest = run_generate(options, out, progress=progress)
    except ValueError as exc:
        fail(str(exc))
    elapsed = time.perf_counter() - started
    if as_json:
        print_json({**manifest, "seconds": round(elapsed, 2)})
        return
    console.print(
        f"[bold]{manifest['company']}[/] ({manifest['domain']}): {manifest['people']:,} people, "
        f"{manifest['start']} to {manifest['end']}, written to {out} in {elapsed:.1f}s"
    )
    for name, info in manifest["files"].items():
        console.print(f"  {name}: {info.get('records', 0):,} records")
    console.print(f"  truth/: {', '.join(manifest['truth'])}")
