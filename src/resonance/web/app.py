"""Building the FastAPI application.

The server process owns the store (DuckDB allows one writing process); each
request gets its own cursor. Every asset, the API docs included, is served by
the app itself: no CDN, so it works offline and inside a corporate network.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from resonance import __version__
from resonance.config import Settings
from resonance.store import Store, open_store

WEB_DIR = Path(__file__).parent


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """The application for `settings`; pass `store` to share an already open one."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = store is None
        app.state.store = store or open_store(settings.db_path)
        try:
            yield
        finally:
            if owned:
                app.state.store.close()

    app = FastAPI(
        title="Resonance",
        version=__version__,
        summary="Personal social analytics for the enterprise.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    # The more specific mount first: Starlette matches mounts in order.
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Resonance API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    for module in _route_modules():
        app.include_router(module.router)
    return app


def _route_modules() -> list:
    """Every module in web/routes defines `router`; a feature adds one file."""
    from resonance.web import routes

    return [
        importlib.import_module(f"{routes.__name__}.{info.name}")
        for info in pkgutil.iter_modules(routes.__path__)
        if not info.name.startswith("_")
    ]
