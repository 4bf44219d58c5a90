"""Settings: opt-out and consent choices, download my data, who read my data, API tokens."""

from __future__ import annotations

from typing import Annotated, Any

import duckdb
import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response

from resonance.privacy.consent import ANALYTICS, PURPOSES, consents, set_consent
from resonance.privacy.export import export_person_data
from resonance.privacy.guard import Principal, access_history
from resonance.web.accounts import AccountError, create_token, list_tokens, revoke_token
from resonance.web.deps import get_con, require_principal
from resonance.web.routes.me import PageNo, PageSize, me
from resonance.web.schemas import (
    AccessLogOut,
    ConsentChoices,
    ConsentOut,
    Page,
    SettingsIn,
    SettingsOut,
    TokenCreated,
    TokenIn,
    TokenOut,
)
from resonance.web.security import client_ip
from resonance.web.templating import render

router = APIRouter()
Con = Annotated[duckdb.DuckDBPyConnection, Depends(get_con)]
SignedIn = Annotated[Principal, Depends(require_principal)]
TokenId = Annotated[int, Path(ge=1, le=2**62)]


def settings_of(con: duckdb.DuckDBPyConnection, person_id: str) -> SettingsOut:
    chosen = consents(con, person_id)
    return SettingsOut(
        opted_out=not chosen[ANALYTICS],
        consents=[
            ConsentOut(
                purpose=k, label=p.label, description=p.description, granted=chosen[k], default=p.default
            )
            for k, p in PURPOSES.items()
        ],
    )


def apply_settings(
    con: duckdb.DuckDBPyConnection, principal: Principal, person_id: str, body: SettingsIn, via: str
) -> None:
    wanted = body.consents.model_dump(exclude_none=True) if body.consents else {}
    if body.opted_out is not None:
        if ANALYTICS in wanted and wanted[ANALYTICS] == body.opted_out:
            raise HTTPException(409, "`opted_out` contradicts `consents.analytics`: send one of them.")
        wanted[ANALYTICS] = not body.opted_out
    for purpose, granted in wanted.items():
        set_consent(con, person_id, purpose, granted, changed_by=principal.username, via=via)


def export_response(con: duckdb.DuckDBPyConnection, person_id: str, download: bool) -> Response:
    body = orjson.dumps(export_person_data(con, person_id), option=orjson.OPT_INDENT_2)
    headers = {"Content-Disposition": 'attachment; filename="resonance-my-data.json"'} if download else None
    return Response(body, media_type="application/json", headers=headers)


# --- pages ------------------------------------------------------------------------
@router.get("/me/settings", include_in_schema=False)
def settings_page(request: Request, con: Con, principal: SignedIn, saved: bool = False) -> Response:
    return _settings_page(request, con, principal, saved=saved)


def _settings_page(
    request: Request, con: duckdb.DuckDBPyConnection, principal: Principal, **extra: Any
) -> Response:
    ctx: dict[str, Any] = {"tokens": list_tokens(con, principal.user_id), "personal": False, **extra}
    if principal.role != "admin" and principal.person_id:
        _, person_id = me(request, con, "settings")
        ctx.update(
            personal=True,
            settings=settings_of(con, person_id),
            access=access_history(con, person_id, limit=15),
        )
    return render(request, "me/settings.html", ctx, status_code=400 if extra.get("error") else 200)


@router.post("/me/settings", include_in_schema=False)
async def settings_form(request: Request, con: Con, principal: SignedIn) -> Response:
    form = await request.form()
    _, person_id = me(request, con, "settings")
    # Unchecked boxes are absent from a form: every known purpose not sent means "no".
    body = SettingsIn(consents=ConsentChoices(**{k: form.get(f"consent_{k}") == "on" for k in PURPOSES}))
    apply_settings(con, principal, person_id, body, via="web")
    return RedirectResponse("/me/settings?saved=true", status_code=303)


@router.get("/me/export", include_in_schema=False)
def export_page(request: Request, con: Con) -> Response:
    _, person_id = me(request, con, "export")
    return export_response(con, person_id, download=True)


@router.post("/me/tokens", include_in_schema=False)
async def token_form(request: Request, con: Con, principal: SignedIn) -> Response:
    form = await request.form()
    try:
        secret, record = create_token(
            con,
            principal.username,
            str(form.get("name") or "")[:100],
            actor=principal.username,
            ip=client_ip(request),
        )
    except AccountError as exc:
        return _settings_page(request, con, principal, error=str(exc))
    # Shown on this response only (never in a redirect URL, which would end up in logs and history).
    return _settings_page(request, con, principal, new_token=secret, new_token_name=record["name"])


@router.post("/me/tokens/{token_id}/revoke", include_in_schema=False)
def token_revoke_form(token_id: TokenId, request: Request, con: Con, principal: SignedIn) -> Response:
    revoke_token(con, principal.user_id, token_id, actor=principal.username, ip=client_ip(request))
    return RedirectResponse("/me/settings#tokens", status_code=303)


# --- API --------------------------------------------------------------------------
@router.get("/api/me/settings", tags=["me"])
def api_settings(request: Request, con: Con) -> SettingsOut:
    """Your consent choices (opt-out = `analytics` not granted)."""
    _, person_id = me(request, con, "settings")
    return settings_of(con, person_id)


@router.put("/api/me/settings", tags=["me"])
def api_update_settings(body: SettingsIn, request: Request, con: Con) -> SettingsOut:
    """Change your consent choices; each change is audited. Opting out hides you from everyone else."""
    principal, person_id = me(request, con, "settings")
    apply_settings(con, principal, person_id, body, via="api")
    return settings_of(con, person_id)


@router.get("/api/me/export", tags=["me"], response_model=dict[str, Any])
def api_export(request: Request, con: Con) -> Response:
    """Everything Resonance holds about you, as one JSON document."""
    _, person_id = me(request, con, "export")
    return export_response(con, person_id, download=False)


@router.get("/api/me/access-log", tags=["me"])
def api_access_log(
    request: Request, con: Con, page: PageNo = 1, page_size: PageSize = 50
) -> Page[AccessLogOut]:
    """Who read your individual data, when and through which endpoint (newest first)."""
    _, person_id = me(request, con, "access-log")
    rows = access_history(con, person_id, limit=page * page_size)[(page - 1) * page_size :]
    total = con.execute(
        "SELECT count(*) FROM access_log WHERE subject_person_id = ?", [person_id]
    ).fetchall()[0][0]
    return Page[AccessLogOut](
        items=[AccessLogOut(**r) for r in rows], total=int(total), page=page, page_size=page_size
    )


@router.get("/api/me/tokens", tags=["me"])
def api_tokens(con: Con, principal: SignedIn) -> list[TokenOut]:
    """Your API tokens (never the secrets)."""
    return [TokenOut(**t) for t in list_tokens(con, principal.user_id)]


@router.post("/api/me/tokens", status_code=201, tags=["me"])
def api_create_token(body: TokenIn, request: Request, con: Con, principal: SignedIn) -> TokenCreated:
    """Create an API token for your own account; the secret is in this response only."""
    secret, record = create_token(
        con, principal.username, body.name, actor=principal.username, ip=client_ip(request)
    )
    return TokenCreated(**record, token=secret)


@router.delete("/api/me/tokens/{token_id}", status_code=204, tags=["me"])
def api_revoke_token(token_id: TokenId, request: Request, con: Con, principal: SignedIn) -> Response:
    """Revoke one of your tokens."""
    if not revoke_token(con, principal.user_id, token_id, actor=principal.username, ip=client_ip(request)):
        raise HTTPException(404, "You have no live token with this id.")
    return Response(status_code=204)
