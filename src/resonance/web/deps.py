"""Request dependencies: a store cursor per request, and who is asking."""

from __future__ import annotations

from collections.abc import AsyncIterator

import duckdb
from fastapi import Request

from resonance.privacy.guard import ADMIN, AccessDenied, NotAuthenticated, Principal


async def get_con(request: Request) -> AsyncIterator[duckdb.DuckDBPyConnection]:
    """A cursor on the server's store for this request (DuckDB: one per thread; the handler's worker
    thread uses it alone). Opened and closed on the event loop: both are cheap and never wait, while
    a sync dependency would cost two more hand-offs to the thread pool on every request."""
    cur = request.app.state.store.cursor()
    try:
        yield cur
    finally:
        cur.close()


def current_principal(request: Request) -> Principal | None:
    """The signed-in account (session cookie or API token), resolved by `RequestGuard`."""
    return getattr(request.state, "principal", None)


def require_principal(request: Request) -> Principal:
    principal = current_principal(request)
    if principal is None:
        raise NotAuthenticated("Sign in first (session cookie or `Authorization: Bearer` API token).")
    return principal


def require_admin(request: Request) -> Principal:
    principal = require_principal(request)
    if principal.role != ADMIN:
        raise AccessDenied("This is for admins.")
    return principal


def csrf_token(request: Request) -> str | None:
    session = getattr(request.state, "session", None)
    return session.csrf_token if session else None
