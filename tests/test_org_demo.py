"""The issue's "done when", on the demo company (prepared by `resonance demo`'s own code, small):

- the demo manager sees their organisation's dashboard with knowledge flow and trends, and nothing
  about a single report: no report is named, every shown figure covers at least k people, and no
  two figures shown to them (every grouping, every filter, before and after a report opts out)
  differ by fewer than k people;
- the demo employee produces their review (HTML and PDF), shares it with their manager, who opens
  it (the view is in the access log), then revokes it (410 for the manager).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.web.conftest import login, serve
from tests.web.test_browser import ARTIFACTS, Watch

from conftest import cursor_rows
from resonance.config import Settings
from resonance.demo import prepare_demo
from resonance.generate import GenerateOptions
from resonance.privacy.consent import OPTED_OUT_SQL, set_consent
from resonance.privacy.guard import manager_subtree
from resonance.store import open_store
from resonance.web.accounts import DEMO_PASSWORDS
from resonance.web.app import create_app

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("org-demo")]
K = 5
DIMS = ("manager", "department", "location", "role")


class Demo:
    def __init__(self, base: str, store: Any, accounts: dict[str, dict]) -> None:
        self.base, self.store, self.accounts = base, store, accounts

    def client(self, username: str) -> httpx.Client:
        c = httpx.Client(base_url=self.base, follow_redirects=False, timeout=120)
        role = self.accounts[username]["role"]
        assert login(c, username, DEMO_PASSWORDS[role]).status_code == 303
        return c

    def subtree(self, manager: str) -> set[str]:
        cur = self.store.cursor()
        try:
            return manager_subtree(cur, manager)
        finally:
            cur.close()

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return cursor_rows(self.store, sql, params)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp: Path = tmp_path_factory.mktemp("org-demo")
    store = open_store(tmp / "demo.duckdb")
    # The demo's own preparation (generate, ingest, compute, demo accounts), on a small company and
    # the two richest formats so that it stays a few seconds.
    options = GenerateOptions(people=120, days=150, formats=("directory", "as2"))
    report = prepare_demo(store.con, tmp / "data", options, log=lambda _m: None)
    accounts = {a["username"]: a for a in report.accounts}
    try:
        with serve(create_app(Settings.from_args(db=tmp / "demo.duckdb"), store=store)) as base:
            yield Demo(base, store, accounts)
    finally:
        store.close()


def _members(demo: Demo, population: set[str], by: str, unit: str) -> frozenset[str]:
    """A shown unit's members, recomputed from the directory (not by the roll-up code)."""
    if by == "manager":
        return frozenset(population & demo.subtree(unit))
    rows = demo.rows(
        f"SELECT person_id FROM people WHERE coalesce(nullif({by}, ''), '(not recorded)') = ?", [unit]
    )
    return frozenset(population & {r[0] for r in rows})


def _population(demo: Demo, manager: str, filters: dict[str, str]) -> set[str]:
    opted_out = {r[0] for r in demo.rows(OPTED_OUT_SQL)}
    pop = demo.subtree(manager) - opted_out
    for dim, value in filters.items():
        pop &= {r[0] for r in demo.rows(f"SELECT person_id FROM people WHERE {dim} = ?", [value])}
    return pop


def _shown_sets(demo: Demo, mara: httpx.Client, manager: str) -> list[frozenset[str]]:
    """Every set of people a figure shown to the manager describes, over every grouping and filter."""
    team = demo.subtree(manager)
    values = {
        dim: sorted(
            {
                r[0]
                for r in demo.rows(
                    f"SELECT {dim} FROM people WHERE person_id IN (SELECT unnest(?::VARCHAR[])) AND {dim} IS NOT NULL",
                    [sorted(team)],
                )
            }
        )
        for dim in ("department", "location", "role")
    }
    views: list[dict[str, str]] = [{}] + [{dim: v} for dim, vs in values.items() for v in vs]
    sets: list[frozenset[str]] = []
    for filters, by in itertools.product(views, DIMS):
        doc = mara.get("/api/org/rollup", params={"by": by, **filters}).json()
        assert doc["min_group_size"] == K
        population = _population(demo, manager, filters)
        if doc["scope"] is not None:
            assert doc["scope"]["size"] == len(population) >= K
            sets.append(frozenset(population))
        for g in doc["groups"]:
            members = _members(demo, population, by, g["unit"])
            assert g["size"] == len(members) >= K, (by, filters, g["unit"])
            sets.append(members)
    return sets


def _assert_no_difference_below_k(sets: list[frozenset[str]]) -> None:
    for a, b in itertools.combinations(set(sets), 2):
        assert len(a ^ b) >= K, f"two shown figures differ by {len(a ^ b)} people"


def test_demo_manager_sees_flow_and_trends_and_nothing_about_a_single_report(demo: Demo):
    manager = demo.accounts["manager"]["person_id"]
    team = demo.subtree(manager)
    assert len(team) >= K
    mara = demo.client("manager")

    page = mara.get("/org")
    assert page.status_code == 200
    html = page.text
    flow = mara.get("/api/org/flow").json()
    trends = mara.get("/api/org/trends").json()
    key_person = mara.get("/api/org/key-person").json()
    # The latest period is the last month with data (the metrics stop at "now"; the demo ends before it).
    last_month = GenerateOptions().end.strftime("%Y-%m")
    assert flow["period"] == trends["period"] == key_person["period"] == last_month
    assert f"Organisation · {last_month}" in html
    # Knowledge flow: the organisation and the rest of the company, with interactions crossing it.
    inside = {u["unit"] for u in flow["units"] if u["inside"]}
    assert inside and any(u for u in flow["units"] if not u["inside"])
    assert any((m["from"] in inside) != (m["to"] in inside) and m["interactions"] > 0 for m in flow["matrix"])
    assert 'data-testid="flow"' in html and 'class="chart bars"' in html
    # Trends: a point per month of activity (the demo's 150 days span at least four months).
    assert len(trends["points"]) >= 4 and all(0 <= p["adoption"] <= 1 for p in trends["points"])
    assert trends["size"] == len(team)
    assert html.count('class="chart trend"') >= 3
    assert 'data-testid="distribution"' in html

    # Nothing about a single report: no name or id of a report (except those who lead a team of their
    # own, whose organisation is named as a unit), in any answer or the page.
    leaders = {r[0] for r in demo.rows("SELECT DISTINCT manager_id FROM people WHERE manager_id IS NOT NULL")}
    names = dict(
        demo.rows("SELECT person_id, display_name FROM people WHERE person_id IN (SELECT unnest(?::VARCHAR[]))",
                  [sorted(team)])
    )
    texts = [html, repr(flow), repr(trends), repr(key_person)]
    for pid in sorted(team - leaders):
        for text in texts:
            assert pid not in text
            assert not re.search(rf"\b{re.escape(names[pid])}\b", text), names[pid]
    assert set(key_person) >= {"topics", "shown"}
    assert all(set(t) == {"topic", "held_by", "concentration", "rank"} for t in key_person["topics"])

    # Every grouping and every filter the manager can ask for: no two figures differ by fewer than k.
    before = _shown_sets(demo, mara, manager)
    _assert_no_difference_below_k(before)
    # One report opts out; asking everything again must not reveal them by difference with what was shown.
    quitter = sorted(team - leaders - {demo.accounts["employee"]["person_id"]})[0]
    cur = demo.store.cursor()
    try:
        set_consent(cur, quitter, "analytics", False, changed_by="test", via="test")
    finally:
        cur.close()
    try:
        after = _shown_sets(demo, mara, manager)
        _assert_no_difference_below_k(before + after)
        assert all(quitter not in s for s in after)
        # The organisation without them is one person short of what was shown: it may not be shown now.
        assert frozenset(team) in before and frozenset(team - {quitter}) not in after
    finally:
        cur = demo.store.cursor()
        try:
            set_consent(cur, quitter, "analytics", True, changed_by="test", via="test")
        finally:
            cur.close()


def test_demo_employee_review_html_pdf_share_and_revoke(demo: Demo):
    employee = demo.accounts["employee"]["person_id"]
    manager = demo.accounts["manager"]["person_id"]
    assert demo.rows("SELECT manager_id FROM people WHERE person_id = ?", [employee])[0][0] == manager
    name = demo.rows("SELECT display_name FROM people WHERE person_id = ?", [employee])[0][0]
    eric, mara = demo.client("employee"), demo.client("manager")
    period = demo.rows("SELECT period FROM metric_periods WHERE period_type = 'half' ORDER BY period_start DESC")[0][0]

    html = eric.get("/api/me/review/report", params={"period": period, "format": "html"})
    assert html.status_code == 200 and html.text.lower().startswith("<!doctype html>") and name in html.text
    pdf = eric.get("/api/me/review/report", params={"period": period, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-") and len(pdf.content) > 10_000

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', eric.get("/me/settings").text).group(1)
    created = eric.post("/api/me/review/shares", json={"period": period}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    share = created.json()
    assert share["recipient_id"] == manager and share["active"]
    path = share["url"][len(demo.base) :]

    seen = mara.get(path)
    assert seen.status_code == 200 and name in seen.text and "Shared with you" in seen.text
    logged = demo.rows(
        "SELECT username, endpoint FROM access_log WHERE subject_person_id = ? AND purpose = ?",
        [employee, f"shared review #{share['share_id']}"],
    )
    assert logged == [("manager", path)]

    revoked = eric.delete(f"/api/me/review/shares/{share['share_id']}", headers={"X-CSRF-Token": csrf})
    assert revoked.status_code == 200 and not revoked.json()["active"]
    assert mara.get(path).status_code == 410
    audit = demo.rows(
        "SELECT action, by_user FROM review_share_log WHERE share_id = ? ORDER BY change_id", [share["share_id"]]
    )
    assert audit == [("create", "employee"), ("revoke", "employee")]


@pytest.mark.browser
def test_demo_manager_dashboard_in_the_browser(browser, demo: Demo):  # noqa: F811
    """What the demo manager sees in Chromium: distributions, flow bars and matrix, silos, trends; no error."""
    page = browser.new_page(viewport={"width": 1360, "height": 1000})
    page.set_default_timeout(120_000)
    watch = Watch(page)
    page.goto(demo.base + "/org")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill(DEMO_PASSWORDS["manager"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(demo.base + "/org")
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("org-scope").inner_text().startswith("Organisation of ")
    assert page.get_by_test_id("distribution").locator("svg.chart.box").count() == 5
    assert page.get_by_test_id("flow").locator("svg.chart.bars").count() == 2
    assert page.get_by_test_id("silos").locator("tbody tr").count() >= 1
    assert page.locator("svg.chart.trend").count() >= 3
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "org-demo-manager.png"), full_page=True)
    assert watch.problems == []
    page.close()
