"""A small asyncio + httpx load generator for a real Resonance server.

Each virtual user signs in through the real sign-in form (its own session cookie and CSRF
token), then loops until the deadline: pick a request from a weighted mix, send it, record
its latency and outcome, optionally wait a think time. Used by `benchmarks/run.py` (dashboard
under load), `benchmarks/load.py` (reads, kudos and votes during a compute job) and
`tests/test_load.py` (the short version in CI).

Outcomes:
- reads: 200 is `ok`, anything else an `error`;
- writes (kudos, votes): 200/201 is `ack` (acknowledged: the server says it is stored),
  409/429 a `refused` (the kudos rules: budget, rate, self, duplicate context) — expected,
  not an error; anything else (5xx, 404, 422, timeouts, connection errors) an `error`.
"""

from __future__ import annotations

import asyncio
import html
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PERIOD_METRICS = ("activity", "reaction", "eminence", "network", "knowledge_value")


@dataclass(frozen=True)
class Request:
    name: str
    """Label for the per-endpoint figures (`GET /api/me/metrics`)."""
    method: str
    path: str
    json: Any = None
    kind: str = "read"
    """`read`, `kudos` or `vote`."""


@dataclass
class User:
    """A signed-in virtual user."""

    username: str
    person_id: str | None
    client: httpx.AsyncClient
    csrf: str = ""
    periods: list[str] = field(default_factory=list)


@dataclass
class World:
    """What the request mix draws from."""

    people: list[str]
    """Person ids (kudos receivers)."""
    items: list[str]
    """Votable item ids."""
    periods: list[str] = field(default_factory=list)


Mix = Callable[[random.Random, User, World], Request]


@dataclass
class Record:
    name: str
    kind: str
    at: float
    ms: float
    status: int
    outcome: str
    """ok | ack | refused | error"""
    detail: Any = None
    user: str = ""


@dataclass
class Report:
    records: list[Record]
    seconds: float
    clients: int
    sign_in_seconds: float
    writes: list[dict] = field(default_factory=list)
    """Acknowledged writes: {kind, user, status, kudos_id | item_id, value, changed}."""
    started_utc: datetime | None = None
    ended_utc: datetime | None = None
    """The measured window, naive UTC (as the store's timestamps)."""
    warm_seconds: float = 0.0

    def figures(self) -> dict[str, Any]:
        """p50/p95/p99 latency (ms), requests per second, errors and outcomes, overall and per endpoint."""
        return {**summarise(self.records, self.seconds), "clients": self.clients,
                "duration_s": round(self.seconds, 1), "sign_in_s": round(self.sign_in_seconds, 1),
                "warm_up_s": round(self.warm_seconds, 1),
                "endpoints": {name: summarise(rs, self.seconds) for name, rs in sorted(_by_name(self.records).items())},
                "error_samples": [f"{r.name}: {r.status} {str(r.detail)[:200]}" for r in self.records
                                  if r.outcome == "error"][:5]}


def _by_name(records: list[Record]) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        out[r.name].append(r)
    return out


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summarise(records: list[Record], seconds: float) -> dict[str, Any]:
    lat = sorted(r.ms for r in records)
    outcomes = Counter(r.outcome for r in records)
    return {
        "requests": len(records),
        "rps": round(len(records) / seconds, 1) if seconds else None,
        "p50_ms": _r(percentile(lat, 50)),
        "p95_ms": _r(percentile(lat, 95)),
        "p99_ms": _r(percentile(lat, 99)),
        "max_ms": _r(lat[-1] if lat else None),
        "errors": outcomes.get("error", 0),
        "outcomes": dict(sorted(outcomes.items())),
        "statuses": dict(sorted(Counter(str(r.status) for r in records).items())),
    }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


# --- request mixes -----------------------------------------------------------------------------
def _period(rng: random.Random, user: User) -> str:
    """The default period most of the time (what a dashboard opens on), another one sometimes."""
    if user.periods and rng.random() < 0.3:
        return "&period=" + rng.choice(user.periods)
    return ""


def dashboard_read(rng: random.Random, user: User, world: World) -> Request:
    """What the personal dashboard asks for: the page, its JSON API, evidence, kudos, periods."""
    x = rng.random()
    p = _period(rng, user)
    if x < 0.25:
        return Request("GET /me", "GET", "/me?peer_group=company" + p)
    if x < 0.55:
        group = rng.choice(("company", "company", "department", "role", "location"))
        return Request("GET /api/me/metrics", "GET", f"/api/me/metrics?peer_group={group}" + p)
    if x < 0.65:
        return Request("GET /api/me/periods", "GET", "/api/me/periods")
    if x < 0.75:
        return Request("GET /api/me/kudos", "GET", "/api/me/kudos?page_size=20")
    if x < 0.90:
        metric = rng.choice(PERIOD_METRICS)
        return Request("GET /api/me/evidence", "GET", f"/api/me/evidence?metric={metric}&page_size=20" + p)
    return Request("GET /api/me", "GET", "/api/me")


def mixed(read_share: float = 0.7, kudos_share: float = 0.15) -> Mix:
    """Dashboard reads, kudos (`POST /api/kudos`) and helpfulness votes (`POST /api/items/{id}/vote`)."""

    def choose(rng: random.Random, user: User, world: World) -> Request:
        x = rng.random()
        if x < read_share or not world.people:
            return dashboard_read(rng, user, world)
        if x < read_share + kudos_share or not world.items:
            receiver = rng.choice(world.people)
            body: dict[str, Any] = {"receiver": receiver, "message": f"thanks from {user.username}",
                                    "values": [rng.choice(("teamwork", "craft", "learning"))]}
            if world.items and rng.random() < 0.8:  # an item context: a new kudos rather than the day's duplicate
                body["item"] = rng.choice(world.items)
            return Request("POST /api/kudos", "POST", "/api/kudos", body, "kudos")
        item = rng.choice(world.items)
        return Request("POST /api/items/{id}/vote", "POST", f"/api/items/{item}/vote",
                       {"value": rng.choice((1, 1, -1))}, "vote")

    return choose


# --- running -----------------------------------------------------------------------------------
async def sign_in(client: httpx.AsyncClient, username: str, password: str, timeout: float = 30.0) -> str:
    """Sign in through the real form; returns the session's CSRF token (for state-changing requests).
    `timeout` per request: a server that has just started on a large store is busy building its indexes."""
    form = await client.get("/login", timeout=timeout)
    token = CSRF_RE.search(form.text)
    if token is None:
        raise RuntimeError(f"no sign-in form at /login ({form.status_code})")
    r = await client.post("/login", data={"username": username, "password": password,
                                          "csrf_token": token.group(1), "next": ""}, timeout=timeout)
    if r.status_code != 303 or "resonance_session" not in client.cookies:
        raise RuntimeError(f"sign-in of {username} failed: {r.status_code} {r.text[:200]}")
    page = await client.get("/me/settings", timeout=timeout)
    csrf = CSRF_RE.search(page.text)
    if csrf is None:
        raise RuntimeError(f"no CSRF token on /me/settings for {username} ({page.status_code})")
    return csrf.group(1)


def classify(req: Request, status: int) -> str:
    if req.kind == "read":
        return "ok" if status == 200 else "error"
    if status in (200, 201):
        return "ack"
    if status in (409, 429):
        return "refused"
    return "error"


LAZY_PANEL_RE = re.compile(r'hx-get="(/me/advice\?[^"]*)" hx-trigger="load"')
"""A panel the dashboard leaves to load right after the page (htmx `hx-trigger="load"`): a browser asks at once."""


async def _user_loop(user: User, world: World, mix: Mix, rng: random.Random, t0: float, deadline: float,
                     think: tuple[float, float], records: list[Record], writes: list[dict], ramp_s: float) -> None:
    if ramp_s > 0:  # users arrive over the first second or so (as locust's spawn rate), not in one millisecond
        await asyncio.sleep(rng.uniform(0, ramp_s))
    while time.perf_counter() < deadline:
        req: Request | None = mix(rng, user, world)
        while req is not None:
            req = await _send(user, req, t0, records, writes)
        if think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))


async def _send(user: User, req: Request, t0: float, records: list[Record], writes: list[dict]) -> Request | None:
    """Send one request and record it; returns what a browser would ask for next (a panel the page loads)."""
    headers = {"X-CSRF-Token": user.csrf} if req.method != "GET" else {}
    if req.name == "GET /me/advice":
        headers["HX-Request"] = "true"
    started = time.perf_counter()
    detail: Any = None
    follow: Request | None = None
    try:
        r = await user.client.request(req.method, req.path, json=req.json, headers=headers or None)
        status = r.status_code
        body = r.content
        lazy = LAZY_PANEL_RE.search(r.text) if req.name == "GET /me" and status == 200 else None
        if lazy:
            follow = Request("GET /me/advice", "GET", html.unescape(lazy.group(1)))
    except httpx.HTTPError as exc:
        status, body, detail = 0, b"", f"{type(exc).__name__}: {exc}"
    ms = (time.perf_counter() - started) * 1000
    outcome = classify(req, status)
    if outcome == "error" and detail is None:
        detail = body[:300].decode(errors="replace")
    if outcome == "ack":
        data = r.json()
        if req.kind == "kudos":
            writes.append({"kind": "kudos", "user": user.username, "status": status,
                           "kudos_id": data["kudos_id"], "created": data["created"]})
        else:
            writes.append({"kind": "vote", "user": user.username, "person_id": user.person_id,
                           "item_id": data["item_id"], "value": data["value"], "changed": data["changed"],
                           "at": started - t0})
    records.append(Record(req.name, req.kind, started - t0, ms, status, outcome, detail, user.username))
    return follow


PREPARING = "Resonance is reading the latest data"
"""What the dashboard's knowledge panels say while the server builds its knowledge index."""


async def _warm(users: list[User], paths: tuple[str, ...], ready_timeout_s: float) -> float:
    """Before measuring: wait until the dashboard's knowledge panels are ready (the server builds its
    knowledge index in the background after it starts), then open each user's pages once, a few at a
    time, as people who used Resonance before. Returns the seconds spent."""
    started = time.perf_counter()
    deadline = started + ready_timeout_s
    while time.perf_counter() < deadline:
        try:
            r = await users[0].client.get("/me")
        except httpx.TimeoutException:
            # A large store (50k people at 10M events) keeps the server busy building the index for longer
            # than one request's timeout: keep asking until the deadline.
            continue
        if r.status_code == 200 and PREPARING not in r.text:
            break
        await asyncio.sleep(2.0)
    gate = asyncio.Semaphore(4)

    async def visit(u: User) -> None:
        async with gate:
            for path in paths:  # not measured: a first view may wait for what the server is still preparing
                await u.client.get(path, timeout=ready_timeout_s)

    await asyncio.gather(*(visit(u) for u in users))
    return time.perf_counter() - started


async def run_load_async(base_url: str, accounts: list[tuple[str, str, str | None]], world: World, mix: Mix,
                         duration_s: float, think: tuple[float, float] = (0.0, 0.0), seed: int = 7,
                         timeout_s: float = 30.0, on_start: Callable[[], Any] | None = None,
                         clients: int | None = None, warm_paths: tuple[str, ...] = (),
                         ready_timeout_s: float = 900.0, ramp_s: float | None = None) -> Report:
    """Sign `clients` clients in (default: one per account; accounts are (username, password, person_id),
    taken in turn), warm up (`warm_paths`: see `_warm`; nothing when empty), then run them concurrently
    for `duration_s`."""
    n = clients or len(accounts)
    accounts = [accounts[k % len(accounts)] for k in range(n)]
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    users = [User(u, pid, httpx.AsyncClient(base_url=base_url, timeout=timeout_s, limits=limits,
                                            follow_redirects=False)) for u, _, pid in accounts]
    # More clients than accounts: the accounts take turns (each client has its own session).
    try:
        started = time.perf_counter()
        gate = asyncio.Semaphore(4)  # password hashing is slow on purpose: sign in a few at a time

        async def one(u: User, pw: str) -> str:
            async with gate:
                return await sign_in(u.client, u.username, pw, timeout=ready_timeout_s)

        tokens = await asyncio.gather(*(one(u, pw) for u, (_, pw, _) in zip(users, accounts, strict=True)))
        for u, token in zip(users, tokens, strict=True):
            u.csrf = token
            u.periods = list(world.periods)
        signed_in = time.perf_counter() - started
        warm_s = await _warm(users, warm_paths, ready_timeout_s) if warm_paths else 0.0
        if on_start is not None:
            on_start()
        records: list[Record] = []
        writes: list[dict] = []
        started_utc = datetime.now(UTC).replace(tzinfo=None)
        t0 = time.perf_counter()
        deadline = t0 + duration_s
        ramp = think[1] if ramp_s is None else ramp_s
        await asyncio.gather(*(_user_loop(u, world, mix, random.Random(seed * 1000 + i), t0, deadline, think,
                                          records, writes, ramp) for i, u in enumerate(users)))
        seconds = time.perf_counter() - t0
        ended_utc = datetime.now(UTC).replace(tzinfo=None)
    finally:
        await asyncio.gather(*(u.client.aclose() for u in users))
    records.sort(key=lambda r: (r.at, r.name))
    return Report(records, seconds, len(users), signed_in, writes, started_utc, ended_utc, warm_s)


def run_load(*args: Any, **kwargs: Any) -> Report:
    """`run_load_async` in a fresh event loop."""
    return asyncio.run(run_load_async(*args, **kwargs))


# --- checking the store afterwards -------------------------------------------------------------
def check_writes(con: Any, report: Report, usernames: list[str]) -> dict[str, Any]:
    """Every acknowledged write stored exactly once: compares the acknowledgements with the store.

    - kudos: each 201 is a new kudos row (and one `Kudos` event, one audit row); a 200 names an
      existing kudos (the same giver, receiver and context); the load users' kudos rows are
      exactly the 201s.
    - votes: each acknowledged vote with `changed` is one `Vote` event and one audit row; each
      (voter, item) holds the value of its last acknowledged vote.
    """
    marks = ",".join("?" * len(usernames))
    kudos_rows = con.execute(
        f"SELECT kudos_id FROM kudos WHERE recorded_by IN ({marks}) ORDER BY kudos_id", usernames).fetchall()
    stored_kudos = [r[0] for r in kudos_rows]
    created = sorted(w["kudos_id"] for w in report.writes if w["kind"] == "kudos" and w["status"] == 201)
    existing = sorted({w["kudos_id"] for w in report.writes if w["kind"] == "kudos" and w["status"] == 200})
    missing_existing = sorted(set(existing) - set(stored_kudos))
    kudos_events = con.execute(
        f"""SELECT count(*) FROM events WHERE source = 'resonance' AND verb = 'Kudos'
            AND native_id IN (SELECT 'kudos:' || kudos_id FROM kudos WHERE recorded_by IN ({marks}))""",
        usernames).fetchall()[0][0]
    kudos_audit = con.execute(
        f"SELECT count(*) FROM kudos_audit WHERE action = 'kudos' AND actor IN ({marks})", usernames).fetchall()[0][0]
    vote_acks = [w for w in report.writes if w["kind"] == "vote"]
    changed = sum(1 for w in vote_acks if w["changed"])
    vote_audit = con.execute(
        f"SELECT count(*) FROM kudos_audit WHERE action = 'vote' AND actor IN ({marks})", usernames).fetchall()[0][0]
    voters = sorted({w["person_id"] for w in vote_acks})
    vote_events = 0
    stored_votes: dict[tuple[str, str], int] = {}
    if voters:
        vm = ",".join("?" * len(voters))
        vote_events = con.execute(
            f"""SELECT count(*) FROM events e JOIN identities i ON i.identity = e.actor
                WHERE e.source = 'resonance' AND e.verb = 'Vote' AND i.person_id IN ({vm})""", voters).fetchall()[0][0]
        stored_votes = {(v, i): val for i, v, val in con.execute(
            f"SELECT item_id, voter_id, value FROM item_votes WHERE voter_id IN ({vm})", voters).fetchall()}
    last: dict[tuple[str, str], int] = {}
    for w in sorted(vote_acks, key=lambda w: w["at"]):
        last[(w["person_id"], w["item_id"])] = w["value"]
    wrong_votes = sorted(k for k, v in last.items() if stored_votes.get(k, 0 if v == 0 else None) != v)
    result = {
        "kudos_acknowledged": len(created) + sum(1 for w in report.writes if w["kind"] == "kudos"
                                                 and w["status"] == 200),
        "kudos_created": len(created),
        "kudos_rows": len(stored_kudos),
        "kudos_events": kudos_events,
        "kudos_audit": kudos_audit,
        "kudos_duplicate_acks_missing": len(missing_existing),
        "votes_acknowledged": len(vote_acks),
        "votes_changed": changed,
        "vote_events": vote_events,
        "vote_audit": vote_audit,
        "votes_wrong_value": len(wrong_votes),
        "refused": sum(1 for r in report.records if r.outcome == "refused"),
    }
    result["exactly_once"] = (
        sorted(stored_kudos) == created and len(set(created)) == len(created) and kudos_events == len(created)
        and kudos_audit == len(created) and not missing_existing and vote_events == changed
        and vote_audit == changed and not wrong_votes
    )
    return result
