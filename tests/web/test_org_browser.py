"""Real Chromium through Playwright: a manager's org dashboard (distributions, knowledge flow,
silos, key-person risk, trends; nothing about a single report), and an employee sharing a review
with that manager, who opens it, until the employee revokes it. Screenshots in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.web.company import PEOPLE, build_company
from tests.web.conftest import ACCOUNTS, PASSWORD, Web, compute_metrics, serve
from tests.web.test_browser import ARTIFACTS, Watch

from resonance.config import Settings
from resonance.store import open_store
from resonance.web.accounts import create_user, ensure_auth_schema
from resonance.web.app import create_app

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("web")]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Iterator[Web]:
    """A server of its own: the release log of the shared test server holds other tests' views, and
    what they released rightly limits what a later view may show."""
    path = tmp_path_factory.mktemp("org-browser") / "web.duckdb"
    store = open_store(path)
    ids = build_company(store.con)
    compute_metrics(store)
    ensure_auth_schema(store.con)
    for username, role, person in ACCOUNTS.values():
        create_user(store.con, username, PASSWORD, role, person, actor="tests")
    try:
        with serve(create_app(Settings.from_args(db=path), store=store)) as base:
            yield Web(base, store, ids)
    finally:
        store.close()


def sign_in(page, web: Web, who: str, path: str) -> None:
    page.goto(web.base + path)
    page.get_by_label("Username").fill(ACCOUNTS[who][0])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(web.base + path)


def test_manager_org_dashboard(browser, fresh: Web):  # noqa: F811
    web = fresh
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    watch = Watch(page)
    sign_in(page, web, "manager", "/org")
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("link", name="Organisation").get_attribute("aria-current") == "page"
    assert page.get_by_test_id("org-scope").inner_text() == "Organisation of Mara Quinn"
    table = page.get_by_test_id("distribution")
    assert table.locator("tbody tr").count() == 5
    assert table.locator("svg.chart.box").count() == 5
    assert page.locator("svg.chart.shares").count() == 1
    assert page.locator("svg.chart.heat").count() == 1
    assert page.locator("#h-trends ~ svg.chart.trend, svg.chart.trend").count() >= 3
    text = page.inner_text("main")
    for _pid, name, manager, *_ in PEOPLE:
        if manager == "E02":
            assert name not in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "org-manager.png"), full_page=True)
    page.get_by_label("Group by").select_option("location")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**by=location**")
    assert "not shown" in page.get_by_test_id("suppressed").inner_text()  # Berlin/Lyon/Austin thirds are < 5
    assert watch.problems == []
    page.close()


def test_employee_shares_then_revokes_a_review(browser, fresh: Web):  # noqa: F811
    web = fresh
    ada = browser.new_page(viewport={"width": 1200, "height": 900})
    watch = Watch(ada)
    sign_in(ada, web, "employee", "/me/review")
    ada.locator("select#period").select_option("2025-H2")
    ada.get_by_role("button", name="Show").click()
    ada.wait_for_url("**period=2025-H2**")
    assert ada.get_by_test_id("review").locator("svg").count() >= 5
    with ada.expect_download() as dl:
        ada.get_by_test_id("download-pdf").click()
    assert dl.value.suggested_filename == "resonance-review-2025-H2.pdf"
    ada.get_by_test_id("share").click()
    link = ada.get_by_test_id("share-created").locator("code").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    ada.screenshot(path=str(ARTIFACTS / "review-shared.png"), full_page=True)

    mara = browser.new_context().new_page()
    mara_watch = Watch(mara)
    sign_in(mara, web, "manager", link[len(web.base) :])
    assert mara.get_by_test_id("shared-banner").is_visible()
    assert "Ada Brook" in mara.get_by_test_id("review").inner_text()

    ada.reload()
    ada.locator("[data-testid^=revoke-]").first.click()
    ada.wait_for_url(web.base + "/me/review")
    assert "revoked" in ada.get_by_test_id("shares").inner_text()
    response = mara.goto(link)
    assert response.status == 410
    assert [p for p in watch.problems if "/api/me/review/report" not in p] == []  # the download aborts its navigation
    assert [p for p in mara_watch.problems if "410" not in p] == []
    mara.context.close()
    ada.close()
