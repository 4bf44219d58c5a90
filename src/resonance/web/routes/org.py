"""The org dashboard for managers (their subtree) and analysts (the company): roll-ups, knowledge
flow, silos, key-person risk and trends, as pages and `/api/org/...`. Every figure comes from
`resonance.org`, which protects it (k, complementary suppression, release log) and asks the
privacy guard; employees and admins get 403. See docs/org.md."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from resonance.metrics.periods import PeriodError
from resonance.metrics.report import MetricsNotComputed
from resonance.org.export import write_rollup
from resonance.org.flow import knowledge_flow
from resonance.org.keyperson import key_person_risk
from resonance.org.rollup import rollup
from resonance.org.trends import org_trends
from resonance.org.units import UnknownUnit, scope_for
from resonance.privacy.guard import ANALYST, MANAGER, AccessDenied, Principal
from resonance.web import dashboard as dash
from resonance.web.deps import get_con, require_principal
from resonance.web.nav import NavItem, register
from resonance.web.org_charts import box_row, heatmap, share_bar, share_trend
from resonance.web.templating import render, templates

router = APIRouter()
register(NavItem("Organisation", "/org", frozenset({MANAGER, ANALYST}), 40))
templates.env.globals.update(box_row=box_row, share_bar=share_bar, heatmap=heatmap, share_trend=share_trend)

Con = Annotated[duckdb.DuckDBPyConnection, Depends(get_con)]
By = Annotated[Literal["manager", "department", "location", "role"], Query(description="Group by.")]
FlowBy = Annotated[Literal["department", "location"], Query(description="Flow between.")]
PeriodQ = Annotated[str | None, Query(max_length=40, description="Period label; empty = the latest substantial month.")]
Text = Annotated[str | None, Query(max_length=200)]


# --- response models ---------------------------------------------------------------
class Stats(BaseModel):
    mean: float
    p25: float
    median: float
    p75: float
    active_share: float


class Figures(BaseModel):
    activity: Stats
    reaction: Stats
    eminence: Stats
    network: Stats
    knowledge_value: Stats
    persona: dict[str, float] = Field(description="Share of each persona.")


class Group(BaseModel):
    unit: str
    label: str
    size: int
    metrics: Figures


class ScopeOut(BaseModel):
    label: str
    size: int
    metrics: Figures


class RollupOut(BaseModel):
    by: str
    period: str
    min_group_size: int
    groups: list[Group]
    suppressed: int = Field(description="Units not shown (too small, or a difference would isolate fewer than k).")
    scope: ScopeOut | None = None


class FlowUnit(BaseModel):
    unit: str
    label: str
    size: int
    inside: bool = Field(description="In the viewer's own organisation (else: the rest of the company).")


class FlowCell(BaseModel):
    from_: str = Field(alias="from")
    to: str
    interactions: int
    points: float


class Silo(BaseModel):
    unit: str
    label: str
    size: int
    inside: int
    in_: int = Field(alias="in")
    out: int
    openness: float | None
    ei_index: float | None
    silo: bool


class FlowOut(BaseModel):
    by: str
    period: str
    min_group_size: int
    scope: str
    units: list[FlowUnit]
    matrix: list[FlowCell]
    silos: list[Silo]
    suppressed: int


class Topic(BaseModel):
    topic: str
    held_by: int
    concentration: int
    rank: int


class KeyPersonOut(BaseModel):
    period: str
    scope: str
    min_group_size: int
    topics: list[Topic]
    examined: int
    shown: bool = Field(True, description="False when your organisation's figures may not be shown at all.")


class TrendPointOut(BaseModel):
    period: str
    adoption: float
    reached: float
    engaged: float
    kv_median: float
    kv_mean: float


class TrendsOut(BaseModel):
    period: str
    period_type: str
    scope: str
    size: int
    min_group_size: int
    points: list[TrendPointOut]
    suppressed: int


# --- helpers -------------------------------------------------------------------
def _viewer(request: Request, con: duckdb.DuckDBPyConnection) -> Principal:
    principal = require_principal(request)
    if principal.role not in (MANAGER, ANALYST):
        raise AccessDenied("Team and organisation figures are for managers and analysts.")
    scope_for(con, principal)  # a manager account without a person is refused here
    return principal


def _k(request: Request) -> int:
    return int(request.app.state.settings.min_group_size)


def _filters(department: str | None, location: str | None, role: str | None) -> dict[str, str]:
    return {k: v for k, v in (("department", department), ("location", location), ("role", role)) if v}


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an org function; its 'nothing to show' errors become 404 problems."""
    try:
        return fn(*args, **kwargs)
    except (MetricsNotComputed, PeriodError, UnknownUnit) as exc:
        raise HTTPException(404, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


# --- API -----------------------------------------------------------------------
@router.get("/api/org/rollup", tags=["org"])
def api_rollup(
    request: Request,
    con: Con,
    by: By = "department",
    unit: Text = None,
    period: PeriodQ = None,
    department: Text = None,
    location: Text = None,
    role: Text = None,
) -> RollupOut:
    """Distributions per unit (quantiles, shares of personas) in your scope; units that are too small,
    or whose difference with another shown figure would isolate fewer than k people, are suppressed."""
    principal = _viewer(request, con)
    result = _call(
        rollup,
        con,
        by,
        period=period,
        unit=unit,
        filters=_filters(department, location, role),
        principal=principal,
        min_group_size=_k(request),
        endpoint=request.url.path,
    )
    return RollupOut(**result)


@router.get("/api/org/flow", tags=["org"])
def api_flow(request: Request, con: Con, by: FlowBy = "department", period: PeriodQ = None) -> FlowOut:
    """Knowledge flow between units (reactions, answers, kudos crossing boundaries) and silos."""
    principal = _viewer(request, con)
    result = _call(
        knowledge_flow, con, by, period, principal=principal, min_group_size=_k(request), endpoint=request.url.path
    )
    return FlowOut(**result)


@router.get("/api/org/key-person", tags=["org"])
def api_key_person(request: Request, con: Con, period: PeriodQ = None) -> KeyPersonOut:
    """Topics whose knowledge value in your scope is held by one or two people (never who)."""
    principal = _viewer(request, con)
    result = _call(
        key_person_risk, con, period, principal=principal, min_group_size=_k(request), endpoint=request.url.path
    )
    return KeyPersonOut(**result)


@router.get("/api/org/trends", tags=["org"])
def api_trends(request: Request, con: Con, period: PeriodQ = None) -> TrendsOut:
    """Adoption and value over the last 12 periods of the period's type."""
    principal = _viewer(request, con)
    result = _call(org_trends, con, period, principal=principal, min_group_size=_k(request), endpoint=request.url.path)
    return TrendsOut(**result)


@router.get(
    "/api/org/export",
    tags=["org"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}},
)
def api_export(
    request: Request,
    con: Con,
    by: By = "department",
    period: PeriodQ = None,
    format: Annotated[Literal["csv", "parquet"], Query(description="File format.")] = "csv",  # noqa: A002
) -> Response:
    """The roll-up's aggregates as CSV (formula-safe cells) or Parquet, one row per shown unit."""
    principal = _viewer(request, con)
    result = _call(
        rollup, con, by, period=period, principal=principal, min_group_size=_k(request), endpoint=request.url.path
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"org-{by}-{result['period']}.{format}"
        write_rollup(con, result, path)
        body = path.read_bytes()
    media = "text/csv; charset=utf-8" if format == "csv" else "application/vnd.apache.parquet"
    name = f"resonance-org-{by}-{result['period']}.{format}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- page ----------------------------------------------------------------------
def _exchange(flow: dict[str, Any]) -> dict[str, list[tuple[str, float]]] | None:
    """For a manager: what their organisation gave to, and received from, each unit of the rest of the company."""
    outside = {u["unit"]: u["label"].removesuffix(" (rest of the company)") for u in flow["units"] if not u["inside"]}
    if not outside:
        return None
    inside = {u["unit"] for u in flow["units"] if u["inside"]}
    gave: dict[str, float] = dict.fromkeys(outside.values(), 0.0)
    got: dict[str, float] = dict.fromkeys(outside.values(), 0.0)
    for m in flow["matrix"]:
        if m["from"] in inside and m["to"] in outside:
            gave[outside[m["to"]]] += m["interactions"]
        elif m["to"] in inside and m["from"] in outside:
            got[outside[m["from"]]] += m["interactions"]
    # Units with no exchange either way are left out of the bars (they stay in the matrix).
    order = sorted((n for n in outside.values() if gave[n] + got[n] > 0), key=lambda n: (-(gave[n] + got[n]), n))
    return {"gave": [(n, gave[n]) for n in order], "got": [(n, got[n]) for n in order]}


@router.get("/org", include_in_schema=False)
def org_page(
    request: Request, con: Con, by: By | None = None, flow_by: FlowBy = "department", period: PeriodQ = None
) -> Response:
    principal = _viewer(request, con)
    k = _k(request)
    by = by or ("manager" if principal.role == MANAGER else "department")
    ctx: dict[str, Any] = {
        "by": by,
        "flow_by": flow_by,
        "period": period or "",
        "k": k,
        "periods": [p for p in dash.available_periods(con) if p["type"] in ("month", "quarter", "half")],
        "dimensions": ["manager", "department", "location", "role"],
    }
    try:
        ctx["rollup"] = rollup(con, by, period=period, principal=principal, min_group_size=k, endpoint="/org")
        ctx["flow"] = knowledge_flow(con, flow_by, period, principal=principal, min_group_size=k, endpoint="/org")
        ctx["trends"] = org_trends(con, period, principal=principal, min_group_size=k, endpoint="/org")
        key_person = key_person_risk(con, period, principal=principal, min_group_size=k, endpoint="/org")
        ctx["key_person"] = key_person if key_person["shown"] else None
        ctx["computed"] = True
    except (MetricsNotComputed, PeriodError) as exc:
        ctx["computed"], ctx["message"] = False, str(exc)
    if ctx.get("computed"):
        ctx["series"] = {
            name: [(pt["period"], pt[name]) for pt in ctx["trends"]["points"]]
            for name in ("adoption", "reached", "kv_median")
        }
        ctx["exchange"] = _exchange(ctx["flow"])
        scope = ctx["rollup"]["scope"]
        # One scale per metric for the page: the largest p75 or mean shown, with some room, so that
        # no box runs into the edge and the mean's dot (often above p75: skewed figures) stays visible.
        stats = [g["metrics"] for g in ctx["rollup"]["groups"]] + ([scope["metrics"]] if scope else [])
        ctx["tops"] = {
            m: 1.1 * max([max(s[m]["p75"], s[m]["mean"]) for s in stats] + [1e-9]) for m in dash.METRICS
        }
        # A grouping whose only unit is the viewer's whole organisation teaches nothing new: say so.
        groups = ctx["rollup"]["groups"]
        ctx["single_unit"] = bool(scope and len(groups) == 1 and groups[0]["size"] == scope["size"])
    ctx["metric_info"] = dash.METRICS
    return render(request, "org/dashboard.html", ctx)
