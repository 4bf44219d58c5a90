"""Signing in and out, and the start page."""

from __future__ import annotations

import hmac
import secrets

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from resonance.web.accounts import SESSION_LIFETIME, authenticate, create_session, end_session, log_auth_event
from resonance.web.deps import current_principal
from resonance.web.nav import home_for
from resonance.web.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE, client_ip, is_tls
from resonance.web.templating import render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: no scheme, no host, no `//evil.example`."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and "\n" not in target:
        return target
    return None


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse(home_for(current_principal(request)), status_code=303)


@router.get("/fragments/empty")
def empty_fragment() -> Response:
    """Nothing: htmx swaps it in to close a panel (no inline script needed)."""
    return HTMLResponse("")


@router.get("/login")
def login_page(request: Request, next: str | None = None, signed_out: bool = False) -> Response:
    if current_principal(request) is not None:
        return RedirectResponse(safe_next(next) or home_for(current_principal(request)), status_code=303)
    return _login_form(request, next=safe_next(next), signed_out=signed_out)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username") or "").strip()[:200]
    password = str(form.get("password") or "")[:2000]
    target = safe_next(str(form.get("next") or "")) or None
    sent, expected = str(form.get("csrf_token") or ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _login_form(
            request,
            next=target,
            username=username,
            status=403,
            error="The sign-in form expired. Please try again.",
        )
    ip = client_ip(request)
    throttle = request.app.state.login_throttle
    store = request.app.state.store
    wait = throttle.retry_after(username, ip)
    if wait:

        def note() -> None:
            cur = store.cursor()
            try:
                log_auth_event(cur, username, "login_throttled", username, ip, {"retry_after": wait})
            finally:
                cur.close()

        await anyio.to_thread.run_sync(note)
        return _login_form(
            request,
            next=target,
            username=username,
            status=429,
            error=f"Too many failed attempts. Try again in {max(1, wait // 60)} minute(s).",
            headers={"Retry-After": str(wait)},
        )

    def check() -> tuple[object, str | None]:
        cur = store.cursor()
        try:
            user = authenticate(cur, username, password, ip)
            if user is None:
                return None, None
            token, _ = create_session(cur, user, ip, request.headers.get("user-agent"))
            return user, token
        finally:
            cur.close()

    user, token = await anyio.to_thread.run_sync(check)
    if user is None or token is None:
        throttle.failure(username, ip)
        return _login_form(
            request,
            next=target,
            username=username,
            status=401,
            error="That username and password do not match an active account.",
        )
    throttle.success(username)
    destination = target or ("/admin" if user.role == "admin" else "/me")  # type: ignore[attr-defined]
    response = RedirectResponse(destination, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=is_tls(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    token = getattr(request.state, "session_token", None)
    if token:
        store = request.app.state.store

        def end() -> None:
            cur = store.cursor()
            try:
                end_session(cur, token, client_ip(request))
            finally:
                cur.close()

        await anyio.to_thread.run_sync(end)
    response = RedirectResponse("/login?signed_out=true", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_tls(request))
    return response


def _login_form(
    request: Request,
    *,
    next: str | None = None,
    username: str = "",
    error: str | None = None,
    signed_out: bool = False,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    # Double-submit token for the sign-in form itself (there is no session yet).
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "next": next, "username": username, "error": error, "signed_out": signed_out},
        status_code=status,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=is_tls(request),
        path="/login",
    )
    return response
