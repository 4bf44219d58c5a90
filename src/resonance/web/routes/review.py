"""My review (the social performance review) and sharing it with my manager; advice on my dashboard.

- `/me/review`: the review of a period, downloads (HTML, PDF), share with my manager, revoke.
- `/shared/review/{token}`: the review as my manager sees it (signed in; every view logged).
- `/api/me/advice`: ranked recommendations with what each would change.
Everything personal passes `require_individual_access` (only the person, logged); a shared review
passes `require_shared_review_access` (only the recipient, not revoked, logged). See docs/review.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import duckdb
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, Field

from resonance.advice import recommend
from resonance.metrics.periods import PeriodError
from resonance.metrics.report import MetricsNotComputed, PersonNotFound
from resonance.privacy.guard import PERSONAL_ROLES
from resonance.review.render import PdfUnavailable, render_html, render_pdf
from resonance.review.report import review_data
from resonance.review.sharing import ShareError, create_share, list_shares, open_share, revoke_share, shared_with
from resonance.web import dashboard as dash
from resonance.web.cache import READS, cached, shared_reads
from resonance.web.deps import current_principal, get_con, require_principal
from resonance.web.nav import NavItem, register
from resonance.web.routes.me import me
from resonance.web.templating import render

router = APIRouter()
register(NavItem("My review", "/me/review", PERSONAL_ROLES, 35))

Con = Annotated[duckdb.DuckDBPyConnection, Depends(get_con)]
PeriodQ = Annotated[
    str | None,
    Query(max_length=40, description="Period label (`2026-H2`, `2026-Q3`, `2026-10`); empty = the latest month."),
]
PeerQ = Annotated[Literal["role", "department", "location", "company"], Query(description="Compare with.")]


class AdviceEffect(BaseModel):
    metric: str
    label: str
    value: float
    new_value: float
    delta: float
    percentile: float
    new_percentile: float
    gain: float
    peers: dict[str, Any]


class AdviceOut(BaseModel):
    kind: str
    title: str
    text: str
    link: str | None
    evidence: list[dict[str, Any]]
    effect: AdviceEffect
    effects: list[AdviceEffect]
    assumption: str
    gain: float


class AdviceListOut(BaseModel):
    person_id: str
    period: dict[str, str]
    peers: dict[str, Any]
    advice: list[AdviceOut]


class ShareIn(BaseModel):
    period: str = Field(max_length=40, description="The period of the review to share.")


class ShareOut(BaseModel):
    share_id: int
    period: str
    recipient_id: str
    recipient_name: str | None = None
    person_name: str | None = None
    created_at: str
    expires_at: str
    revoked_at: str | None = None
    active: bool
    views: int
    url: str | None = Field(None, description="The link (only in the answer that created it).")


def _share_out(s: dict[str, Any], url: str | None = None) -> ShareOut:
    return ShareOut(
        share_id=int(s["share_id"]),
        period=s["period"],
        recipient_id=s["recipient_id"],
        recipient_name=s.get("recipient_name"),
        person_name=s.get("person_name"),
        created_at=str(s["created_at"]),
        expires_at=str(s["expires_at"]),
        revoked_at=str(s["revoked_at"]) if s["revoked_at"] else None,
        active=bool(s["active"]),
        views=int(s["views"]),
        url=url,
    )


def _review(con: duckdb.DuckDBPyConnection, person_id: str, period: str | None) -> dict[str, Any]:
    try:
        return review_data(con, person_id, period)
    except (MetricsNotComputed, PeriodError, PersonNotFound) as exc:
        raise HTTPException(404, str(exc)) from exc


def advice_for(
    con: duckdb.DuckDBPyConnection, person_id: str, period: str | None, peer_group: str, request: Request | None = None,
    wait: bool = True,
) -> Any:
    """The dashboard's advice (None when the figures are not computed). With `wait=False`, only advice
    already in the read cache, else `NOT_READY` (the dashboard then loads it after the page)."""
    topics = _expertise_topics(request, con, person_id)
    group = "role" if peer_group == "company" else peer_group

    def compute() -> dict | None:
        try:
            return recommend(con, person_id, period, group, topics=topics, memo=shared_reads(con, "content"))
        except (MetricsNotComputed, PeriodError, PersonNotFound):
            return None

    # Cached per store version (resonance.web.cache): the dashboard asks for it on every view.
    key = ("advice", person_id, period, group, tuple(topics or ()))
    return cached(con, key, compute, "content") if wait else READS.peek(con, key, "content")


def _expertise_topics(request: Request | None, con: duckdb.DuckDBPyConnection, person_id: str) -> list[str] | None:
    """The person's expertise tags from the knowledge module, when its cache is already warm (never waits)."""
    cache = getattr(request.app.state, "knowledge_cache", None) if request is not None else None
    if cache is None:
        return None
    try:
        from resonance.knowledge.expertise import expertise_profile

        if not cache.is_ready(con):
            return None
        profile = cache.per_person(
            con, "expertise:10", person_id, lambda: expertise_profile(con, person_id, index=cache.index(con), top=10)
        )
        return [t["tag"] for t in profile.get("tags", [])][:5]
    except Exception:  # advice works from the tags of what the person shared
        return None


# --- advice -------------------------------------------------------------------------------
@router.get("/api/me/advice", tags=["me"])
def api_advice(request: Request, con: Con, period: PeriodQ = None, peer_group: PeerQ = "role") -> AdviceListOut:
    """What you could do next, ranked: each with its evidence, a link to act, and where it would move
    your percentile among your real peers (the change simulated through the same rules)."""
    _, person_id = me(request, con, "advice")
    try:
        result = recommend(con, person_id, period, peer_group, topics=_expertise_topics(request, con, person_id),
                           memo=shared_reads(con, "content"))
    except (MetricsNotComputed, PeriodError, PersonNotFound) as exc:
        raise HTTPException(404, str(exc)) from exc
    return AdviceListOut(**dash._jsonable(result))


# --- my review ------------------------------------------------------------------------------
@router.get("/me/review", include_in_schema=False)
def review_page(request: Request, con: Con, period: PeriodQ = None, created: str | None = None) -> Response:
    principal, person_id = me(request, con, "review")
    periods = [p for p in dash.available_periods(con) if p["type"] in ("half", "quarter", "month")]
    ctx: dict[str, Any] = {
        "periods": periods,
        "period": period or "",
        "shares": list_shares(con, person_id),
        "inbox": shared_with(con, person_id),
        "created": created,
    }
    try:
        data = review_data(con, person_id, period)
        ctx["review"] = Markup(render_html(data, standalone=False))
        ctx["label"] = data["period"]["label"]
    except (MetricsNotComputed, PeriodError, PersonNotFound) as exc:
        ctx["review"], ctx["message"] = None, str(exc)
    manager = con.execute(
        "SELECT m.display_name FROM people p JOIN people m ON m.person_id = p.manager_id WHERE p.person_id = ?",
        [person_id],
    ).fetchall()
    ctx["manager"] = manager[0][0] if manager else None
    return render(request, "review/page.html", ctx)


@router.get(
    "/api/me/review/report",
    tags=["me"],
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def api_review_report(
    request: Request,
    con: Con,
    period: PeriodQ = None,
    format: Annotated[Literal["html", "pdf"], Query(description="html or pdf.")] = "html",  # noqa: A002
) -> Response:
    """Your review of a period as a file: self-contained HTML or PDF."""
    _, person_id = me(request, con, "review")
    data = _review(con, person_id, period)
    name = f"resonance-review-{data['period']['label'].replace(':', '-')}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "pdf":
        try:
            return Response(render_pdf(data), media_type="application/pdf", headers=headers)
        except PdfUnavailable as exc:
            raise HTTPException(501, str(exc)) from exc
    return Response(render_html(data), media_type="text/html; charset=utf-8", headers=headers)


@router.get("/api/me/review", tags=["me"])
def api_review(request: Request, con: Con, period: PeriodQ = None) -> dict[str, Any]:
    """Your review of a period as JSON: figures, contribution, reaction and reuse, kudos, network, influence."""
    _, person_id = me(request, con, "review")
    return dash._jsonable(_review(con, person_id, period))


@router.get("/api/me/review/shares", tags=["me"])
def api_shares(request: Request, con: Con) -> list[ShareOut]:
    """Your review links, newest first, with how often each was viewed."""
    _, person_id = me(request, con, "review shares")
    return [_share_out(s) for s in list_shares(con, person_id)]


@router.post("/api/me/review/shares", tags=["me"], status_code=201)
def api_create_share(request: Request, con: Con, body: ShareIn) -> ShareOut:
    """Share your review of a period with your manager: a link only they can open, signed in."""
    principal, _ = me(request, con, "review shares")
    try:
        share = create_share(con, principal, body.period, via="api")
    except (MetricsNotComputed, PeriodError) as exc:
        raise HTTPException(404, str(exc)) from exc
    except ShareError as exc:
        raise HTTPException(409, str(exc)) from exc
    return _share_out(share, url=str(request.base_url).rstrip("/") + share["path"])


@router.delete("/api/me/review/shares/{share_id}", tags=["me"])
def api_revoke_share(request: Request, con: Con, share_id: int) -> ShareOut:
    """Revoke one of your links: your manager can no longer open it."""
    principal, person_id = me(request, con, "review shares")
    try:
        revoke_share(con, principal, share_id, via="api")
        return _share_out(next(s for s in list_shares(con, person_id) if s["share_id"] == share_id))
    except ShareError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.post("/me/review/share", include_in_schema=False)
def share_form(request: Request, con: Con, period: Annotated[str, Form(max_length=40)]) -> Response:
    principal, _ = me(request, con, "review shares")
    try:
        share = create_share(con, principal, period, via="web")
    except (MetricsNotComputed, PeriodError, ShareError) as exc:
        raise HTTPException(409, str(exc)) from exc
    url = str(request.base_url).rstrip("/") + share["path"]
    return RedirectResponse(f"/me/review?period={share['period']}&created={url}", status_code=303)


@router.post("/me/review/shares/{share_id}/revoke", include_in_schema=False)
def revoke_form(request: Request, con: Con, share_id: int) -> Response:
    principal, _ = me(request, con, "review shares")
    try:
        revoke_share(con, principal, share_id, via="web")
    except ShareError as exc:
        raise HTTPException(404, str(exc)) from exc
    return RedirectResponse("/me/review", status_code=303)


# --- shared with me -------------------------------------------------------------------------
@router.get("/api/shared/reviews", tags=["shared"])
def api_shared_with_me(request: Request, con: Con) -> list[ShareOut]:
    """Reviews your reports shared with you (active links only; open them in the web app)."""
    principal = require_principal(request)
    if not principal.person_id or principal.role not in PERSONAL_ROLES:
        return []
    return [_share_out(s) for s in shared_with(con, principal.person_id)]


@router.get("/shared/review/{token}", include_in_schema=False)
def shared_review_page(request: Request, con: Con, token: str) -> Response:
    share = open_share(con, current_principal(request), token[:200], endpoint=request.url.path)
    data = _review(con, share["person_id"], share["period"])
    return render(
        request, "review/shared.html", {"share": share, "review": Markup(render_html(data, standalone=False))}
    )
