"""Building the FastAPI application.

The server process owns the store (DuckDB allows one writing process); each
request gets its own cursor. Every asset, the API docs included, is served by
the app itself: no CDN, so it works offline and inside a corporate network.
Security layers (see web/security.py): body size limit, principal and CSRF
checks, security headers with a CSP that allows no inline script; errors are
RFC 9457 problem details on the API (web/problems.py).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from resonance import __version__
from resonance.config import Settings
from resonance.store import Store, open_store

WEB_DIR = Path(__file__).parent
log = logging.getLogger("resonance.web")


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """The application for `settings`; pass `store` to share an already open one."""
    from resonance.privacy.forget import ensure_forget_schema
    from resonance.web.accounts import ensure_auth_schema, purge_expired_sessions
    from resonance.web.cache import OneVersionPerRequest
    from resonance.web.problems import fix_openapi_errors, install_problem_handlers
    from resonance.web.security import LoginThrottle, RequestGuard, SecurityHeaders

    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = store is None
        app.state.store = store or open_store(settings.db_path)
        ensure_auth_schema(app.state.store.con)
        # The store fingerprint every cached read checks counts the forget log (web/cache.py): with the
        # table present that is a metadata read, without it a catalog scan on every request.
        ensure_forget_schema(app.state.store.con)
        purge_expired_sessions(app.state.store.con)
        try:
            yield
        finally:
            if owned:
                app.state.store.close()

    app = FastAPI(
        title="Resonance",
        version=__version__,
        summary="Personal social analytics for the enterprise.",
        description=(
            "Your own analytics, private by design. Authenticate with the session cookie of the web app "
            "(state-changing requests then need the `X-CSRF-Token` header) or with an API token "
            "(`Authorization: Bearer rs_...`, create one under Settings). Lists are paginated with "
            "`page` and `page_size`; errors are RFC 9457 problem details (`application/problem+json`)."
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.login_throttle = LoginThrottle()
    # The more specific mount first: Starlette matches mounts in order.
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs(request: Request) -> HTMLResponse:
        # No inline script (CSP): the page loads the bundle and static/swagger-init.js.
        from resonance.web.templating import templates

        return templates.TemplateResponse(request, "api_docs.html", {"openapi_url": app.openapi_url})

    for module in _route_modules():
        app.include_router(module.router)

    install_problem_handlers(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API token (rs_...)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "resonance_session"},
            }
            schema["security"] = [{"bearer": []}, {"session": []}]
            app.openapi_schema = fix_openapi_errors(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    # Added first = innermost: an unexpected exception becomes a 500 problem that still
    # passes through the guard and gets the security headers.
    app.add_middleware(CatchAll)
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(OneVersionPerRequest)  # outermost: cached dashboard reads share one store version
    return app


class CatchAll:
    """Turn an unhandled exception into a 500 error response (problem or page)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            from starlette.requests import Request as StarletteRequest

            from resonance.web.problems import error_response

            response = error_response(
                StarletteRequest(scope, receive),
                500,
                "Something went wrong on our side; it has been logged. Try again in a moment.",
            )
            await response(scope, receive, send)


def _route_modules() -> list:
    """Every module in web/routes defines `router`; a feature adds one file."""
    from resonance.web import routes

    return [
        importlib.import_module(f"{routes.__name__}.{info.name}")
        for info in pkgutil.iter_modules(routes.__path__)
        if not info.name.startswith("_")
    ]
