"""Fixtures for the kudos tests: the kudos company built once per session into a template file,
a fresh copy per test (`kstore`), and real uvicorn servers over their own copies (`kserver`)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from tests.kudos.company import build_kudos_company
from tests.web.conftest import PASSWORD, login, serve

from conftest import cursor_rows
from resonance.config import Settings
from resonance.kudos.rules import KudosRules, kudos_rules
from resonance.store import Store, open_store
from resonance.web.accounts import create_token, create_user, ensure_auth_schema
from resonance.web.app import create_app

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MATTERMOST_TOKEN = "mm-token-0123456789"
# A business app embedding the widget (served by Playwright; loopback, as Chromium blocks framing
# a loopback server from a public origin).
CRM_ORIGIN = "http://localhost:9"
USERS = {
    # username -> person
    "ada": "hr:E03", "liam": "hr:E04", "sofia": "hr:E05", "jonas": "hr:E06", "priya": "hr:E07",
    "chloe": "hr:E09", "omar": "hr:E10", "mara": "hr:E02", "tom": "hr:E08", "root": None,
}


@pytest.fixture(scope="session")
def kudos_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("kudos-template") / "company.duckdb"
    store = open_store(path)
    try:
        ids = build_kudos_company(store.con)
        ensure_auth_schema(store.con)
        for username, person in USERS.items():
            create_user(store.con, username, PASSWORD, "admin" if person is None else "employee", person,
                        actor="tests")
        store.con.execute("CHECKPOINT")
    finally:
        store.close()
    return path, ids


def copy_store(template: Path, target: Path) -> Store:
    shutil.copy(template, target)
    return open_store(target)


@pytest.fixture
def kstore(kudos_template: tuple[Path, dict], tmp_path: Path) -> Iterator[Store]:
    store = copy_store(kudos_template[0], tmp_path / "kudos.duckdb")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def ids(kudos_template: tuple[Path, dict]) -> dict:
    return kudos_template[1]


@pytest.fixture
def rules() -> KudosRules:
    return kudos_rules(None)


@dataclass
class KServer:
    base: str
    store: Store
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str | None = None) -> httpx.Client:
        """A client signed in through the real sign-in form as `who` (a username), or anonymous."""
        c = httpx.Client(base_url=self.base, follow_redirects=False, timeout=30)
        if who is not None:
            assert login(c, who, PASSWORD).status_code == 303
        return c

    def csrf(self, client: httpx.Client) -> str:
        page = client.get("/me/settings")
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return cursor_rows(self.store, sql, params)


@contextmanager
def kudos_server(template: Path, workdir: Path, rules_toml: str = "", **overrides: object) -> Iterator[KServer]:
    """A real server over a fresh copy of the kudos company, with Slack, Mattermost and the widget configured."""
    rules_path = None
    if rules_toml:
        rules_path = workdir / "rules.toml"
        rules_path.write_text(rules_toml)
    store = copy_store(template, workdir / "server.duckdb")
    settings = Settings.from_args(
        db=workdir / "server.duckdb", rules_path=rules_path, slack_signing_secret=SLACK_SECRET,
        mattermost_token=MATTERMOST_TOKEN, widget_frame_ancestors=f"'self' {CRM_ORIGIN}", **overrides,
    )
    try:
        with serve(create_app(settings, store=store)) as base:
            server = KServer(base, store, settings)
            for username in USERS:
                server.tokens[username] = create_token(store.con, username, "kudos-tests", actor="tests")[0]
            yield server
    finally:
        store.close()


@pytest.fixture(scope="session")
def kserver(kudos_template: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Iterator[KServer]:
    """One real server for the API, link, chat and browser tests (each test uses its own people/context)."""
    with kudos_server(kudos_template[0], tmp_path_factory.mktemp("kserver")) as server:
        yield server
