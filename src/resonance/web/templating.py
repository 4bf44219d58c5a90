"""Jinja2 templates shared by all pages (autoescaping on: user content is never trusted)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from resonance.formatting import fmt_int, fmt_num, fmt_pct
from resonance.web.app import WEB_DIR
from resonance.web.deps import csrf_token, current_principal
from resonance.web.nav import nav_for

templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


def fmt_time(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "—" if value is None else str(value)


def csrf_input(request: Request) -> Markup:
    token = csrf_token(request) or ""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(token)


def htmx_headers(request: Request) -> str:
    """The `hx-headers` value that makes every htmx request carry the CSRF token."""
    return json.dumps({"X-CSRF-Token": csrf_token(request) or ""})


templates.env.filters["int"] = fmt_int
templates.env.filters["num"] = fmt_num
templates.env.filters["pct"] = fmt_pct
templates.env.filters["time"] = fmt_time
templates.env.globals["csrf_input"] = csrf_input
templates.env.globals["htmx_headers"] = htmx_headers


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Any:
    """A page with the common context: who is signed in, their navigation, the CSRF token."""
    principal = current_principal(request)
    ctx = {"principal": principal, "nav": nav_for(principal), "path": request.url.path}
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _register_charts() -> None:
    from resonance.web.charts import bar_chart, percentile_meter, trend_chart

    templates.env.globals.update(
        trend_chart=trend_chart, bar_chart=bar_chart, percentile_meter=percentile_meter
    )


_register_charts()
