"""`resonance report`: a person's social performance review as HTML or PDF (docs/review.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resonance.cli.app import DbOption, JsonOption, app, fail, print_json, store_for
from resonance.cli.metrics import PeriodOption
from resonance.metrics.periods import PeriodError


@app.command()
def report(
    who: Annotated[str, typer.Argument(metavar="PERSON", help="Person id, e-mail or identity key.")],
    out: Annotated[Path, typer.Option("--out", help="Output file.")],
    db: DbOption = None,
    period: PeriodOption = None,
    fmt: Annotated[str, typer.Option("--format", help="html or pdf [default: from --out's suffix].")] = "",
    as_json: JsonOption = False,
) -> None:
    """The social performance review of a period: contribution, reaction and reuse, kudos with their
    context, network and brokerage, business influence, with charts. For the person themselves."""
    from resonance.metrics.report import MetricsNotComputed, PersonNotFound
    from resonance.review.render import PdfUnavailable, render_html, render_pdf
    from resonance.review.report import review_data

    fmt = (fmt or out.suffix.lstrip(".") or "html").lower()
    if fmt not in ("html", "pdf"):
        fail(f"--format {fmt!r}: use html or pdf")
    with store_for(db, read_only=True) as store:
        try:
            data = review_data(store.con, who, period)
        except (PersonNotFound, MetricsNotComputed, PeriodError) as exc:
            fail(str(exc))
            raise
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        if fmt == "pdf":
            out.write_bytes(render_pdf(data))
        else:
            out.write_text(render_html(data), encoding="utf-8")
    except PdfUnavailable as exc:
        fail(str(exc))
    if as_json:
        print_json(
            {
                "out": str(out),
                "format": fmt,
                "person": data["person"]["id"],
                "period": data["period"],
                "bytes": out.stat().st_size,
            }
        )
    else:
        typer.echo(
            f"{fmt.upper()} review of {data['person']['display_name'] or data['person']['id']} "
            f"for {data['period']['label']} written to {out} ({out.stat().st_size:,} bytes)"
        )
