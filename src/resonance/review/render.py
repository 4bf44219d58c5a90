"""The review as a document: HTML (self-contained, charts as inline SVG) and PDF.

PDF is drawn by WeasyPrint from the same HTML (no browser at run time): it lays out HTML, CSS
and SVG with Pango, which Debian ships (`libpango-1.0-0`). WeasyPrint is the optional extra
`resonance[pdf]` (`make demo` installs it); without it, HTML still works and PDF says what to install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from resonance.formatting import fmt_int, fmt_num, fmt_pct
from resonance.web.charts import bar_chart, trend_chart

HERE = Path(__file__).parent
CSS_PATH = HERE.parent / "web" / "static" / "review.css"


class PdfUnavailable(RuntimeError):
    """WeasyPrint (or the system's Pango) is not installed."""


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]))
    env.filters.update(pct=fmt_pct, num=fmt_num, int=fmt_int, zip_values=lambda a, b: list(zip(a, b, strict=False)))
    env.globals.update(trend_chart=trend_chart, bar_chart=bar_chart)
    return env


ENV = _env()


def render_html(data: dict[str, Any], standalone: bool = True) -> str:
    """The review as HTML: a whole document with its stylesheet inlined (standalone), or the article
    alone for a page of the web app (which links /static/review.css: the CSP allows no inline style)."""
    css = CSS_PATH.read_text(encoding="utf-8") if standalone else ""
    return ENV.get_template("review.html").render(r=data, standalone=standalone, css=css)


def render_pdf(data: dict[str, Any]) -> bytes:
    """The review as PDF (WeasyPrint)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        raise PdfUnavailable(
            "PDF needs WeasyPrint and Pango: pip install 'resonance[pdf]' (and apt-get install libpango-1.0-0); "
            f"HTML works without them ({exc})"
        ) from exc
    return weasyprint.HTML(string=render_html(data, standalone=True), base_url=str(HERE)).write_pdf()
