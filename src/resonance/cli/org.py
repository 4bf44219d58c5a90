"""`resonance org` and `resonance export org`: roll-ups with privacy thresholds (docs/org.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from resonance.cli.app import DbOption, JsonOption, app, fail, print_json, settings_for, store_for
from resonance.cli.metrics import PeriodOption, _export_group
from resonance.metrics.periods import PeriodError

stdout = Console()

ByOption = Annotated[str, typer.Option("--by", help="Group by: manager (subtree), department, location or role.")]
UnitOption = Annotated[str | None, typer.Option("--unit", help="Only this unit (a manager id or e-mail, a name).")]
FilterOption = Annotated[
    list[str] | None,
    typer.Option("--filter", help="Restrict the population first: department=X, location=X, role=X or manager=ID."),
]
MinGroupOption = Annotated[
    int | None, typer.Option("--min-group-size", help="k [env RESONANCE_MIN_GROUP; default 5; never below 3].")
]


def _filters(raw: list[str] | None) -> dict[str, str]:
    out = {}
    for item in raw or []:
        key, sep, value = item.partition("=")
        if not sep or not value:
            fail(f"--filter {item!r}: use DIMENSION=VALUE, e.g. location=Berlin")
        out[key.strip()] = value.strip()
    return out


def _run(db: Path | None, by: str, unit: str | None, period: str | None, filters: dict, k: int | None) -> dict:
    from resonance.metrics.report import MetricsNotComputed
    from resonance.org.rollup import rollup
    from resonance.org.units import UnknownUnit
    from resonance.privacy.guard import AccessDenied

    settings = settings_for(db)
    with store_for(db) as store:
        try:
            return rollup(
                store.con,
                by,
                period=period,
                unit=unit,
                filters=filters,
                min_group_size=k if k is not None else settings.min_group_size,
            )
        except (MetricsNotComputed, PeriodError, UnknownUnit, ValueError, AccessDenied) as exc:
            fail(str(getattr(exc, "detail", None) or exc))
            raise


@app.command()
def org(
    by: ByOption,
    db: DbOption = None,
    unit: UnitOption = None,
    period: PeriodOption = None,
    filter: FilterOption = None,  # noqa: A002 - the option's name
    min_group_size: MinGroupOption = None,
    as_json: JsonOption = False,
) -> None:
    """Distributions of the metrics per unit (quantiles, shares of personas), never a list of people.

    Units smaller than the minimum group size, or that would let a difference of two figures
    isolate fewer than k people, are suppressed (counted in `suppressed`)."""
    from resonance.org.rollup import contract

    result = _run(db, by, unit, period, _filters(filter), min_group_size)
    if as_json:
        print_json(contract(result))
        return
    stdout.print(
        f"by [bold]{by}[/], period [bold]{result['period']}[/], k = {result['min_group_size']}, "
        f"{len(result['groups'])} shown, {result['suppressed']} suppressed"
    )
    table = Table("unit", "size", "activity p50", "reaction p50", "knowledge p50", "network p50", "active", "persona")
    for g in result["groups"]:
        m = g["metrics"]
        top = max(m["persona"].items(), key=lambda kv: kv[1])
        table.add_row(
            g["label"],
            str(g["size"]),
            f"{m['activity']['median']:.3g}",
            f"{m['reaction']['median']:.3g}",
            f"{m['knowledge_value']['median']:.3g}",
            f"{m['network']['median']:.3g}",
            f"{m['activity']['active_share']:.0%}",
            f"{top[0]} {top[1]:.0%}",
        )
    stdout.print(table)


@_export_group().command("org")
def export_org(
    by: ByOption,
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv or .parquet.")],
    db: DbOption = None,
    unit: UnitOption = None,
    period: PeriodOption = None,
    filter: FilterOption = None,  # noqa: A002
    min_group_size: MinGroupOption = None,
    as_json: JsonOption = False,
) -> None:
    """The roll-up's aggregates, one row per shown unit (CSV cells are safe from formula injection)."""
    from resonance.org.export import write_rollup

    if out.suffix.lower() not in (".csv", ".parquet"):
        fail(f"{out}: use a .csv or .parquet file name")
    result = _run(db, by, unit, period, _filters(filter), min_group_size)
    with store_for(db) as store:
        n = write_rollup(store.con, result, out)
    if as_json:
        print_json({"out": str(out), "rows": n, "suppressed": result["suppressed"], "period": result["period"]})
    else:
        typer.echo(f"{n} units written to {out} ({result['suppressed']} suppressed)")
