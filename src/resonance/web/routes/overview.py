"""The store overview: health, counts by source and verb, ingests, quarantine."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from resonance.store.overview import store_overview
from resonance.web.templating import templates

router = APIRouter()


@router.get("/health", tags=["system"])
def health(request: Request) -> dict[str, Any]:
    """Liveness and store reachability."""
    cur = request.app.state.store.cursor()
    try:
        events = cur.execute("SELECT count(*) FROM events").fetchall()[0][0]
    finally:
        cur.close()
    return {"status": "ok", "events": events}


@router.get("/api/store", tags=["system"])
def store_summary(request: Request) -> dict[str, Any]:
    """What the store holds: totals, events by source and verb, ingest runs, quarantine reasons."""
    cur = request.app.state.store.cursor()
    try:
        return store_overview(cur)
    finally:
        cur.close()


@router.get("/store", response_class=HTMLResponse, include_in_schema=False)
def store_page(request: Request) -> HTMLResponse:
    cur = request.app.state.store.cursor()
    try:
        overview = store_overview(cur)
    finally:
        cur.close()
    return templates.TemplateResponse(request, "overview.html", {"o": overview})


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request) -> HTMLResponse:
    return store_page(request)
