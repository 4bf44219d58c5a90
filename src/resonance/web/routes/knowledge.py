"""Knowledge and network value on the web: expert finding, and the dashboard's
"Your expertise", "Opportunities to help" and "Business influence" panels.

- `/api/experts?q=...` and the `/experts` page: any signed-in employee (not admins, who read no
  individual data). Only people who turned on "Suggest me as an expert" are suggested, and
  nobody who opted out of analytics appears anywhere (not even on a path). Results are
  personalised for the asker (close colleagues first among equals, with the path).
- `/api/me/expertise`, `/api/me/opportunities`, `/api/me/influence`, `/api/me/introductions`
  and their dashboard panels: the signed-in person's own data only, through the privacy guard
  (which refuses everyone else and writes the access log). No endpoint takes a person id.

The index, the person graph and deal credit are cached per data version (knowledge/cache.py).
"""

from __future__ import annotations

import copy
import logging
from datetime import date
from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from resonance.knowledge.cache import KnowledgeCache
from resonance.knowledge.demand import opportunities_to_help
from resonance.knowledge.expertise import expertise_profile
from resonance.knowledge.experts import Question, find_experts
from resonance.knowledge.introductions import introduction_paths
from resonance.knowledge.outcomes import business_influence
from resonance.knowledge.people import NotFound
from resonance.privacy.consent import PURPOSES, opted_out_people
from resonance.privacy.guard import HIDDEN_NAME, AccessDenied, require_individual_access
from resonance.web.cache import dont_cache_response
from resonance.web.deps import current_principal, get_con
from resonance.web.schemas import UtcDateTime
from resonance.web.templating import render, templates

log = logging.getLogger(__name__)

router = APIRouter()
Con = Annotated[duckdb.DuckDBPyConnection, Depends(get_con)]
EXPERT_FINDING = "expert_finding"
PANEL_WAIT_S = 3.0


def _cache(request: Request) -> KnowledgeCache:
    state = request.app.state
    if not hasattr(state, "knowledge_cache"):
        state.knowledge_cache = KnowledgeCache()
    return state.knowledge_cache


def _me(request: Request, con: duckdb.DuckDBPyConnection, purpose: str) -> str:
    """The signed-in person, after the guard allowed (and logged) reading their own data."""
    principal = current_principal(request)
    subject = principal.person_id if principal and principal.person_id else ""
    require_individual_access(con, principal, subject, endpoint=request.url.path, purpose=purpose,
                              method=request.method)
    return subject


# --- response models (the OpenAPI schema) ----------------------------------------------
class PathStep(BaseModel):
    person: str | None = None
    display_name: str | None = None


class ExpertOut(BaseModel):
    person: str
    display_name: str | None = None
    department: str | None = None
    identities: list[str] = Field(default_factory=list)
    score: float
    rank: int
    why: str
    matched_tags: list[str] = Field(default_factory=list)
    terms: list[str] = Field(default_factory=list)
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    distance: int | None = Field(None, description="Hops from you in the person graph (None: not connected).")
    path: list[PathStep] | None = Field(None, description="Who can introduce you, from you to the expert.")


class ExpertsOut(BaseModel):
    question: str
    tags: list[str]
    as_of: UtcDateTime
    experts: list[ExpertOut]
    not_suggested: int = Field(description="Good matches left out because they have not turned on "
                                           "“Suggest me as an expert” (or opted out of analytics).")


class TagExpertise(BaseModel):
    tag: str
    score: float
    rank: int
    of: int
    items: int
    accepted: int
    votes: int
    reuse: int
    kudos: int
    evidence: list[dict[str, Any]]


class TermExpertise(BaseModel):
    term: str
    score: float
    evidence: list[dict[str, Any]]


class ExpertiseOut(BaseModel):
    person_id: str
    as_of: UtcDateTime
    contributions: int
    by_kind: dict[str, int]
    valued: dict[str, int]
    tags: list[TagExpertise]
    terms: list[TermExpertise]
    method: str
    suggested_as_expert: bool = Field(description="Whether you turned on “Suggest me as an expert”.")


class HelpOpportunity(BaseModel):
    kind: str = Field(description="question | opportunity | meeting")
    id: str
    title: str | None = None
    score: float
    why: str
    when: str
    action: str
    evidence: list[dict[str, Any]]
    facts: dict[str, Any]


class OpportunitiesOut(BaseModel):
    person_id: str
    as_of: UtcDateTime
    policy: dict[str, Any]
    contacts: dict[str, int]
    opportunities: list[HelpOpportunity]
    total: int


class InfluenceDeal(BaseModel):
    opportunity_id: str
    opportunity: str | None = None
    account: str | None = None
    amount: float | None = None
    close_date: date | None = None
    how: list[str]
    share: float
    attributed: float
    evidence: list[dict[str, Any]]
    evidence_total: int


class InfluenceOut(BaseModel):
    person_id: str
    as_of: UtcDateTime
    deals: list[InfluenceDeal]
    summary: dict[str, Any]
    method: str


class IntroductionsOut(BaseModel):
    to: dict[str, Any]
    as_of: UtcDateTime
    found: bool
    reachable_contacts: int
    paths: list[dict[str, Any]]


# --- operations shared by the API and the pages ------------------------------------------
def _suggestable(con: duckdb.DuckDBPyConnection, persons: list[str]) -> set[str]:
    """Who may be suggested as an expert: opted in to expert finding, not opted out of analytics."""
    if not persons:
        return set()
    default = PURPOSES[EXPERT_FINDING].default
    rows = con.execute(
        """SELECT p.person_id FROM (SELECT unnest(?) AS person_id) p
           LEFT JOIN consent c ON c.person_id = p.person_id AND c.purpose = ?
           WHERE coalesce(c.granted, ?)""",
        [persons, EXPERT_FINDING, default],
    ).fetchall()
    return {r[0] for r in rows} - opted_out_people(con)


def experts_view(request: Request, con: duckdb.DuckDBPyConnection, q: str, tags: str | None, top: int,
                 asker: str) -> dict[str, Any]:
    cache = _cache(request)
    index = cache.index(con)
    question = Question(text=q, tags=[t for t in (tags or "").split(",") if t.strip()], asker=asker)
    # Ask for more than shown: people who did not opt in are left out afterwards.
    ranked = find_experts(con, [question], top=top * 4 + 10, index=index, personalise_for=asker,
                          graph=cache.graph(con))[0]
    allowed = _suggestable(con, [e["person"] for e in ranked])
    hidden = opted_out_people(con) - {asker}
    shown = [e for e in ranked if e["person"] in allowed][:top]
    for rank, e in enumerate(shown, 1):
        e["rank"] = rank
        if e.get("path") and any(step["person"] in hidden for step in e["path"]):
            e["path"], e["distance"] = None, None  # never reveal someone who opted out, not even as a hop
    return {"question": q, "tags": question.tags, "as_of": index.corpus.as_of, "experts": shown,
            "not_suggested": sum(1 for e in ranked[:top] if e["person"] not in allowed)}


def opportunities_view(request: Request, con: duckdb.DuckDBPyConnection, person_id: str, top: int) -> dict:
    cache = _cache(request)
    result = copy.deepcopy(cache.per_person(con, f"opportunities:{top}", person_id, lambda: opportunities_to_help(
        con, person_id, index=cache.index(con), graph=cache.graph(con), top=top)))
    hidden = opted_out_people(con) - {person_id}
    for o in result["opportunities"]:
        facts = o["facts"]
        if facts.get("owner") in hidden:  # never name a colleague who opted out
            o["why"] = o["why"].replace(facts.get("owner_name") or "", HIDDEN_NAME)
            facts["owner"], facts["owner_name"] = None, HIDDEN_NAME
        if facts.get("asker") in hidden:
            o["why"] = o["why"].replace(facts.get("asker_name") or "", HIDDEN_NAME, 1)
            facts["asker"], facts["asker_name"] = None, HIDDEN_NAME
        if facts.get("team"):
            facts["team"] = [p for p in facts["team"] if p not in hidden]
    return result


def influence_view(request: Request, con: duckdb.DuckDBPyConnection, person_id: str) -> dict:
    cache = _cache(request)
    result = copy.deepcopy(cache.per_person(con, "influence", person_id, lambda: business_influence(
        con, person_id, evidence=cache.credit(con))))
    hidden = opted_out_people(con) - {person_id}
    for deal in result["deals"]:
        for ev in deal["evidence"]:
            if ev.get("other") in hidden:
                ev["other"], ev["text"] = None, f"{ev['how']}: {HIDDEN_NAME}"
    return result


def expertise_view(request: Request, con: duckdb.DuckDBPyConnection, person_id: str, top: int) -> dict:
    cache = _cache(request)
    profile = copy.deepcopy(cache.per_person(con, f"expertise:{top}", person_id, lambda: expertise_profile(
        con, person_id, index=cache.index(con), top=top)))
    profile["suggested_as_expert"] = person_id in _suggestable(con, [person_id])
    return profile


def knowledge_panels(request: Request) -> dict[str, Any]:
    """The dashboard's knowledge panels, rendered with the page (a Jinja global the dashboard's
    include calls): no extra requests, works without JavaScript. Goes through the guard like the API;
    a failure shows in the panels, never breaks the dashboard."""
    con = request.app.state.store.cursor()
    try:
        person_id = _me(request, con, "dashboard knowledge panels")
        cache = _cache(request)
        # After an ingest the first build takes seconds on a large company: the dashboard does not wait
        # for it beyond a moment; the panels say they are being prepared and show on the next visit.
        if not cache.is_ready(con) and not cache.warm(request.app.state.store.cursor, wait=PANEL_WAIT_S):
            dont_cache_response()  # the next view must show the panels, not this placeholder
            return {"preparing": True}
        return {
            "expertise": expertise_view(request, con, person_id, 6),
            "opportunities": opportunities_view(request, con, person_id, 6),
            "influence": influence_view(request, con, person_id),
        }
    except AccessDenied:
        raise
    except Exception:  # noqa: BLE001 - the rest of the dashboard must still show
        log.exception("knowledge panels failed")
        dont_cache_response()
        return {"error": "These panels could not be computed just now."}
    finally:
        con.close()


templates.env.globals["knowledge_panels"] = knowledge_panels


# --- API -----------------------------------------------------------------------------------
@router.get("/api/experts", tags=["knowledge"])
def api_experts(
    request: Request,
    con: Con,
    q: Annotated[str, Query(min_length=1, max_length=4000, description="The question.")],
    tags: Annotated[str | None, Query(max_length=500, description="Tags, comma-separated.")] = None,
    top: Annotated[int, Query(ge=1, le=50)] = 10,
) -> ExpertsOut:
    """Who can answer this question: ranked by content match x how others valued their contributions x
    recency, close colleagues first among equals, each with why, the evidence and the path to reach them.
    Only people who turned on "Suggest me as an expert" are suggested."""
    asker = _me(request, con, "expert_finding")
    return ExpertsOut(**experts_view(request, con, q, tags, top, asker))


@router.get("/api/me/expertise", tags=["me"])
def api_expertise(request: Request, con: Con, top: Annotated[int, Query(ge=1, le=50)] = 10) -> ExpertiseOut:
    """Your expertise: tags and terms from what you wrote and what others valued, each with its evidence."""
    person_id = _me(request, con, "expertise")
    return ExpertiseOut(**expertise_view(request, con, person_id, top))


@router.get("/api/me/opportunities", tags=["me"])
def api_opportunities(request: Request, con: Con, top: Annotated[int, Query(ge=1, le=100)] = 20) -> OpportunitiesOut:
    """Opportunities to help, ranked, with why and when: open questions in your areas, open deals at
    customers you know, upcoming customer meetings with your contacts (only what you may already see)."""
    person_id = _me(request, con, "opportunities")
    return OpportunitiesOut(**opportunities_view(request, con, person_id, top))


@router.get("/api/me/influence", tags=["me"])
def api_influence(request: Request, con: Con) -> InfluenceOut:
    """Your business influence: won deals you helped (content the deal team used, introductions, kudos
    with the deal as context), your share, and the evidence. Method: docs/metrics.md, Business influence."""
    person_id = _me(request, con, "influence")
    return InfluenceOut(**influence_view(request, con, person_id))


@router.get("/api/me/introductions", tags=["me"])
def api_introductions(
    request: Request, con: Con,
    to: Annotated[str, Query(min_length=1, max_length=300, description="A contact (e-mail, name) or an account.")],
) -> IntroductionsOut:
    """Warm introductions: the shortest trusted paths from you to a contact or an account."""
    person_id = _me(request, con, "introductions")
    try:
        result = introduction_paths(con, person_id, to, graph=_cache(request).graph(con))
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    hidden = opted_out_people(con) - {person_id}
    result["paths"] = [p for p in result["paths"] if not any(s["person"] in hidden for s in p["steps"])]
    result["found"] = bool(result["paths"])
    return IntroductionsOut(**result)


# --- pages and dashboard panels ---------------------------------------------------------------
@router.get("/experts", include_in_schema=False)
def experts_page(
    request: Request, con: Con,
    q: Annotated[str | None, Query(max_length=4000)] = None,
    tags: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    asker = _me(request, con, "expert_finding")  # employees, managers, analysts; never admins
    view = experts_view(request, con, q, tags, 10, asker) if q and q.strip() else None
    return render(request, "knowledge/experts.html", {"q": q or "", "tags": tags or "", "view": view})


@router.get("/me/panels/expertise", include_in_schema=False)
def expertise_panel(request: Request, con: Con) -> Response:
    person_id = _me(request, con, "expertise")
    return render(request, "knowledge/_expertise.html", {"profile": expertise_view(request, con, person_id, 6)})


@router.get("/me/panels/opportunities", include_in_schema=False)
def opportunities_panel(request: Request, con: Con) -> Response:
    person_id = _me(request, con, "opportunities")
    return render(request, "knowledge/_opportunities.html", {"result": opportunities_view(request, con, person_id, 6)})


@router.get("/me/panels/influence", include_in_schema=False)
def influence_panel(request: Request, con: Con) -> Response:
    person_id = _me(request, con, "influence")
    return render(request, "knowledge/_influence.html", {"result": influence_view(request, con, person_id)})
