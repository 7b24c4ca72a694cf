"""Share links (``--share-links``): the list makes a read-only /share/<token> page that plays the
conversation, and revoking it makes the link answer 404. Off by default."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest

from tests.browser.test_ui_browser import open_app
from tests.ui_helpers import start_app_on_free_port

expect = pytest.importorskip("playwright.sync_api").expect

QUESTION = "How tall is the Eiffel Tower?"


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("on", [True, False])
def test_a_share_link_serves_the_player_until_revoked(browser, tmp_path, on):
    lines: list[str] = []
    env = {"DEEPSEARCH_DATA_DIR": str(tmp_path)}
    if on:
        env["DEEPSEARCH_SHARE_LINKS"] = "1"
    proc, port = start_app_on_free_port(lines, **env)
    base = f"http://127.0.0.1:{port}"
    context = browser.new_context()
    try:
        page = context.new_page()
        open_app(page, base + "/")
        page.fill("#question textarea", QUESTION)
        page.keyboard.press("Enter")
        expect(page.locator("#history").get_by_role("button", name=QUESTION)).to_have_count(1, timeout=120_000)
        if not on:
            assert page.locator("#history-link").count() == 0
            assert _status(base + "/share/" + "A" * 43) != 200
            return
        page.get_by_role("button", name="Toggle Sidebar").first.click()
        page.locator("#history-link").click()
        expect(page.locator("#history-link-text")).to_contain_text("/share/", timeout=30_000)
        path = re.search(r"/share/[A-Za-z0-9_-]{43}", page.locator("#history-link-text").inner_text()).group(0)
        shared = context.new_page()
        shared.goto(base + path)
        expect(shared.locator("h1.question")).to_contain_text(QUESTION)
        assert _status(base + "/share/" + "A" * 43) == 404
        page.locator("#history-revoke").click()
        expect(page.locator("#history-link-text")).to_contain_text("revoked", timeout=30_000)
        assert _status(base + path) == 404
    finally:
        context.close()
        proc.kill()
        proc.wait(timeout=30)
