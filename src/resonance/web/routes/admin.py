"""Admin: sources and ingest runs, the quarantine, users and roles. Admins configure; they read
no one's personal data (the privacy guard refuses them every personal endpoint)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from resonance.privacy.guard import ROLES, Principal
from resonance.sources import registry
from resonance.web.accounts import AccountError, auth_events, create_user, get_user, list_users, update_user
from resonance.web.deps import get_con, require_admin
from resonance.web.schemas import (
    AuthEventOut,
    IngestRunOut,
    Page,
    QuarantineOut,
    QuarantineReason,
    SourceOut,
    UserIn,
    UserOut,
    UserPatch,
)
from resonance.web.security import client_ip
from resonance.web.templating import render

router = APIRouter()

PageNo = Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")]
PageSize = Annotated[int, Query(ge=1, le=200, description="Rows per page.")]
Con = Annotated[duckdb.DuckDBPyConnection, Depends(get_con)]
Admin = Annotated[Principal, Depends(require_admin)]


# --- queries ----------------------------------------------------------------------
def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def sources(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every connector, with what the store holds from it and its last ingest."""
    events = dict(con.execute("SELECT source, count(*) FROM events GROUP BY ALL").fetchall())
    items = dict(con.execute("SELECT source, count(*) FROM items GROUP BY ALL").fetchall())
    runs = {
        r[0]: (r[1], r[2])
        for r in con.execute(
            "SELECT kind, count(*), max(started_at) FROM ingest_runs GROUP BY ALL"
        ).fetchall()
    }
    out = []
    for kind, cls in registry().items():
        n_runs, last = runs.get(kind, (0, None))
        out.append(
            {
                "kind": kind,
                "summary": cls.summary,
                "options": dict(cls.option_help),
                "events": int(events.get(kind, 0)),
                "items": int(items.get(kind, 0)),
                "ingests": int(n_runs),
                "last_ingest": last,
            }
        )
    return out


def ingest_runs(con: duckdb.DuckDBPyConnection, page: int, page_size: int) -> dict[str, Any]:
    rows = _rows(
        con,
        """SELECT ingest_id, kind, coalesce(list_filter(paths, lambda p: p IS NOT NULL), []) AS paths,
                  started_at, finished_at, status, coalesce(ingested, 0) AS ingested,
                  coalesce(duplicates, 0) AS duplicates, coalesce(rejected, 0) AS rejected, error
           FROM ingest_runs ORDER BY ingest_id DESC LIMIT ? OFFSET ?""",
        [page_size, (page - 1) * page_size],
    )
    total = con.execute("SELECT count(*) FROM ingest_runs").fetchall()[0][0]
    return {"items": rows, "total": int(total), "page": page, "page_size": page_size}


def quarantine(
    con: duckdb.DuckDBPyConnection,
    page: int,
    page_size: int,
    reason: str | None = None,
    source: str | None = None,
    ingest_id: int | None = None,
) -> dict[str, Any]:
    where = """WHERE (?::VARCHAR IS NULL OR reason ILIKE '%' || ? || '%')
                 AND (?::VARCHAR IS NULL OR source = ?) AND (?::BIGINT IS NULL OR ingest_id = ?)"""
    params = [reason, reason, source, source, ingest_id, ingest_id]
    rows = _rows(
        con,
        f"""SELECT ingest_id, source, file, line, field, reason, raw, quarantined_at FROM quarantine {where}
            ORDER BY ingest_id DESC NULLS LAST, file, line LIMIT ? OFFSET ?""",
        [*params, page_size, (page - 1) * page_size],
    )
    total = con.execute(f"SELECT count(*) FROM quarantine {where}", params).fetchall()[0][0]
    return {"items": rows, "total": int(total), "page": page, "page_size": page_size}


def quarantine_reasons(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return _rows(
        con,
        """SELECT source, reason, count(*) AS records FROM quarantine
           GROUP BY ALL ORDER BY records DESC LIMIT 100""",
    )


def users(con: duckdb.DuckDBPyConnection, page: int, page_size: int) -> dict[str, Any]:
    found, total = list_users(con, (page - 1) * page_size, page_size)
    names = dict(
        con.execute(
            "SELECT person_id, display_name FROM people WHERE person_id IN (SELECT person_id FROM users)"
        ).fetchall()
    )
    rows = [{**u.as_dict(), "display_name": names.get(u.person_id)} for u in found]
    return {"items": rows, "total": total, "page": page, "page_size": page_size}


def totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    row = con.execute(
        """SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM items), (SELECT count(*) FROM people),
                  (SELECT count(*) FROM quarantine), (SELECT count(*) FROM users WHERE NOT disabled)"""
    ).fetchall()[0]
    return dict(zip(("events", "items", "people", "quarantined", "users"), map(int, row), strict=True))


# --- pages ------------------------------------------------------------------------
@router.get("/admin", include_in_schema=False)
def admin_page(request: Request, con: Con, _: Admin, page: PageNo = 1) -> Response:
    return render(
        request,
        "admin/overview.html",
        {
            "totals": totals(con),
            "sources": sources(con),
            "runs": ingest_runs(con, page, 20),
            "reasons": quarantine_reasons(con)[:5],
        },
    )


@router.get("/admin/quarantine", include_in_schema=False)
def quarantine_page(
    request: Request,
    con: Con,
    _: Admin,
    page: PageNo = 1,
    reason: Annotated[str | None, Query(max_length=200)] = None,
    source: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    reason = reason or None
    source = source or None
    return render(
        request,
        "admin/quarantine.html",
        {
            "q": quarantine(con, page, 25, reason, source),
            "reasons": quarantine_reasons(con),
            "reason": reason,
            "source": source,
        },
    )


@router.get("/admin/users", include_in_schema=False)
def users_page(
    request: Request, con: Con, _: Admin, page: PageNo = 1, error: str | None = None, done: str | None = None
) -> Response:
    log, _total = auth_events(con, 0, 15)
    return render(
        request,
        "admin/users.html",
        {
            "users": users(con, page, 50),
            "roles": ROLES,
            "log": log,
            "error": error,
            "done": done,
        },
        status_code=400 if error else 200,
    )


@router.post("/admin/users", include_in_schema=False)
async def users_form(request: Request, con: Con, admin: Admin) -> Response:
    form = await request.form()
    action = str(form.get("action") or "create")
    username = str(form.get("username") or "").strip()
    try:
        if action == "create":
            create_user(
                con,
                username,
                str(form.get("password") or ""),
                str(form.get("role") or ""),
                str(form.get("person") or "").strip() or None,
                actor=admin.username,
                ip=client_ip(request),
            )
            done = f"Created {username}."
        elif action in ("role", "disable", "enable"):
            update_user(
                con,
                username,
                actor=admin.username,
                ip=client_ip(request),
                role=str(form.get("role")) if action == "role" else None,
                disabled={"disable": True, "enable": False}.get(action),
            )
            done = f"Updated {username}."
        else:
            raise AccountError(f"Unknown action {action!r}.")
    except AccountError as exc:
        return users_page(request, con, admin, error=str(exc))  # the form again, with the reason
    return RedirectResponse(f"/admin/users?done={quote(done)}", status_code=303)


# --- API --------------------------------------------------------------------------
@router.get("/api/admin/sources", tags=["admin"])
def api_sources(con: Con, _: Admin) -> list[SourceOut]:
    """Every connector, what the store holds from it, and its last ingest."""
    return [SourceOut(**s) for s in sources(con)]


@router.get("/api/admin/ingests", tags=["admin"])
def api_ingests(con: Con, _: Admin, page: PageNo = 1, page_size: PageSize = 50) -> Page[IngestRunOut]:
    """Ingest runs, newest first."""
    return Page[IngestRunOut](**ingest_runs(con, page, page_size))


@router.get("/api/admin/quarantine", tags=["admin"])
def api_quarantine(
    con: Con,
    _: Admin,
    page: PageNo = 1,
    page_size: PageSize = 50,
    reason: Annotated[str | None, Query(max_length=200, description="Only reasons containing this.")] = None,
    source: Annotated[str | None, Query(max_length=100)] = None,
    ingest_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> Page[QuarantineOut]:
    """Rejected records with file, line, field, reason and the raw text."""
    return Page[QuarantineOut](**quarantine(con, page, page_size, reason, source, ingest_id))


@router.get("/api/admin/quarantine/reasons", tags=["admin"])
def api_quarantine_reasons(con: Con, _: Admin) -> list[QuarantineReason]:
    """How many records were rejected, by source and reason."""
    return [QuarantineReason(**r) for r in quarantine_reasons(con)]


@router.get("/api/admin/users", tags=["admin"])
def api_users(con: Con, _: Admin, page: PageNo = 1, page_size: PageSize = 50) -> Page[UserOut]:
    """Accounts and their roles."""
    return Page[UserOut](**users(con, page, page_size))


@router.post("/api/admin/users", status_code=201, tags=["admin"])
def api_create_user(body: UserIn, request: Request, con: Con, admin: Admin) -> UserOut:
    """Create an account (employees and managers belong to a person; admins to no one)."""
    user = create_user(
        con, body.username, body.password, body.role, body.person, actor=admin.username, ip=client_ip(request)
    )
    return UserOut(**user.as_dict())


@router.patch("/api/admin/users/{username}", tags=["admin"])
def api_update_user(username: str, body: UserPatch, request: Request, con: Con, admin: Admin) -> UserOut:
    """Change an account's role, person or enabled state (ends its sessions)."""
    if get_user(con, username) is None:
        raise HTTPException(404, f"No user {username!r}.")
    user = update_user(
        con,
        username,
        actor=admin.username,
        role=body.role,
        person=body.person,
        disabled=body.disabled,
        ip=client_ip(request),
    )
    return UserOut(**user.as_dict())


@router.get("/api/admin/auth-log", tags=["admin"])
def api_auth_log(con: Con, _: Admin, page: PageNo = 1, page_size: PageSize = 50) -> Page[AuthEventOut]:
    """Sign-ins, sign-outs and account changes, newest first."""
    rows, total = auth_events(con, (page - 1) * page_size, page_size)
    return Page[AuthEventOut](items=rows, total=total, page=page, page_size=page_size)
