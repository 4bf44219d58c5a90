"""Real Chromium (Debian's) against a real server: a one-click link with JavaScript off, the Thank
button on a meeting (htmx, in place), a helpfulness vote, and the widget framed by an allowed
business app but refused to any other site."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from tests.kudos.conftest import PASSWORD, kudos_server
from tests.web.test_browser import Watch

from resonance.kudos.links import KudosLink, link_key, sign_link

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(kudos_template, tmp_path_factory):
    with kudos_server(kudos_template[0], tmp_path_factory.mktemp("kudos-browser")) as s:
        yield s



def sign_in(page, server, username: str) -> None:
    page.goto(server.base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.base + "/me")


def test_one_click_link_without_javascript(browser, server, ids):
    key = link_key(server.store.con, None)
    token = sign_link(key, KudosLink("hr:E09", "hr:E10", ids["customer_meeting"], ids["account"], None, None,
                                     int(time.time()) + 3600))
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{server.base}/k/{token}")
    assert page.get_by_role("heading", name="Thank-you sent").is_visible()
    assert page.get_by_text("Customer: Globex Industries").is_visible()
    page.reload()
    assert page.get_by_role("heading", name="Already thanked").is_visible()
    assert server.rows("SELECT count(*) FROM kudos WHERE giver_id = 'hr:E09' AND receiver_id = 'hr:E10'") == [(1,)]
    assert watch.problems == []
    bad = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    response = page.goto(f"{server.base}/k/{bad}")
    assert response.status == 403 and page.get_by_role("heading", name="This kudos link is not valid").is_visible()
    context.close()


def test_thank_button_and_vote_in_place(browser, server, ids):
    page = browser.new_page()
    watch = Watch(page)
    sign_in(page, server, "chloe")
    page.get_by_role("link", name="Thank someone").click()
    page.get_by_role("link", name="Globex Industries: quarterly review").click()
    meeting_url = page.url
    person = page.get_by_test_id("person").filter(has_text="Ada Brook")
    person.get_by_role("button", name="Thank Ada").click()
    thanked = person.get_by_test_id("thanked")
    thanked.wait_for()
    assert "Thanked Ada Brook" in thanked.inner_text() and "Globex Industries" in thanked.inner_text()
    assert page.url == meeting_url  # swapped in place
    assert server.rows("""SELECT channel, ctx_meeting, ctx_account FROM kudos
                          WHERE giver_id = 'hr:E09' AND receiver_id = 'hr:E03'""") == [
        ("web", ids["customer_meeting"], ids["account"])]
    assert page.get_by_test_id("one-click-link").count() == 3  # the organiser's links
    # A helpfulness vote, changed, in place.
    item = server.rows("""SELECT min(item_id) FROM items it JOIN identities i ON i.identity = it.author
                          WHERE it.kind = 'post' AND i.person_id <> 'hr:E09'""")[0][0]
    page.goto(f"{server.base}/kudos/item?id={item}")
    page.get_by_test_id("vote-up").click()
    page.wait_for_selector("[data-testid=vote-up][aria-pressed=true]")
    page.get_by_test_id("vote-down").click()
    page.wait_for_selector("[data-testid=vote-down][aria-pressed=true]")
    assert server.rows("SELECT value, version FROM item_votes WHERE item_id = ? AND voter_id = 'hr:E09'", [item]) == [
        (-1, 2)]
    # The item's Thank button thanks its author for that item, in place.
    page.get_by_role("button", name=re.compile(r"^Thank ")).click()
    page.get_by_test_id("thanked").wait_for()
    author = server.rows("SELECT i.person_id FROM items it JOIN identities i ON i.identity = it.author "
                         "WHERE it.item_id = ?", [item])[0][0]
    assert server.rows("SELECT channel FROM kudos WHERE giver_id = 'hr:E09' AND receiver_id = ? AND ctx_item = ?",
                       [author, item]) == [("web",)]
    # A colleague's card found by search (htmx, as you type): its Thank button.
    page.get_by_role("link", name="Thank someone", exact=True).click()
    page.get_by_label("Find a colleague, one of your meetings or a shared item").fill("sofia")
    card = page.get_by_test_id("colleague").filter(has_text="Sofia Reyes")
    card.get_by_role("button", name="Thank Sofia").click()
    card.get_by_test_id("thanked").wait_for()
    assert server.rows("""SELECT channel FROM kudos WHERE giver_id = 'hr:E09' AND receiver_id = 'hr:E05'
                          AND ctx_item IS NULL AND ctx_meeting IS NULL""") == [("web",)]
    assert watch.problems == []
    page.close()


@contextmanager
def business_app(widget: str) -> Iterator[int]:
    """A stand-in business app on a loopback port: every page embeds the widget in an iframe."""
    page = (f'<html><body><h1>CRM contact</h1><iframe id="w" src="{widget}" width="400" height="80"></iframe>'
            "</body></html>").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        thread.join(5)


def test_widget_framed_only_by_allowed_sites(browser, server):
    # Chromium refuses to frame a loopback server from a public origin, so the business app is on
    # loopback too: `localhost:PORT` is allowed, `127.0.0.1:PORT` (another origin) is not.
    with business_app(f"{server.base}/kudos/widget?to=hr:E03") as port:
        allowed = server.settings.widget_frame_ancestors
        server.settings.widget_frame_ancestors = f"'self' http://localhost:{port}"
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"http://localhost:{port}/contact")
            page.frame_locator("#w").get_by_text("to thank Ada Brook").wait_for()  # no session in a cross-site frame
            refused: list[str] = []
            page.on("console", lambda m: refused.append(m.text))
            page.goto(f"http://127.0.0.1:{port}/contact")
            page.wait_for_timeout(500)
            assert any("frame-ancestors" in m for m in refused), refused
            assert page.frame_locator("#w").get_by_text("to thank Ada Brook").count() == 0
        finally:
            context.close()
            server.settings.widget_frame_ancestors = allowed
