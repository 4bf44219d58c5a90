"""How these are computed: the current rules and weights, from the metrics engine's `load_rules()`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from resonance.web import dashboard as dash
from resonance.web.schemas import RulesOut
from resonance.web.templating import render

router = APIRouter()


def _rules(request: Request) -> tuple[dict[str, Any] | None, str]:
    path = request.app.state.settings.rules_path
    source = str(path) if path else "built-in defaults (resonance/metrics/rules.toml)"
    try:
        return dash.current_rules(path), source
    except dash.MetricsNotComputed:
        return None, source


@router.get("/rules", include_in_schema=False)
def rules_page(request: Request) -> Response:
    rules, source = _rules(request)
    return render(request, "rules.html", {
        "rules": rules, "source": source, "metrics": dash.METRICS,
        "personas": dash.persona_rules(rules) if rules else None,
    })


@router.get("/api/rules", tags=["rules"], openapi_extra={"security": []})
def api_rules(request: Request) -> RulesOut:
    """Every weight and threshold the metrics use (public: the rules are visible to everyone)."""
    rules, source = _rules(request)
    if rules is None:
        return RulesOut(rules={}, source="the metrics engine is not part of this build", available=False)
    return RulesOut(rules=dash._jsonable(rules), source=source)
