"""`resonance status`: what the store holds."""

from __future__ import annotations

from rich.table import Table

from resonance.cli.app import DbOption, JsonOption, app, console, print_json, store_for
from resonance.store.overview import store_overview


@app.command()
def status(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Counts by source and verb, people, latest ingests and the quarantine."""
    with store_for(db) as store:
        overview = store_overview(store.con)
    if as_json:
        print_json(overview)
        return
    console.print(f"[bold]{overview['db']}[/]: {overview['totals']}")
    table = Table("source", "verb", "events")
    for row in overview["events_by_source_verb"]:
        table.add_row(row["source"], row["verb"], f"{row['events']:,}")
    console.print(table)
