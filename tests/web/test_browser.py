"""Real Chromium (Debian's) through Playwright against the real server: sign in, the dashboard
with its charts, a drill-down, sign out; no failed request and no console error; stored scripts
never run. A screenshot of the dashboard is kept in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.web.conftest import ACCOUNTS, PASSWORD, Web

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("web")]

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"



class Watch:
    """Everything that went wrong in a page: console errors, page errors, failed or 4xx/5xx requests."""

    def __init__(self, page) -> None:
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: m.type in ("error", "warning") and self.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"{r.status}: {r.url}"))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def _request_failed(self, request) -> None:
        # A page that is navigated away from cancels what it is still loading (the browser
        # fetches the favicon after the load event, so a quick goto can cancel it): that is
        # ERR_ABORTED and no fault of the app. Every other failure counts.
        if "ERR_ABORTED" not in (request.failure or ""):
            self.problems.append(f"failed: {request.url} {request.failure}")


def sign_in(page, web: Web, who: str) -> None:
    page.goto(web.base + "/me")  # -> the sign-in form, then back here
    page.get_by_label("Username").fill(ACCOUNTS[who][0])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(web.base + "/me")


def test_dashboard_drill_down_and_sign_out(browser, web: Web):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page)
    sign_in(page, web, "employee")
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Ada Brook").is_visible()
    if web.ids["metrics"]:
        tiles = page.locator("[data-testid=tile]")
        assert tiles.count() == 5
        assert tiles.locator("svg.chart.trend").count() == 5
        assert page.get_by_test_id("shine").locator("svg.chart.trend").count() == 1  # kudos over time
        assert page.locator("svg.chart.meter").count() >= 4
        assert page.locator("#h-reach ~ svg.chart.bars, #h-reach + * svg.chart.bars, svg.chart.bars").count() >= 1
        assert page.get_by_test_id("persona").inner_text().strip()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        # Drill down: the Reaction figure opens its evidence in place (htmx), then it closes.
        page.get_by_test_id("value-reaction").click()
        evidence = page.get_by_test_id("evidence")
        evidence.wait_for()
        assert "Behind your Reaction" in evidence.inner_text()
        assert evidence.locator("tbody tr").count() >= 1
        assert page.url == web.base + "/me"  # swapped in place, no navigation
        page.screenshot(path=str(ARTIFACTS / "dashboard-evidence.png"), full_page=True)
        evidence.get_by_role("button", name="Close").click()
        evidence.wait_for(state="detached")
        # Another peer group re-renders the tiles.
        page.get_by_label("Compare with").select_option("department")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**peer_group=department**")
        assert "percentile in your department" in page.locator("[data-testid=tile]").first.inner_text()
    else:
        assert page.get_by_test_id("not-computed").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    page.get_by_role("link", name="Kudos", exact=True).click()
    assert page.get_by_role("heading", name="Kudos you received").is_visible()
    assert "Acme quarterly review" in page.content()
    page.get_by_test_id("sign-out").click()
    page.wait_for_url("**/login?signed_out=true")
    assert page.get_by_role("status").inner_text().startswith("You are signed out")
    page.goto(web.base + "/me")
    assert "/login" in page.url
    assert watch.problems == []
    page.close()


def test_stored_scripts_never_run(browser, web: Web):
    page = browser.new_page()
    watch = Watch(page)
    sign_in(page, web, "employee")
    page.goto(web.base + f"/me/item?id={web.ids['xss_item']}")
    body = page.get_by_test_id("item-body")
    assert "Deploy checklist" in body.inner_text()
    assert body.locator("script, img, [onerror], [onclick]").count() == 0
    body.get_by_text("click").click()  # the javascript: link lost its href
    page.goto(web.base + "/me/kudos")
    assert "<script>window.__xss = 4</script>Great demo" in page.get_by_text("Great demo").inner_text()
    for url in ("/me/items", "/me"):
        page.goto(web.base + url)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.title() != "pwned"
    assert watch.dialogs == [] and watch.problems == []
    page.close()


def test_admin_sees_quarantine_raw_records_safely_and_no_dashboard(browser, web: Web):
    page = browser.new_page()
    watch = Watch(page)
    page.goto(web.base + "/login")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(web.base + "/admin")
    page.get_by_role("link", name="Quarantine", exact=True).first.click()
    page.get_by_text("Raw record").first.click()
    assert "<script>alert(1)</script>" in page.locator("pre").first.inner_text() or \
        "<script>alert(1)</script>" in page.locator("pre").nth(1).inner_text()
    assert watch.dialogs == []
    watch.problems.clear()
    response = page.goto(web.base + "/me")
    assert response.status == 403
    assert "never read" in page.content()
    page.close()


def test_api_docs_render_under_the_csp(browser, web: Web):
    page = browser.new_page()
    watch = Watch(page)
    page.goto(web.base + "/api/docs")
    page.locator(".opblock").first.wait_for(timeout=20_000)
    assert page.locator(".opblock").count() >= 25
    assert [p for p in watch.problems if "Content Security Policy" in p or "failed" in p] == []
    page.close()
