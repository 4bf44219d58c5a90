"""A real uvicorn server on 127.0.0.1 (random free port) over a store holding a small
hand-built company, with one account per role. Shared by the web tests of one worker."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from tests.web.company import build_company

from conftest import cursor_rows
from resonance.config import Settings
from resonance.store import Store, open_store
from resonance.web.accounts import create_token, create_user, ensure_auth_schema
from resonance.web.app import create_app

PASSWORD = "correct-horse-battery"
ACCOUNTS = {
    # role in the tests -> (username, app role, person)
    "employee": ("ada", "employee", "hr:E03"),
    "other": ("liam", "employee", "hr:E04"),
    "manager": ("mara", "manager", "hr:E02"),
    "analyst": ("hana", "analyst", "hr:E11"),
    "admin": ("root", "admin", None),
    "optout": ("ravi", "employee", "hr:E12"),
}


@dataclass
class Web:
    base: str
    store: Store
    ids: dict
    tokens: dict = field(default_factory=dict)
    _sessions: dict = field(default_factory=dict)

    def client(self, who: str | None = None) -> httpx.Client:
        """A client signed in as `who` (a key of ACCOUNTS) through the real sign-in form; None = anonymous."""
        c = httpx.Client(base_url=self.base, follow_redirects=False, timeout=30)
        if who is None:
            return c
        if who in self._sessions:
            c.cookies.set("resonance_session", self._sessions[who])
            return c
        login(c, ACCOUNTS[who][0], PASSWORD)
        self._sessions[who] = c.cookies.get("resonance_session")
        return c

    def csrf(self, client: httpx.Client) -> str:
        page = client.get("/me/settings")
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return cursor_rows(self.store, sql, params)


def login(client: httpx.Client, username: str, password: str, next_: str = "") -> httpx.Response:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, "next": next_}
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app: object) -> Iterator[str]:
    """Run `app` under uvicorn in a thread until the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def compute_metrics(store: Store) -> bool:
    """Run the real metrics pipeline on the store; False when the engine is not in this build."""
    try:
        from resonance.metrics.pipeline import run_pipeline
    except ImportError:
        return False
    run_pipeline(store.con)
    return True


@pytest.fixture(scope="session")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    path: Path = tmp_path_factory.mktemp("web") / "web.duckdb"
    store = open_store(path)
    ids = build_company(store.con)
    ids["metrics"] = compute_metrics(store)
    ensure_auth_schema(store.con)
    for username, role, person in ACCOUNTS.values():
        create_user(store.con, username, PASSWORD, role, person, actor="tests")
    app = create_app(Settings.from_args(db=path), store=store)
    try:
        with serve(app) as base:
            w = Web(base, store, ids)
            for who in ("employee", "other", "admin"):
                w.tokens[who] = create_token(store.con, ACCOUNTS[who][0], "tests", actor="tests")[0]
            yield w
    finally:
        store.close()
