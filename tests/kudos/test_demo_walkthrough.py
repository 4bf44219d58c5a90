"""Issue 6's "done when", end to end with the real commands: in the demo company (`resonance demo
--no-serve`), served by `resonance serve`, the organiser of a customer meeting gets one-click links
(`resonance kudos links --meeting ID`, forwarded to the running server, and the API), the attendee's
link is clicked in Chromium with JavaScript off, and the attendee's dashboard shows the kudos with
the meeting and the customer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.web.conftest import login
from tests.web.test_browser import CHROMIUM, FLAGS, Watch

from server_proc import Server, resonance

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A small demo company, prepared as `resonance demo --no-serve` does, then served by `resonance serve`."""
    work = tmp_path_factory.mktemp("kudos-demo")
    db = work / "demo.duckdb"
    made = resonance("demo", "--dir", str(work / "data"), "--db", str(db), "--people", "60", "--days", "45",
                     "--no-serve", cwd=work, timeout=600)
    assert made.returncode == 0, made.stderr[-2000:]
    accounts = " ".join(made.stderr.split())  # rich wraps long lines
    people = dict(re.findall(r"username: (organizer|attendee), password: [\w-]+, role: employee, person_id: (\S+)",
                             accounts))
    assert set(people) == {"organizer", "attendee"}, accounts[-1500:]
    server = Server(db).start(timeout=120)  # generous: CI machines are shared
    try:
        yield {"work": work, "db": db, "base": server.url, "people": people}
    finally:
        server.stop()


def test_organizer_thanks_attendee_with_one_click_and_dashboard_shows_it(demo, tmp_path):
    from playwright.sync_api import sync_playwright

    work, db, base = demo["work"], str(demo["db"]), demo["base"]
    # The organiser's customer meetings that the attendee was in (forwarded to the running server).
    listed = resonance("kudos", "meetings", "--organizer", "organizer", "--attendee", "attendee", "--customer",
                       "--db", db, cwd=work)
    assert listed.returncode == 0 and listed.stdout, listed.stderr
    meeting = listed.stdout.splitlines()[0].split("\t")[0]
    made = resonance("kudos", "links", "--meeting", meeting, "--db", db, "--json", cwd=work)
    assert made.returncode == 0, made.stderr
    links = json.loads(made.stdout)
    assert links["giver_id"] == demo["people"]["organizer"] and links["account_name"], links
    url = next(x["url"] for x in links["links"] if x["receiver_id"] == demo["people"]["attendee"])
    assert url.startswith(base + "/k/")  # the running server's address, as the CLI ran inside it
    title, customer, organizer = links["title"], links["account_name"], links["giver_name"]

    # The API gives the organiser the same links (and them only).
    with httpx.Client(base_url=base, timeout=30) as c:
        assert login(c, "organizer", "resonance-organizer").status_code == 303
        api = c.get("/api/kudos/links", params={"meeting": meeting}).json()
        assert sorted(x["receiver_id"] for x in api["links"]) == sorted(x["receiver_id"] for x in links["links"])

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            # One click from the e-mail: no session, no JavaScript.
            ctx = browser.new_context(java_script_enabled=False)
            page = ctx.new_page()
            watch = Watch(page)
            assert page.goto(url).status == 200
            assert page.get_by_role("heading", name="Thank-you sent").is_visible()
            assert page.get_by_text(f"Meeting: {title}").is_visible()
            assert page.get_by_text(f"Customer: {customer}").is_visible()
            page.screenshot(path=str(tmp_path / "link.png"))
            assert page.goto(url).status == 200  # a second click changes nothing
            assert page.get_by_role("heading", name="Already thanked").is_visible()
            assert watch.problems == []
            ctx.close()

            # The attendee signs in: the dashboard shows the kudos with the meeting and the customer.
            ctx = browser.new_context()
            page = ctx.new_page()
            page.goto(base + "/login")
            page.get_by_label("Username").fill("attendee")
            page.get_by_label("Password").fill("resonance-attendee")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(base + "/me")
            received = page.get_by_test_id("kudos-received")
            entry = received.locator("li").filter(has_text=organizer)
            assert entry.count() == 1, received.inner_text()
            assert entry.get_by_text(f"Meeting: {title}").is_visible()
            assert entry.get_by_text(f"Customer: {customer}").is_visible()
            assert customer in page.get_by_test_id("shine").inner_text()
            received.screenshot(path=str(tmp_path / "dashboard-kudos.png"))
            ctx.close()
        finally:
            browser.close()
    # Clicked twice, stored once.
    again = resonance("kudos", "list", "--to", "attendee", "--db", db, "--json", cwd=work)
    found = json.loads(again.stdout)
    assert [(k["giver_id"], k["meeting"], k["channel"]) for k in found["items"]] == [
        (demo["people"]["organizer"], meeting, "link")]
