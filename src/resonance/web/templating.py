"""Jinja2 templates shared by all pages (autoescaping on: user content is never trusted)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from resonance.web.app import WEB_DIR
from resonance.web.deps import csrf_token, current_principal
from resonance.web.nav import nav_for

templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


def fmt_int(value: object) -> str:
    try:
        return f"{int(value):,}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"


def fmt_num(value: object, digits: int = 1) -> str:
    """A figure for people: thousands separators, few decimals, a dash for nothing."""
    if value is None:
        return "—"
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if abs(v) >= 100 or v == int(v):
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def fmt_pct(value: object) -> str:
    """A percentile as an ordinal: 42 -> '42nd'."""
    try:
        n = int(round(float(value)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


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
