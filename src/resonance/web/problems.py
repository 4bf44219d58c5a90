"""Errors as RFC 9457 problem details on the API, friendly pages in the browser.

Every 4xx and 5xx under `/api/` (and `/health`, `/openapi.json`) is
`application/problem+json` with `type`, `title`, `status`, `detail` and `instance`;
validation errors add `errors` (where and what). Pages get an HTML error page
instead, and a page that needs a signed-in user sends the browser to sign in.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException

from resonance.privacy.guard import AccessDenied, NotAuthenticated
from resonance.web.accounts import AccountError

log = logging.getLogger("resonance.web")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:resonance:problem:"


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = Field("about:blank", description="A URI naming the kind of problem.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(None, description="What went wrong this time, and what to do.")
    instance: str | None = Field(None, description="The request path that failed.")


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(Problem):
    errors: list[ValidationIssue] = Field(default_factory=list, description="Each invalid input.")


def is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path in ("/api", "/health", "/openapi.json")


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    instance: str | None = None,
    title: str | None = None,
    type_: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": type_ or "about:blank",
        "title": title or _phrase(status),
        "status": status,
        "detail": detail,
        "instance": instance,
        **extensions,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def error_response(
    request: Request,
    status: int,
    detail: str | None,
    *,
    title: str | None = None,
    type_: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem for API callers, an error page (or a sign-in redirect) for browsers."""
    if is_api_path(request.url.path):
        return problem_response(
            status, detail, instance=request.url.path, title=title, type_=type_, headers=headers, **extensions
        )
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    from resonance.web.templating import render  # late: templating imports the app module

    return render(
        request,
        "error.html",
        {"status": status, "title": title or _phrase(status), "detail": detail},
        status_code=status,
        headers=headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error through `error_response`."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = (
            exc.detail if isinstance(exc.detail, str) and exc.detail != _phrase(exc.status_code) else None
        )
        return error_response(
            request,
            exc.status_code,
            detail or _default_detail(exc.status_code),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        issues = [
            {
                "loc": [str(x) if not isinstance(x, int) else x for x in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        where = "; ".join(f"{'.'.join(str(x) for x in i['loc'])}: {i['msg']}" for i in issues[:5])
        return error_response(
            request,
            422,
            f"The request is not valid: {where}",
            title="Invalid request",
            type_=TYPE_PREFIX + "validation",
            errors=issues,
        )

    @app.exception_handler(AccessDenied)
    async def access_denied(request: Request, exc: AccessDenied) -> Response:
        headers = (
            {"WWW-Authenticate": 'Bearer realm="resonance"'} if isinstance(exc, NotAuthenticated) else None
        )
        slug = {401: "not-authenticated", 403: "forbidden"}.get(exc.status, "forbidden")
        return error_response(
            request, exc.status, exc.detail, title=exc.title, type_=TYPE_PREFIX + slug, headers=headers
        )

    @app.exception_handler(AccountError)
    async def account_error(request: Request, exc: AccountError) -> Response:
        return error_response(request, exc.status, str(exc), title="Cannot do that", type_=TYPE_PREFIX + "account")

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            request,
            500,
            "Something went wrong on our side; it has been logged. Try again in a moment.",
        )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _default_detail(status: int) -> str | None:
    return {
        404: "There is nothing at this address.",
        405: "This address does not accept that method.",
        413: "The request body is too large.",
    }.get(status)


def fix_openapi_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Describe errors as problem+json in the OpenAPI document.

    FastAPI documents validation errors as `application/json` `HTTPValidationError`;
    ours are `application/problem+json` `ValidationProblem`, and every API operation
    may answer any error status as a `Problem` (the `default` response).
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    _, defs = models_json_schema(
        [(Problem, "validation"), (ValidationProblem, "validation")],
        ref_template="#/components/schemas/{model}",
    )
    components.update(defs.get("$defs", {}))
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    validation_ref = {"$ref": "#/components/schemas/ValidationProblem"}
    for path, operations in schema.get("paths", {}).items():
        for op in operations.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            if "422" in responses:
                responses["422"] = {
                    "description": "Invalid request",
                    "content": {PROBLEM_MEDIA_TYPE: {"schema": validation_ref}},
                }
            if is_api_path(path):
                responses["default"] = {
                    "description": "An error, as an RFC 9457 problem detail.",
                    "content": {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}},
                }
                for code in list(responses):
                    if code[:1] in "45" and code != "422":
                        responses[code] = {
                            "description": responses[code].get("description", _phrase(int(code))),
                            "content": {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}},
                        }
    return schema
