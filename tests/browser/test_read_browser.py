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
from tests.browser.test_documents_browser import upload  # noqa: E402
from tests.browser.test_ui_browser import ask, close, open_panels, page_for, titles, wait_done  # noqa: E402
from tests.index_helpers import make_pdf  # noqa: E402
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


BRANCH = "The Lisbon office opened its harbour branch in 1998 on the old quay."
DEPOT = "The tram depot beside the quay was closed for repairs that winter."
FILLER = "The committee discussed paint, chairs and the budget for the summer party. " * 6
DOC_ROUNDS = ["Look in the files.\n</think>\n\n<tool_call>\n"
              '{"name": "search_documents", "arguments": {"query": "tram depot"}}\n</tool_call>',
              "Found it.\n</think>\n\nThe branch opened in 1998 [1]."]


@pytest.fixture()
def documents_ui(tmp_path: Path):
    (tmp_path / "rounds.json").write_text(json.dumps(DOC_ROUNDS), encoding="utf-8")
    (tmp_path / "web.json").write_text("{}", encoding="utf-8")
    (tmp_path / "pages.json").write_text("{}", encoding="utf-8")  # reading on; no web page to read
    settings = Settings(backend="scripted", model_script=str(tmp_path / "rounds.json"),
                        search_fixture=str(tmp_path / "web.json"), provider="fixture",
                        page_fixture=str(tmp_path / "pages.json"), results_per_search=1)
    demo, url = serve(settings)
    yield url
    demo.close()


def test_a_document_read_whole_shows_the_passages_read_in_its_card_chip_and_sources(
        browser, documents_ui, tmp_path: Path) -> None:
    """The search found the depot page; the document was then read whole, and the chat shows
    what was read (the branch page first) with the pages it is on, not the search passage alone."""
    report = tmp_path / "harbour.pdf"
    report.write_bytes(make_pdf(["Contents and staff list.", BRANCH + " " + FILLER, FILLER, DEPOT + " " + FILLER,
                                 FILLER], title="Harbour notes"))
    page = page_for(browser, documents_ui)
    upload(page, report)
    page.wait_for_function("document.querySelector('#doc-list')?.innerText.includes('harbour.pdf')",
                           timeout=60_000)
    page.keyboard.press("Escape")
    ask(page, "When did the Lisbon office open its harbour branch?")
    wait_done(page)
    assert any(t.startswith("Read Harbour notes · 2 passages") for t in titles(page, raw=True))
    chip = page.locator("#chat a.cite").first
    preview = html.unescape(chip.get_attribute("title") or "")
    assert preview.startswith("1. Harbour notes · harbour.pdf, pages 2, 4") and BRANCH in preview
    card = html.unescape(page.get_attribute("#chat a.source-card", "title") or "")
    assert "harbour.pdf, pages 2, 4" in card and BRANCH in card
    assert page.get_attribute("#chat a.source-card", "href") == chip.get_attribute("href")
    open_panels(page)
    page.evaluate("document.querySelectorAll('#chat details.passage').forEach(d => d.open = false)")
    chip.scroll_into_view_if_needed()
    chip.click()  # the chip opens the passages that were read, in place
    shown = page.wait_for_function("(() => { const d = [...document.querySelectorAll('#chat details.passage')]"
                                   ".find(d => d.open); return d ? d.innerText : null; })()",
                                   timeout=10_000).json_value()
    assert "pages 2, 4" in shown and BRANCH in shown and DEPOT in shown and "page 2:" in shown
    assert "Contents and staff list" not in shown
    close(page)
