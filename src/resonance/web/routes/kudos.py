"""Kudos and helpfulness votes on the web: pages, JSON API, one-click links, chat endpoints, widget.

Every write goes through `resonance.kudos.operations` (the same as the CLI). Who gives is
always the signed-in person (or the giver a signed link is bound to, or the chat user a
verified Slack request names): no endpoint takes a giver from the request.

- Pages: `/kudos` (thank a colleague: search, your meetings, what you gave), a colleague's
  card, a meeting, an item (thank, vote useful / not useful), `/me/shine`.
- API: `POST /api/kudos`, `GET /api/kudos/given`, `GET /api/kudos/links?meeting=ID`
  (the organiser only), `POST /api/items/{item_id}/vote`.
- `/k/<token>`: a signed one-click link (no sign-in, no JavaScript).
- `/api/integrations/slack/kudos` and `/api/integrations/mattermost/kudos`.
- `/kudos/widget`: an iframe a business app places next to a person's name; the only page
  that may be framed, by the origins in `Settings.widget_frame_ancestors`.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import anyio
import duckdb
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from resonance.kudos import directory
from resonance.kudos.context import PersonRef, resolve_person
from resonance.kudos.insights import where_you_shine
from resonance.kudos.links import LinkError, link_key, meeting_links, verify_link
from resonance.kudos.operations import KudosResult, budget_left, give_kudos, item_votes, list_kudos, utcnow, vote
from resonance.kudos.rules import KudosError, KudosRules, kudos_rules
from resonance.kudos.slack import (
    SignatureError,
    handle_chat,
    mattermost_givers,
    mattermost_text,
    slack_givers,
    verify_slack,
    verify_token,
)
from resonance.privacy.guard import AccessDenied, NotAuthenticated, Principal
from resonance.web.cache import cached
from resonance.web.deps import current_principal, get_con, require_principal
from resonance.web.nav import PERSONAL, NavItem, register
from resonance.web.problems import TYPE_PREFIX, error_response
from resonance.web.routes.me import me
from resonance.web.sanitize import plain_text
from resonance.web.schemas import UtcDateTime
from resonance.web.templating import is_htmx, render

router = APIRouter()
register(NavItem("Thank someone", "/kudos", PERSONAL, 35))

Con = Annotated[duckdb.DuckDBPyConnection, Depends(get_con)]
Ref = Annotated[str, Query(min_length=1, max_length=2000)]
_key_lock = threading.Lock()


# --- models -----------------------------------------------------------------------
class KudosIn(BaseModel):
    """A thank-you from you. The receiver: an e-mail address, an identity key (`hr:E042`,
    `slack:U123`) or a handle. Context parts are optional and checked against the store."""

    receiver: str = Field(min_length=1, max_length=500)
    meeting: str | None = Field(None, max_length=2000, description="Meeting (calendar item) id.")
    account: str | None = Field(None, max_length=2000, description="Customer account id or exact name.")
    opportunity: str | None = Field(None, max_length=2000, description="CRM opportunity id.")
    item: str | None = Field(None, max_length=2000, description="Item id (a post, an answer, ...).")
    message: str | None = Field(None, max_length=5000)
    values: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=20, description="Company value tags (see `kudos.values` in /api/rules)."
    )


class KudosOut(BaseModel):
    kudos_id: str
    created: bool = Field(description="False when the same giver, receiver and context was already thanked.")
    giver_id: str
    giver_name: str | None = None
    receiver_id: str
    receiver_name: str | None = None
    meeting: str | None = None
    meeting_title: str | None = None
    account: str | None = None
    account_name: str | None = None
    opportunity: str | None = None
    opportunity_name: str | None = None
    item: str | None = None
    item_title: str | None = None
    message: str | None = None
    values: list[str] = Field(default_factory=list)
    channel: str
    given_at: UtcDateTime


class KudosPage(BaseModel):
    items: list[KudosOut]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)
    budget: int
    budget_period: str
    budget_left: int | None = Field(None, description="Kudos you may still give this period (null: no budget).")


class LinkOut(BaseModel):
    receiver_id: str
    name: str | None = None
    email: str | None = None
    role: str
    url: str


class MeetingLinksOut(BaseModel):
    meeting: str
    title: str | None = None
    account: str | None = None
    account_name: str | None = None
    giver_id: str
    giver_name: str | None = None
    expires: UtcDateTime
    links: list[LinkOut]


class VoteIn(BaseModel):
    value: Literal[1, -1, 0] = Field(description="+1 useful, -1 not useful, 0 withdraw your vote.")


class VoteOut(BaseModel):
    item_id: str
    value: int
    previous: int | None = None
    changed: bool
    useful: int = Field(ge=0)
    not_useful: int = Field(ge=0)


# --- helpers ----------------------------------------------------------------------
def rules_of(request: Request) -> KudosRules:
    return kudos_rules(request.app.state.settings.rules_path)


def signing_key(request: Request, con: duckdb.DuckDBPyConnection) -> bytes:
    state = request.app.state
    key = getattr(state, "kudos_link_key", None)
    if key is None:
        with _key_lock:
            key = getattr(state, "kudos_link_key", None) or link_key(con, state.settings.secret_key)
            state.kudos_link_key = key
    return key


def base_url(request: Request) -> str:
    configured = request.app.state.settings.base_url
    return (configured or str(request.base_url)).rstrip("/")


def giver_of(request: Request, con: duckdb.DuckDBPyConnection) -> tuple[Principal, PersonRef]:
    """The signed-in person, who gives (admins and accounts without a person cannot)."""
    principal = current_principal(request)
    if principal is None:
        raise NotAuthenticated("Sign in to give kudos (session cookie or `Authorization: Bearer` API token).")
    if principal.role == "admin":
        raise AccessDenied("Admin accounts belong to no person, so they cannot give kudos or vote.")
    if not principal.person_id:
        raise AccessDenied("This account is not linked to a person, so it cannot give kudos.")
    try:
        return principal, resolve_person(con, principal.person_id, "giver")
    except KudosError as exc:
        raise AccessDenied(f"Your account cannot give kudos: {exc}") from None


def kudos_problem(request: Request, exc: KudosError) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return error_response(
        request, exc.status, str(exc), title="Kudos not recorded", type_=TYPE_PREFIX + "kudos-" + exc.code,
        headers=headers,
    )


def kudos_out(result: KudosResult) -> KudosOut:
    k = result.kudos
    return KudosOut(**{**k, "created": result.created})


def _form_list(form: Any, name: str) -> list[str]:
    return [str(v) for v in form.getlist(name)] if hasattr(form, "getlist") else []


def _optional(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


# --- API --------------------------------------------------------------------------
@router.post(
    "/api/kudos",
    tags=["kudos"],
    status_code=201,
    response_model=KudosOut,
    responses={200: {"model": KudosOut, "description": "Already given: the stored kudos, unchanged."}},
)
def api_give(request: Request, con: Con, body: KudosIn) -> Response:
    """Thank a colleague, with an optional context (meeting, customer, deal, item), message and value tags.

    201 when recorded; 200 with the stored kudos when you already thanked this person for this
    context (the same giver, receiver and context count once); 404 for an unknown person or context,
    409 against the kudos rules (see `kudos` in /api/rules), 429 over your budget or rate."""
    principal, giver = giver_of(request, con)
    try:
        result = give_kudos(
            con, giver, body.receiver, rules_of(request), meeting=body.meeting, account=body.account,
            opportunity=body.opportunity, item=body.item, message=body.message, values=body.values,
            channel="api" if principal.via == "token" else "web", actor=principal.username,
        )
    except KudosError as exc:
        return kudos_problem(request, exc)
    return JSONResponse(kudos_out(result).model_dump(mode="json"), status_code=201 if result.created else 200)


@router.get("/api/kudos/given", tags=["kudos"])
def api_given(
    request: Request,
    con: Con,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
) -> KudosPage:
    """Kudos you gave through Resonance, newest first, and what is left of your budget."""
    _, giver = giver_of(request, con)
    rules = rules_of(request)
    found = list_kudos(con, giver_id=giver.person_id, limit=page_size, offset=(page - 1) * page_size)
    budget = budget_left(con, giver.person_id, rules)
    return KudosPage(
        items=[KudosOut(**k, created=False) for k in found["items"]],
        total=found["total"], page=page, page_size=page_size,
        budget=rules.budget, budget_period=rules.budget_period, budget_left=budget["left"],
    )


# Sign-in is checked before the query is validated: an anonymous caller learns nothing, not even the parameters.
@router.get("/api/kudos/links", tags=["kudos"], dependencies=[Depends(require_principal)])
def api_links(request: Request, con: Con, meeting: Ref) -> MeetingLinksOut:
    """One signed one-click link per colleague on a meeting you organised, to paste in a follow-up
    e-mail or a CRM record. Each link thanks one person once, without sign-in, until it expires."""
    _, giver = giver_of(request, con)
    card = directory.meeting_card(con, meeting, giver.person_id)
    if card is None:
        raise HTTPException(404, "No such meeting among yours.")
    if card["viewer_role"] != "organizer":
        raise AccessDenied("Only the meeting's organiser gets its one-click kudos links.")
    try:
        links = meeting_links(con, signing_key(request, con), card["meeting"], base_url(request),
                              rules_of(request), giver_id=giver.person_id)
    except KudosError as exc:
        return kudos_problem(request, exc)
    links["expires"] = datetime.fromtimestamp(links["expires"], UTC)
    return MeetingLinksOut(**links)


@router.post("/api/items/{item_id:path}/vote", tags=["kudos"], response_model=VoteOut)
def api_vote(
    request: Request, con: Con, item_id: Annotated[str, PathParam(max_length=2000)], body: VoteIn
) -> Response:
    """Mark an item useful (+1) or not useful (-1), or withdraw your vote (0). One vote per person
    per item: a new vote replaces yours (the metrics count only the latest)."""
    principal, voter = giver_of(request, con)
    try:
        result = vote(con, voter, item_id, body.value, rules_of(request),
                      channel="api" if principal.via == "token" else "web", actor=principal.username)
    except KudosError as exc:
        return kudos_problem(request, exc)
    counts = item_votes(con, item_id, voter.person_id)
    out = VoteOut(item_id=item_id, value=result.value, previous=result.previous, changed=result.changed,
                  useful=counts["useful"], not_useful=counts["not_useful"])
    return JSONResponse(out.model_dump(mode="json"))


# --- chat -------------------------------------------------------------------------
@router.post(
    "/api/integrations/slack/kudos",
    # A webhook for the chat server (signed), not part of the API people and integrations call:
    # documented in docs/kudos.md, not in the OpenAPI schema.
    include_in_schema=False,
)
async def slack_command(request: Request) -> Response:
    """Slack slash command `/kudos @alice for the Acme review #teamwork`. Requests must carry Slack's
    signature (`X-Slack-Signature`, v0, with the app's signing secret) and a timestamp within 5 minutes."""
    settings = request.app.state.settings
    body = await request.body()
    if not settings.slack_signing_secret:
        return error_response(
            request, 404, "The Slack integration is not configured here (RESONANCE_SLACK_SIGNING_SECRET)."
        )
    try:
        verify_slack(settings.slack_signing_secret, request.headers.get("x-slack-request-timestamp"),
                     request.headers.get("x-slack-signature"), body)
    except SignatureError as exc:
        return error_response(request, 401, f"Slack request refused: {exc}.", title="Bad signature")
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), max_num_fields=100).items()}
    if form.get("ssl_check"):
        return JSONResponse({"text": "ok"})
    mention = f"<@{form['user_id']}>" if form.get("user_id") else None
    return JSONResponse(await _chat(request, slack_givers(form), form.get("text", ""), "slack", mention))


@router.post(
    "/api/integrations/mattermost/kudos",
    # A webhook for the chat server (signed), not part of the API people and integrations call:
    # documented in docs/kudos.md, not in the OpenAPI schema.
    include_in_schema=False,
)
async def mattermost_command(request: Request) -> Response:
    """Mattermost outgoing webhook or slash command (`kudos @alice for the Acme review`), checked
    with its token. Answers in the webhook response format (`{"text": ...}`)."""
    settings = request.app.state.settings
    body = await request.body()
    if not settings.mattermost_token:
        return error_response(
            request, 404, "The Mattermost integration is not configured here (RESONANCE_MATTERMOST_TOKEN)."
        )
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(body or b"{}")
            form = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        except ValueError:
            form = {}
    else:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), max_num_fields=100).items()}
    try:
        verify_token(settings.mattermost_token, form.get("token"))
    except SignatureError as exc:
        return error_response(request, 401, f"Mattermost request refused: {exc}.", title="Bad token")
    mention = f"@{form['user_name']}" if form.get("user_name") else None
    return JSONResponse(await _chat(request, mattermost_givers(form), mattermost_text(form), "mattermost", mention))


async def _chat(request: Request, givers: list[str], text: str, channel: str, mention: str | None) -> dict:
    store = request.app.state.store
    rules = rules_of(request)

    def run() -> dict:
        cur = store.cursor()
        try:
            return handle_chat(cur, givers, text, rules, channel, giver_mention=mention)
        finally:
            cur.close()

    return await anyio.to_thread.run_sync(run)


# --- one-click links ----------------------------------------------------------------
@router.get("/k/{token}", include_in_schema=False)
def link_page(request: Request, con: Con, token: Annotated[str, PathParam(max_length=4096)]) -> Response:
    """A signed link: thank at once (or, with `kudos.link_confirm`, show a confirm button)."""
    rules = rules_of(request)
    link, problem = _check_link(request, con, token)
    if problem is not None:
        return problem
    assert link is not None
    if rules.link_confirm:
        return _link_view(request, con, link, token, state="confirm")
    return _redeem(request, con, link, token, rules)


@router.post("/k/{token}", include_in_schema=False)
def link_confirm(request: Request, con: Con, token: Annotated[str, PathParam(max_length=4096)]) -> Response:
    link, problem = _check_link(request, con, token)
    if problem is not None:
        return problem
    assert link is not None
    return _redeem(request, con, link, token, rules_of(request))


def _check_link(request: Request, con: duckdb.DuckDBPyConnection, token: str) -> tuple[Any, Response | None]:
    try:
        return verify_link(signing_key(request, con), token), None
    except LinkError as exc:
        status = {"expired": 410, "forged": 403}.get(exc.reason, 400)
        title = {"expired": "This kudos link has expired", "forged": "This kudos link is not valid"}.get(
            exc.reason, "This kudos link is damaged")
        return None, render(request, "kudos/link.html", {"state": "refused", "title": title, "detail": str(exc),
                                                         "reason": exc.reason}, status_code=status)


def _redeem(request: Request, con: duckdb.DuckDBPyConnection, link: Any, token: str, rules: KudosRules) -> Response:
    try:
        result = give_kudos(
            con, link.giver_id, link.receiver_id, rules, meeting=link.meeting, account=link.account,
            opportunity=link.opportunity, item=link.item, channel="link", actor="link",
        )
    except KudosError as exc:
        return render(request, "kudos/link.html", {"state": "refused", "title": "Kudos not recorded",
                                                   "detail": str(exc), "reason": exc.code},
                      status_code=exc.status)
    return _link_view(request, con, link, token, state="created" if result.created else "repeat", kudos=result.kudos)


def _link_view(request: Request, con: duckdb.DuckDBPyConnection, link: Any, token: str, state: str,
               kudos: dict | None = None) -> Response:
    names = dict(con.execute(
        "SELECT person_id, display_name FROM people WHERE person_id IN (?, ?)", [link.giver_id, link.receiver_id]
    ).fetchall())
    return render(request, "kudos/link.html", {
        "state": state, "token": token, "kudos": kudos,
        "giver_name": names.get(link.giver_id), "receiver_name": names.get(link.receiver_id),
        "title": {"created": "Thank-you sent", "repeat": "Already thanked", "confirm": "Send this thank-you?"}[state],
    })


# --- pages ------------------------------------------------------------------------
def _page_giver(request: Request, con: duckdb.DuckDBPyConnection) -> tuple[Principal, PersonRef]:
    principal, giver = giver_of(request, con)
    return principal, giver


@router.get("/kudos", include_in_schema=False)
def give_page(request: Request, con: Con, q: Annotated[str, Query(max_length=100)] = "") -> Response:
    _, giver = _page_giver(request, con)
    rules = rules_of(request)
    return render(request, "kudos/give.html", {
        "q": q,
        "results": directory.search(con, q, giver.person_id, rules.votable_kinds) if q else None,
        "meetings": directory.my_meetings(con, giver.person_id, limit=8, before=utcnow()),
        "given": list_kudos(con, giver_id=giver.person_id, limit=10),
        "budget": budget_left(con, giver.person_id, rules),
        "rules": rules,
    })


@router.get("/kudos/search", include_in_schema=False)
def search_partial(request: Request, con: Con, q: Annotated[str, Query(max_length=100)] = "") -> Response:
    _, giver = _page_giver(request, con)
    if not is_htmx(request):
        return RedirectResponse(f"/kudos?{_qs({'q': q})}", status_code=303)
    results = directory.search(con, q, giver.person_id, rules_of(request).votable_kinds)
    return render(request, "kudos/_results.html", {"q": q, "results": results})


@router.get("/kudos/colleague", include_in_schema=False)
def colleague_page(request: Request, con: Con, id: Ref) -> Response:
    _, giver = _page_giver(request, con)
    person = directory.colleague(con, id)
    if person is None:
        raise HTTPException(404, "No such colleague in the directory.")
    return render(request, "kudos/colleague.html", {
        "person": person, "self": person["person_id"] == giver.person_id,
        "meetings": directory.shared_meetings(con, giver.person_id, person["person_id"]),
        "rules": rules_of(request),
    })


@router.get("/kudos/meeting", include_in_schema=False)
def meeting_page(request: Request, con: Con, id: Ref) -> Response:
    _, giver = _page_giver(request, con)
    card = directory.meeting_card(con, id, giver.person_id)
    if card is None:
        raise HTTPException(404, "No such meeting among yours: you can thank people from meetings you were in.")
    links = None
    if card["viewer_role"] == "organizer":
        links = meeting_links(con, signing_key(request, con), card["meeting"], base_url(request), rules_of(request),
                              giver_id=giver.person_id)
    given = {k["receiver_id"] for k in list_kudos(con, giver_id=giver.person_id, limit=500)["items"]
             if k["meeting"] == card["meeting"]}
    expires_on = datetime.fromtimestamp(links["expires"], UTC).strftime("%Y-%m-%d") if links else None
    return render(
        request, "kudos/meeting.html", {"m": card, "links": links, "thanked": given, "expires_on": expires_on}
    )


@router.get("/kudos/item", include_in_schema=False)
def item_page(request: Request, con: Con, id: Ref) -> Response:
    _, giver = _page_giver(request, con)
    rules = rules_of(request)
    card = directory.item_card(con, id, rules.votable_kinds)
    if card is None:
        raise HTTPException(404, "No such shared item (posts, questions, answers, wiki pages, files...).")
    card["snippet"] = plain_text(card.pop("text"), 600)
    return render(request, "kudos/item.html", {
        "item": card, "votes": item_votes(con, card["item_id"], giver.person_id),
        "own": card["author_id"] == giver.person_id, "rules": rules,
    })


@router.post("/kudos/give", include_in_schema=False)
async def give_form(request: Request) -> Response:
    form = await request.form()
    return await _run_form(request, lambda con: _give_from_form(request, con, form, "web"))


def _give_from_form(request: Request, con: duckdb.DuckDBPyConnection, form: Any, channel: str) -> Response:
    principal, giver = _page_giver(request, con)
    rules = rules_of(request)
    receiver = _optional(form.get("receiver")) or ""
    ctx = {k: _optional(form.get(k)) for k in ("meeting", "account", "opportunity", "item")}
    try:
        result = give_kudos(
            con, giver, receiver, rules, message=_optional(form.get("message")), values=_form_list(form, "values"),
            channel=channel, actor=principal.username, **ctx,
        )
        k, error, status = result.kudos, None, 201 if result.created else 200
        created = result.created
    except KudosError as exc:
        k, error, status, created = None, str(exc), exc.status, False
    view = {"k": k, "error": error, "created": created, "receiver": receiver, "ctx": ctx}
    template = "kudos/_thanked.html" if is_htmx(request) else "kudos/thanked.html"
    if channel == "widget":
        template = "kudos/widget.html"
        view.update(_widget_view(request, con, receiver, ctx))
        return _widget_response(request, render(request, template, view, status_code=200 if k else status))
    # htmx swaps only 2xx answers by default: a refusal is shown in place with 200 and a role=alert.
    return render(request, template, view, status_code=200 if is_htmx(request) else (200 if k else status))


@router.post("/kudos/vote", include_in_schema=False)
async def vote_form(request: Request) -> Response:
    form = await request.form()

    def run(con: duckdb.DuckDBPyConnection) -> Response:
        principal, voter = _page_giver(request, con)
        item_id = _optional(form.get("item")) or ""
        error = None
        try:
            vote(con, voter, item_id, str(form.get("value", "")), rules_of(request), channel="web",
                 actor=principal.username)
        except KudosError as exc:
            error = str(exc)
        if not is_htmx(request) and error is None:
            return RedirectResponse(f"/kudos/item?{_qs({'id': item_id})}", status_code=303)
        return render(request, "kudos/_vote.html", {
            "item": {"item_id": item_id}, "votes": item_votes(con, item_id, voter.person_id), "error": error,
        }, status_code=200 if is_htmx(request) or error is None else 409)

    return await _run_form(request, run)


async def _run_form(request: Request, fn: Any) -> Response:
    store = request.app.state.store

    def run() -> Response:
        cur = store.cursor()
        try:
            return fn(cur)
        finally:
            cur.close()

    return await anyio.to_thread.run_sync(run)


@router.get("/me/shine", include_in_schema=False)
def shine_page(request: Request, con: Con) -> Response:
    _, person_id = me(request, con, "kudos")
    return render(request, "kudos/shine.html", {"shine": cached(con, ("where_you_shine", person_id),
                                                             lambda: where_you_shine(con, person_id))})


# --- widget -----------------------------------------------------------------------
_SOURCE = re.compile(r"^(?:'self'|'none'|https?://[A-Za-z0-9.\-*]+(?::\d+)?|[A-Za-z0-9.\-*]+(?::\d+)?)$")


def widget_csp(frame_ancestors: str) -> str:
    """The widget's CSP: the app's policy with `frame-ancestors` from the settings (bad sources dropped)."""
    from resonance.web.security import CSP

    sources = [s for s in frame_ancestors.split() if _SOURCE.match(s)] or ["'none'"]
    return CSP.replace("frame-ancestors 'none'", "frame-ancestors " + " ".join(sources))


def _widget_response(request: Request, response: Response) -> Response:
    response.headers["Content-Security-Policy"] = widget_csp(request.app.state.settings.widget_frame_ancestors)
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _widget_view(request: Request, con: duckdb.DuckDBPyConnection, to: str, ctx: dict) -> dict[str, Any]:
    try:
        person = resolve_person(con, to, "receiver")
        card = directory.colleague(con, person.person_id)
    except KudosError:
        card = None
    principal = current_principal(request)
    return {"person": card, "to": to, "ctx": ctx, "signed_in": principal is not None and principal.role != "admin",
            "login_next": f"/kudos/widget?{_qs({'to': to, **ctx})}", "rules": rules_of(request)}


@router.get("/kudos/widget", include_in_schema=False)
def widget(
    request: Request,
    con: Con,
    to: Ref,
    meeting: Annotated[str | None, Query(max_length=2000)] = None,
    account: Annotated[str | None, Query(max_length=2000)] = None,
    opportunity: Annotated[str | None, Query(max_length=2000)] = None,
    item: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    """An embeddable "Thank" button for one colleague (and an optional context)."""
    ctx = {"meeting": meeting, "account": account, "opportunity": opportunity, "item": item}
    view = {"k": None, "error": None, "created": False, **_widget_view(request, con, to, ctx)}
    return _widget_response(request, render(request, "kudos/widget.html", view,
                                            status_code=200 if view["person"] else 404))


@router.post("/kudos/widget", include_in_schema=False)
async def widget_give(request: Request) -> Response:
    form = await request.form()

    def run(con: duckdb.DuckDBPyConnection) -> Response:
        if current_principal(request) is None:
            return _widget_response(request, render(request, "kudos/widget.html", {
                "k": None, "error": "Sign in to Resonance first.", "created": False,
                **_widget_view(request, con, _optional(form.get("receiver")) or "", {})}, status_code=401))
        return _give_from_form(request, con, form, "widget")

    return await _run_form(request, run)


def _qs(params: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in params.items() if v})
