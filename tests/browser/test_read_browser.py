"""The Read panel and a read source's chip in the browser: scripted backend, bundled pages."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from agent.config import Settings  # noqa: E402
from tests.browser.test_ui_browser import ask, close, open_panels, page_for, titles, wait_done  # noqa: E402
from tests.ui_helpers import serve  # noqa: E402

ROUNDS = [
    "I should search.\n</think>\n\n<tool_call>\n"
    '{"name": "web_search", "arguments": {"query": "harbour bridge opening"}}\n</tool_call>',
    "The page says 1932.\n</think>\n\nThe bridge opened in 1932 [1].",
]
RESULTS = {"harbour bridge opening": [
    {"title": "Harbour Bridge history", "url": "https://bridges.example/harbour", "content": "A bridge."},
    {"title": "Town archive", "url": "https://archive.example/locked", "content": "Archive snippet."}]}
PAGE = ("<html><head><title>Harbour Bridge history</title></head><body><nav>Home | Bridges</nav><article>"
        "<h1>Harbour Bridge</h1><p>" + "The council debated the design for many years. " * 6 + "</p><p>"
        "The Harbour Bridge was opened in 1932 by the mayor after six years of building work.</p><p>"
        + "Traffic grew steadily in the decades that followed. " * 40 + "</p></article></body></html>")


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("read")
    (folder / "rounds.json").write_text(json.dumps(ROUNDS), encoding="utf-8")
    (folder / "search.json").write_text(json.dumps(RESULTS), encoding="utf-8")
    (folder / "pages.json").write_text(json.dumps({"https://bridges.example/harbour": PAGE,
                                                   "https://archive.example/locked": {"status": 403}}),
                                       encoding="utf-8")
    settings = Settings(backend="scripted", model_script=str(folder / "rounds.json"),
                        search_fixture=str(folder / "search.json"), provider="fixture",
                        page_fixture=str(folder / "pages.json"))
    demo, url = serve(settings)
    yield url
    demo.close()


def test_the_read_panel_and_the_chip_show_the_passage(browser, ui) -> None:
    page = page_for(browser, ui)
    ask(page, "When did the harbour bridge open?")
    wait_done(page)
    shown = titles(page, raw=True)
    assert any(t.startswith("Read Harbour Bridge history (bridges.example) · ") and "passage" in t for t in shown)
    assert any(t == "Could not read Town archive (archive.example): HTTP 403" for t in shown)
    open_panels(page)
    # The chat may re-render once more after the panels open: wait for the passage, not a moment.
    page.wait_for_function("[...document.querySelectorAll('#chat .read-passage')]"
                           ".some(e => e.innerText.includes('opened in 1932'))", timeout=30_000)
    passage = " ".join(page.eval_on_selector_all("#chat .read-passage", "els => els.map(e => e.innerText)"))
    assert "opened in 1932 by the mayor" in passage
    assert "\\." not in passage  # escaped as HTML, not with Markdown's backslashes
    link = page.get_attribute("#chat .read-passage a.read-at", "href")
    assert link.startswith("https://bridges.example/harbour#:~:text=")
    chip = page.locator('#chat a.cite').first
    assert chip.get_attribute("href").startswith("https://bridges.example/harbour#:~:text=")
    preview = html.unescape(chip.get_attribute("title") or "")
    assert "opened in 1932 by the mayor" in preview  # hovering the chip previews the passage
    close(page)
