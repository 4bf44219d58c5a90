"""`resonance advice`: a person's ranked recommendations with what each would change (docs/advice.md)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from resonance.cli.app import DbOption, JsonOption, app, fail, print_json, store_for
from resonance.cli.metrics import PeriodOption
from resonance.metrics.periods import PeriodError

stdout = Console()


@app.command()
def advice(
    who: Annotated[str, typer.Argument(metavar="PERSON", help="Person id, e-mail or identity key.")],
    db: DbOption = None,
    period: PeriodOption = None,
    peer_group: Annotated[
        str, typer.Option("--peer-group", help="Compare with: role, department, location or company.")
    ] = "role",
    as_json: JsonOption = False,
) -> None:
    """What the person could do next, each with its evidence, a link, and where it would move them
    among their real peers."""
    from resonance.advice import recommend
    from resonance.metrics.report import MetricsNotComputed, PersonNotFound

    if peer_group not in ("role", "department", "location", "company"):
        fail(f"--peer-group {peer_group!r}: use role, department, location or company")
    with store_for(db, read_only=True) as store:
        try:
            result = recommend(store.con, who, period, peer_group)
        except (PersonNotFound, MetricsNotComputed, PeriodError) as exc:
            fail(str(exc))
            raise
    if as_json:
        print_json(result)
        return
    stdout.print(
        f"Advice for [bold]{result['person_id']}[/] in {result['period']['label']} "
        f"(peers: {result['peers']['phrase']}, {result['peers']['size']} people)"
    )
    if not result["advice"]:
        stdout.print("Nothing to suggest for this period.")
    for i, a in enumerate(result["advice"], 1):
        stdout.print(f"\n[bold]{i}. {a['title']}[/]\n   {a['text']}")
        stdout.print(f"   [dim]{a['assumption']}[/]")
        if a["link"]:
            stdout.print(f"   → {a['link']}")
