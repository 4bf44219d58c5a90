"""The store overview (admins): health, counts by source and verb, ingests, quarantine reasons."""

from __future__ import annotations

from typing import Any

import duckdb
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from resonance.privacy.guard import Principal
from resonance.store.overview import store_overview
from resonance.web.deps import get_con, require_admin
from resonance.web.templating import render

router = APIRouter()


@router.get("/health", tags=["system"], openapi_extra={"security": []})
def health(con: duckdb.DuckDBPyConnection = Depends(get_con)) -> dict[str, Any]:
    """Liveness and store reachability (no personal data)."""
    events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    return {"status": "ok", "events": events}


@router.get("/api/store", tags=["admin"])
def store_summary(
    con: duckdb.DuckDBPyConnection = Depends(get_con), _: Principal = Depends(require_admin)
) -> dict[str, Any]:
    """What the store holds: totals, events by source and verb, ingest runs, quarantine reasons (admins)."""
    return store_overview(con)


@router.get("/store", response_class=HTMLResponse, include_in_schema=False)
def store_page(
    request: Request, con: duckdb.DuckDBPyConnection = Depends(get_con), _: Principal = Depends(require_admin)
) -> HTMLResponse:
    return render(request, "overview.html", {"o": store_overview(con)})
