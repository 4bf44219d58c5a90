"""Request-level protections: who is asking, CSRF, body size, security headers, sign-in throttling.

Two pure ASGI middlewares (no body re-reading tricks, no per-request Python objects
beyond what Starlette already builds):

- `RequestGuard` caps the request body (413 beyond `Settings.max_body_bytes`), works out the
  principal (an `Authorization: Bearer` API token, else the session cookie) and, for every
  state-changing request authenticated by the session cookie, requires the session's CSRF
  token in the `X-CSRF-Token` header (htmx sends it from `hx-headers`) or in the
  `csrf_token` field of a urlencoded form, and a same-origin `Origin` when the browser sends one.
  Requests without the cookie cannot act as a user through it, so they need no CSRF token
  (API tokens, signed links, chat webhooks).
- `SecurityHeaders` adds a strict Content-Security-Policy (no inline scripts or styles;
  a route may set its own CSP, e.g. an embeddable widget with wider `frame-ancestors`),
  nosniff, frame denial, referrer and permissions policies, HSTS over TLS, and
  `Cache-Control: no-store` on everything but static assets (pages hold personal data).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import anyio
from starlette.requests import Request

from resonance.web.accounts import session_for, token_principal

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "resonance_session"
LOGIN_CSRF_COOKIE = "resonance_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_EXEMPT_PATHS = frozenset({"/login"})
"""The sign-in form checks its own (pre-session, double-submit) CSRF token."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI (a React app) sets style attributes from its bundle; scripts stay 'self' only.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class RequestGuard:
    """Body limit, principal and CSRF (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = 1 << 20) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _error(
                scope, receive, send, 413, f"Request bodies are limited to {self.max_body_bytes:,} bytes."
            )
            return
        method = scope["method"]
        body = b""
        if method not in SAFE_METHODS:
            read = await _read_body(receive, self.max_body_bytes)
            if read is None:
                await _error(
                    scope, receive, send, 413, f"Request bodies are limited to {self.max_body_bytes:,} bytes."
                )
                return
            body = read
            receive = _replay(body, receive)

        store = scope["app"].state.store
        authorization = request.headers.get("authorization")
        bearer = _bearer(authorization)
        cookie = request.cookies.get(SESSION_COOKIE)

        def resolve() -> tuple[Any, Any]:
            cur = store.cursor()
            try:
                if authorization is not None:
                    # An Authorization header decides alone: a bad one never falls back to the cookie.
                    return (token_principal(cur, bearer) if bearer else None), None
                if cookie:
                    session = session_for(cur, cookie)
                    return (session.principal if session else None), session
                return None, None
            finally:
                cur.close()

        principal, session = await anyio.to_thread.run_sync(resolve)
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["session"] = session
        state["session_token"] = cookie if session else None

        if session is not None and method not in SAFE_METHODS and scope["path"] not in CSRF_EXEMPT_PATHS:
            problem = _csrf_problem(request, body, session.csrf_token)
            if problem:
                await _error(scope, receive, send, 403, problem, title="CSRF check failed")
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Security headers on every HTTP response (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}

                def add(name: str, value: str) -> None:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))

                # A route that sets its own CSP owns its framing rules (the kudos widget's frame-ancestors).
                own_csp = b"content-security-policy" in present
                add("content-security-policy", DOCS_CSP if path == "/api/docs" else CSP)
                add("x-content-type-options", "nosniff")
                if not own_csp:
                    add("x-frame-options", "DENY")
                add("referrer-policy", "same-origin")
                add("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()")
                add("cross-origin-opener-policy", "same-origin")
                add("cross-origin-resource-policy", "same-origin")
                if tls:
                    add("strict-transport-security", "max-age=31536000; includeSubDomains")
                if not path.startswith("/static/"):
                    add("cache-control", "no-store")
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LoginThrottle:
    """Sign-in rate limiting: failures per username and per client address in a sliding window.

    In memory: the server is one process (it owns the store). Blocking by username stops
    guessing one account's password from many addresses; blocking by address stops one
    client from spraying many accounts.
    """

    def __init__(self, per_user: int = 5, per_ip: int = 20, window_seconds: float = 900.0) -> None:
        self.per_user = per_user
        self.per_ip = per_ip
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, username: str, ip: str | None) -> int:
        """Seconds until this sign-in may be tried again; 0 when allowed now."""
        now = time.monotonic()
        with self._lock:
            waits = [
                self._wait(f"u:{username.lower()}", self.per_user, now),
                self._wait(f"i:{ip}", self.per_ip, now) if ip else 0.0,
            ]
        return int(max(waits) + 0.999)

    def failure(self, username: str, ip: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 50_000:  # bound memory under a spray of usernames
                self._prune(now)
            for key in (f"u:{username.lower()}", f"i:{ip}" if ip else None):
                if key:
                    self._failures.setdefault(key, deque()).append(now)

    def success(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{username.lower()}", None)

    def _wait(self, key: str, limit: int, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) < limit:
            return 0.0
        return self.window - (now - times[-limit])

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._failures.items() if not v or now - v[-1] > self.window]:
            del self._failures[key]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def is_tls(request: Request) -> bool:
    return request.url.scheme == "https"


def _csrf_problem(request: Request, body: bytes, expected: str) -> str | None:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin != own:
            return "This request came from another site."
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=1000).get(CSRF_FIELD)
        sent = values[0] if values else None
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        return "The form's security token is missing or stale. Reload the page and try again."
    return None


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _error(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str, title: str | None = None
) -> None:
    from resonance.web.problems import error_response

    response = error_response(Request(scope, receive), status, detail, title=title)
    await response(scope, receive, send)
