"""Jinja2 templates shared by all pages (autoescaping on: user content is never trusted)."""

from __future__ import annotations

from fastapi.templating import Jinja2Templates

from resonance.web.app import WEB_DIR

templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


def fmt_int(value: object) -> str:
    try:
        return f"{int(value):,}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"


templates.env.filters["int"] = fmt_int
