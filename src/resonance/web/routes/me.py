"""My dashboard: tiles, trends, persona, top items, reach, kudos, evidence; pages and `/api/me/...`.

Every handler reads the signed-in person's own data only, after
`require_individual_access` (which refuses admins and anonymous callers and
writes the access log). Nothing here takes a person id from the request.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from resonance.kudos.insights import where_you_shine
from resonance.privacy.consent import is_opted_out
from resonance.privacy.guard import Principal, require_individual_access
from resonance.web import dashboard as dash
from resonance.web.cache import NOT_READY, cached, cached_response, dont_cache_response
from resonance.web.deps import current_principal, get_con, require_principal
from resonance.web.prefetch import evidence_of_the_view
from resonance.web.sanitize import plain_text, safe_html
from resonance.web.schemas import (
    AccountOut,
    EvidencePage,
    ItemDetailOut,
    ItemOut,
    KudosOut,
    MeOut,
    MetricName,
    MetricOut,
    MetricsOut,
    Page,
    PeerGroup,
    PeriodOut,
    PersonaOut,
    PersonOut,
    ReachRow,
    TopItemOut,
    TrendPoint,
)
from resonance.web.templating import is_htmx, render

router = APIRouter()

Con = Annotated[duckdb.DuckDBPyConnection, Depends(get_con)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")]
PageSize = Annotated[int, Query(ge=1, le=100, description="Rows per page.")]
PeriodQ = Annotated[
    str | None,
    Query(
        max_length=40,
        description="Period label (`2026-03`, `2026-Q1`, `2026-W05`, `2026-H2`, "
        "`r90:2026-03-31`); empty = the latest month.",
    ),
]


def me(request: Request, con: duckdb.DuckDBPyConnection, purpose: str) -> tuple[Principal, str]:
    """The signed-in person, after the guard allowed (and logged) reading their own data."""
    principal = current_principal(request)
    subject = principal.person_id if principal and principal.person_id else ""
    require_individual_access(
        con, principal, subject, endpoint=request.url.path, purpose=purpose, method=request.method
    )
    assert principal is not None
    return principal, subject


def person_record(con: duckdb.DuckDBPyConnection, person_id: str) -> dict[str, Any]:
    cur = con.execute(
        """SELECT person_id, display_name, department, location, role, title, manager_id
           FROM people WHERE person_id = ?""",
        [person_id],
    )
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return dict(zip(names, rows[0], strict=True)) if rows else {"person_id": person_id}


def resolve_period(con: duckdb.DuckDBPyConnection, period: str | None) -> tuple[str | None, list[dict]]:
    """The requested period if figures exist for it; none asked = the latest month in which most people have figures."""
    periods = dash.available_periods(con)
    period = (period or "").strip() or None
    if period is not None and period not in {p["label"] for p in periods}:
        known = ", ".join(p["label"] for p in periods[:8]) or "none yet"
        raise HTTPException(404, f"No figures for period {period!r}. Available: {known}.")
    if period is None and periods:
        period = _substantial_month(con)
    return period, periods


def _substantial_month(con: duckdb.DuckDBPyConnection) -> str | None:
    """The latest month in which most people have figures (a thin tail of late events, such as CRM
    close dates in the future, would otherwise make an empty default); None = the engine's default."""
    try:
        from resonance.org.periods import default_period
    except ImportError:
        return None

    def compute() -> str | None:
        try:
            return default_period(con).label
        except (LookupError, ValueError, duckdb.Error):
            return None

    return cached(con, ("substantial_month",), compute, "metrics")


def metrics_view(
    con: duckdb.DuckDBPyConnection, person_id: str, period: str | None, peer_group: str
) -> dict[str, Any]:
    """Everything the dashboard shows from the metrics engine (or why there is nothing yet)."""
    try:
        report = dash.person_report(con, person_id, period)
    except dash.MetricsNotComputed:
        return {"computed": False}
    tiles = dash.tiles(report, peer_group)
    detail = report.get("network_detail")
    return {
        "computed": True,
        "report": report,
        "period": report.get("period") or {},
        "tiles": tiles,
        "next_step": dash.next_step(tiles),
        "persona": report.get("persona"),
        "top_items": report.get("top_items") or [],
        "reach_department": dash.reach_rows(detail, "department"),
        "reach_location": dash.reach_rows(detail, "location"),
        "network_detail": detail,
    }


# --- pages ------------------------------------------------------------------------
@router.get("/me", include_in_schema=False)
def dashboard_page(
    request: Request,
    con: Con,
    period: PeriodQ = None,
    peer_group: PeerGroup = "company",
) -> Response:
    _, person_id = me(request, con, "dashboard")
    # A repeat view is served from memory until a kudos, vote, compute, ingest, merge or consent change.
    return cached_response(request, con, "activity",
                           lambda: _dashboard_page(request, con, person_id, period, peer_group))


def _dashboard_page(
    request: Request, con: duckdb.DuckDBPyConnection, person_id: str, period: str | None, peer_group: str
) -> Response:
    asked = (period or "").strip()
    period, periods = resolve_period(con, period)
    view = metrics_view(con, person_id, period, peer_group)
    label = (view.get("period") or {}).get("label")
    # The advice takes tens of milliseconds of queries the first time a period is shown. The dashboard as
    # it opens shows it in the page; browsing to another period, the page is sent without it (unless it is
    # known already) and its panel loads it next (/me/advice), so that the figures never wait for it.
    advice = _advice(request, con, person_id, view, peer_group, wait=not asked)
    advice_url = None
    if advice is NOT_READY:
        advice = None
        advice_url = "/me/advice?" + urlencode({"period": label, "peer_group": peer_group})
        dont_cache_response()  # the next view shows the advice in the page, once it is known
    if view.get("computed") and not asked:
        # The dashboard as it opens: the evidence behind each figure is one click away, read it ahead
        # (not for another period someone browses to: rarely followed by its evidence, and 75 ms of queries).
        evidence_of_the_view(request.app.state.store, person_id, period)
    return render(
        request,
        "me/dashboard.html",
        {
            "person": person_record(con, person_id),
            "opted_out": is_opted_out(con, person_id),
            "periods": periods,
            "period": period,
            "peer_group": peer_group,
            "peer_groups": dash.PEER_GROUP_LABELS,
            "period_types": dash.PERIOD_TYPES,
            "view": view,
            "kudos": dash.kudos_received(con, person_id, 1, 4),
            "kudos_summary": dash.kudos_summary(con, person_id),
            "shine": cached(con, ("where_you_shine", person_id), lambda: where_you_shine(con, person_id)),
            "metric_info": dash.METRICS,
            "advice": advice,
            "advice_url": advice_url,
        },
    )


@router.get("/me/advice", include_in_schema=False)
def advice_panel(request: Request, con: Con, period: PeriodQ = None, peer_group: PeerGroup = "company") -> Response:
    """The dashboard's advice panel (an htmx fragment; a page of its own without htmx)."""
    _, person_id = me(request, con, "advice")
    return cached_response(request, con, "content",
                           lambda: _advice_panel(request, con, person_id, period, peer_group))


def _advice_panel(
    request: Request, con: duckdb.DuckDBPyConnection, person_id: str, period: str | None, peer_group: str
) -> Response:
    label, _ = resolve_period(con, period)
    advice = _advice(request, con, person_id, {"computed": label is not None, "period": {"label": label}}, peer_group)
    ctx = {"advice": advice, "period": label}
    return render(request, "me/_advice.html" if is_htmx(request) else "me/advice.html", ctx)


def _advice(
    request: Request, con: duckdb.DuckDBPyConnection, person_id: str, view: dict[str, Any], peer_group: str,
    wait: bool = True,
) -> Any:
    """Recommendations for the dashboard's period (resonance.advice), or None when not available; with
    `wait=False`, NOT_READY unless they are in the read cache already."""
    if not view.get("computed"):
        return None
    try:
        from resonance.web.routes.review import advice_for
    except ImportError:  # the advice feature is not in this build: the simple tip stays
        return None
    return advice_for(con, person_id, (view.get("period") or {}).get("label"), peer_group, request, wait=wait)


@router.get("/me/evidence", include_in_schema=False)
def evidence_page(
    request: Request,
    con: Con,
    metric: MetricName,
    period: PeriodQ = None,
    page: PageNo = 1,
) -> Response:
    _, person_id = me(request, con, "evidence")
    return cached_response(request, con, "metrics",
                           lambda: _evidence_page(request, con, person_id, metric, period, page))


def _evidence_page(
    request: Request, con: duckdb.DuckDBPyConnection, person_id: str, metric: str, period: str | None, page: int
) -> Response:
    period, _ = resolve_period(con, period)
    computed = True
    try:
        ev = dash.person_evidence(con, person_id, metric, period, page, 20)
    except dash.MetricsNotComputed:
        ev, computed = {"items": [], "total": 0, "page": page, "page_size": 20}, False
    shown = ev.get("period")
    ctx = {
        "metric": metric,
        "info": dash.METRICS[metric],
        "period": period,
        "period_label": shown.get("label") if isinstance(shown, dict) else period,
        "ev": ev,
        "computed": computed,
        "columns": _evidence_columns(ev["items"]),
        "partial": is_htmx(request),
    }
    if is_htmx(request):
        return render(request, "me/_evidence.html", ctx)
    return render(request, "me/evidence.html", ctx)


@router.get("/me/items", include_in_schema=False)
def items_page(request: Request, con: Con, page: PageNo = 1) -> Response:
    _, person_id = me(request, con, "items")
    items = dash.my_items(con, person_id, page, 20)
    for it in items["items"]:
        it["snippet"] = plain_text(it.pop("text"), 200)
    return render(request, "me/items.html", {"items": items})


@router.get("/me/item", include_in_schema=False)
def item_page(request: Request, con: Con, id: Annotated[str, Query(max_length=2000)]) -> Response:
    _, person_id = me(request, con, "item")
    item = dash.item_detail(con, person_id, id)
    if item is None:
        raise HTTPException(404, "This item is not one of yours, or it does not exist.")
    item["html"] = safe_html(item.pop("text"))
    return render(request, "me/item.html", {"item": item})


@router.get("/me/kudos", include_in_schema=False)
def kudos_page(request: Request, con: Con, page: PageNo = 1) -> Response:
    _, person_id = me(request, con, "kudos")
    return cached_response(request, con, "activity", lambda: render(
        request,
        "me/kudos.html",
        {
            "kudos": dash.kudos_received(con, person_id, page, 20),
            "summary": dash.kudos_summary(con, person_id),
        },
    ))


# --- API --------------------------------------------------------------------------
@router.get("/api/me", tags=["me"])
def api_me(request: Request, con: Con, principal: Principal = Depends(require_principal)) -> MeOut:
    """Who you are signed in as, and your person record (admins have none)."""
    account = AccountOut(username=principal.username, role=principal.role, person_id=principal.person_id)
    if principal.role == "admin" or not principal.person_id:
        return MeOut(account=account, person=None, opted_out=False, links={"admin": "/api/admin/sources"})
    _, person_id = me(request, con, "profile")
    return cached_response(request, con, "metrics", lambda: _api_me(con, account, person_id))  # type: ignore[return-value]


def _api_me(con: duckdb.DuckDBPyConnection, account: AccountOut, person_id: str) -> MeOut:
    record = person_record(con, person_id)
    return MeOut(
        account=account,
        person=PersonOut(**{k: record.get(k) for k in PersonOut.model_fields}),
        opted_out=is_opted_out(con, person_id),
        links={
            "metrics": "/api/me/metrics",
            "items": "/api/me/items",
            "kudos": "/api/me/kudos",
            "settings": "/api/me/settings",
            "export": "/api/me/export",
            "rules": "/api/rules",
        },
    )


@router.get("/api/me/periods", tags=["me"])
def api_periods(request: Request, con: Con, _: Principal = Depends(require_principal)) -> list[PeriodOut]:
    """Periods with computed figures, newest first."""
    return cached_response(request, con, "metrics", lambda: [  # type: ignore[return-value]
        PeriodOut(**{k: (str(v) if v is not None else None) for k, v in p.items()})
        for p in dash.available_periods(con)
    ])


@router.get("/api/me/metrics", tags=["me"])
def api_metrics(
    request: Request,
    con: Con,
    period: PeriodQ = None,
    peer_group: PeerGroup = "company",
) -> MetricsOut:
    """Your five metrics with percentiles among peers, 12-period trends and breakdowns; persona,
    top items by knowledge value and reach by department and location."""
    _, person_id = me(request, con, "dashboard")
    return cached_response(  # type: ignore[return-value]
        request, con, "metrics", lambda: _api_metrics(con, person_id, period, peer_group)
    )


def _api_metrics(con: duckdb.DuckDBPyConnection, person_id: str, period: str | None, peer_group: str) -> MetricsOut:
    period, _ = resolve_period(con, period)
    view = metrics_view(con, person_id, period, peer_group)
    opted_out = is_opted_out(con, person_id)
    if not view["computed"]:
        return MetricsOut(
            computed=False,
            peer_group=peer_group,
            opted_out=opted_out,
            message="Your figures have not been computed yet.",
        )
    label = (view["period"] or {}).get("label") or period
    metrics = {
        t["key"]: MetricOut(
            value=t["value"],
            percentiles=t["percentiles"],
            percentile=t["percentile"],
            trend=[TrendPoint(period=p, value=v) for p, v in t["trend"]],
            breakdown=dict(t["breakdown"]),
            evidence=f"/api/me/evidence?metric={t['key']}" + (f"&period={label}" if label else ""),
        )
        for t in view["tiles"]
    }
    p = view["period"] or {}
    return MetricsOut(
        computed=True,
        period=PeriodOut(
            **{k: (str(p[k]) if p.get(k) is not None else None) for k in ("label", "type", "start", "end")}
        )
        if p.get("label")
        else None,
        peer_group=peer_group,
        opted_out=opted_out,
        metrics=metrics,
        persona=PersonaOut(**view["persona"]) if view["persona"] else None,
        top_items=[
            TopItemOut(
                **{
                    k: (str(v) if k == "created" and v is not None else v)
                    for k, v in it.items()
                    if k in TopItemOut.model_fields
                }
            )
            for it in view["top_items"]
        ],
        reach_by_department=[ReachRow(name=n, value=v) for n, v in view["reach_department"]],
        reach_by_location=[ReachRow(name=n, value=v) for n, v in view["reach_location"]],
        network_detail=dash._jsonable(view["network_detail"]) if view["network_detail"] is not None else None,
        next_step=view["next_step"],
    )


@router.get("/api/me/evidence", tags=["me"])
def api_evidence(
    request: Request,
    con: Con,
    metric: MetricName,
    period: PeriodQ = None,
    page: PageNo = 1,
    page_size: PageSize = 50,
) -> EvidencePage:
    """The items and events behind one of your figures, paged."""
    _, person_id = me(request, con, "evidence")
    return cached_response(  # type: ignore[return-value]
        request, con, "metrics", lambda: _api_evidence(con, person_id, metric, period, page, page_size)
    )


def _api_evidence(
    con: duckdb.DuckDBPyConnection, person_id: str, metric: str, period: str | None, page: int, page_size: int
) -> EvidencePage:
    period, _ = resolve_period(con, period)
    try:
        ev = dash.person_evidence(con, person_id, metric, period, page, page_size)
    except dash.MetricsNotComputed:
        ev = {"items": [], "total": 0}
    return EvidencePage(
        items=ev["items"],
        total=int(ev.get("total") or 0),
        page=page,
        page_size=page_size,
        metric=metric,
        period=period,
    )


@router.get("/api/me/items", tags=["me"])
def api_items(request: Request, con: Con, page: PageNo = 1, page_size: PageSize = 50) -> Page[ItemOut]:
    """What you shared, with how colleagues reacted, most reacted first."""
    _, person_id = me(request, con, "items")
    items = dash.my_items(con, person_id, page, page_size)
    rows = [
        ItemOut(
            **{**{k: v for k, v in it.items() if k != "text"}, "snippet": plain_text(it.get("text"), 200)}
        )
        for it in items["items"]
    ]
    return Page[ItemOut](items=rows, total=items["total"], page=page, page_size=page_size)


@router.get("/api/me/item", tags=["me"])
def api_item(request: Request, con: Con, item_id: Annotated[str, Query(max_length=2000)]) -> ItemDetailOut:
    """One of your items: its sanitized body and the reactions to it."""
    _, person_id = me(request, con, "item")
    item = dash.item_detail(con, person_id, item_id)
    if item is None:
        raise HTTPException(404, "This item is not one of yours, or it does not exist.")
    item["html"] = str(safe_html(item.pop("text")))
    item.pop("source", None)
    return ItemDetailOut(**item)


@router.get("/api/me/kudos", tags=["me"])
def api_kudos(request: Request, con: Con, page: PageNo = 1, page_size: PageSize = 50) -> Page[KudosOut]:
    """Kudos you received, newest first, with who gave them and their business context."""
    _, person_id = me(request, con, "kudos")

    def build() -> Page[KudosOut]:
        kudos = dash.kudos_received(con, person_id, page, page_size)
        return Page[KudosOut](
            items=[KudosOut(**k) for k in kudos["items"]], total=kudos["total"], page=page, page_size=page_size
        )

    return cached_response(request, con, "activity", build)  # type: ignore[return-value]


# --- helpers ----------------------------------------------------------------------
PREFERRED_COLUMNS = (
    "time", "created", "kind", "title", "reactor", "endorser", "partner", "department", "location", "organization",
    "interactions", "reactions", "reuse", "points", "weight", "value", "damped", "counted_share",
)


def _evidence_columns(items: list[dict[str, Any]]) -> list[str]:
    """Columns to show for evidence records of whatever shape the engine returns."""
    seen: list[str] = []
    for item in items[:50]:
        for key in item:
            if key not in seen:
                seen.append(key)
    hidden = {"text", "extra", "raw", "url", "kinds", "endorser_eminence", "external"}
    ordered = [c for c in PREFERRED_COLUMNS if c in seen]
    ordered += [c for c in seen if c not in ordered and c not in hidden and not c.endswith("_id")]
    return ordered[:7]
