"""Demo mode as a visitor meets it (issue 25.5, 25.7): no command-line flags or environment
variables in what the page says, no downloads for the note that no model runs here, the start-up
search it set aside said in Settings, and none of Gradio's footer links beside the app's own."""

from __future__ import annotations

import logging

import re

import pytest

from ui.startup import NO_GPU
from agent.config import Settings
from tests.browser.test_ui_browser import ANSWER, close, page_for, ask, wait_done
from tests.ui_helpers import serve
from ui.app_ui import EXAMPLES

SETTING_NAMES = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]+|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from agent.index.__main__ import main as index_main

    folder = tmp_path_factory.mktemp("docs")
    (folder / "notes.txt").write_text("Zebras live in Africa.", encoding="utf-8")
    index = folder / "index"
    assert index_main(["add", str(folder / "notes.txt"), "--index", str(index)]) == 0
    # Demo mode at (nearly) full speed: 0 would mean the demo's own pace, 0.01 s a chunk, and
    # every streamed frame costs the browser a redraw.
    built, url = serve(Settings(script_delay_s=0.0001, provider="local", index_dir=str(index)),
                       demo_reason=NO_GPU)
    yield built, url
    built.blocks.close()


def test_the_demo_names_no_flags_and_says_what_it_set_aside(browser, demo) -> None:
    built, url = demo
    assert "provider 'local'" in (built.runtime.banner_text or "")  # the terminal is told too
    page = page_for(browser, url)
    page.locator("#banner summary").click()
    banner = page.inner_text("#banner")
    assert not SETTING_NAMES.search(banner), banner
    assert "is not used" in banner
    page.click("#tools-toggle")
    page.wait_for_function("(document.querySelector('#settings-info')?.textContent || '').includes('Demo mode')",
                           timeout=30_000)
    info = page.text_content("#settings-info")
    assert "Demo mode:" in info and "provider 'local'" in info and "is not used" in info
    footer = page.evaluate("[...document.querySelectorAll('footer a, footer button')].map(e => e.innerText.trim())")
    assert not {"Use via API", "Settings", "Runs"} & set(footer), footer
    close(page)


def test_the_note_for_other_questions_offers_no_downloads(browser, demo) -> None:
    _, url = demo
    page = page_for(browser, url)
    ask(page, "What is the capital of Australia?")
    wait_done(page)
    note = page.locator(ANSWER).last.inner_text()
    assert "no language model is running here" in note and not SETTING_NAMES.search(note), note
    page.wait_for_selector("#ask", state="visible", timeout=30_000)
    for button in ("#dl-trace", "#dl-html", "#dl-md", "#dl-conv-html", "#dl-conv-md"):
        assert not page.locator(button).is_visible(), button
    ask(page, EXAMPLES[2])  # a recorded answer has its downloads
    wait_done(page)
    page.wait_for_selector("#dl-trace", state="visible", timeout=30_000)
    page.wait_for_selector("#dl-conv-md", state="visible", timeout=30_000)
    close(page)


def test_demo_mode_says_uploads_are_not_searched_and_no_raw_key_shows(browser, demo, tmp_path, caplog) -> None:
    from tests.browser.test_documents_browser import upload

    built, url = demo
    caplog.set_level(logging.INFO, logger="ui.documents_panel")
    # The terminal is told at launch, and again for each upload (issue 25.5).
    assert "do not search them" in (built.runtime.banner_text or "")
    page = page_for(browser, url)
    page.evaluate("""() => { window.__raw = false; new MutationObserver(() => {
        if (document.body.innerText.includes('common.')) window.__raw = true;
      }).observe(document.body, {subtree: true, childList: true, characterData: true}); }""")
    doc = tmp_path / "mine.md"
    doc.write_text("# Mine\n\nZebras are striped.", encoding="utf-8")
    upload(page, doc)
    page.wait_for_function("(document.querySelector('#doc-status')?.innerText || '').includes('mine.md')",
                           timeout=30_000)
    status = page.inner_text("#doc-status")
    assert "(1 passage)" in status and "do not search uploaded documents" in status
    assert "do not search uploaded documents" in page.inner_text("#documents-intro")
    assert any("recorded answers do not search" in r.getMessage() for r in caplog.records)
    assert not page.locator("#docs-only").is_visible()  # no "Search only my documents" that would do nothing
    page.wait_for_function("(() => { const s = document.querySelector('#doc-status [data-testid=status-tracker]');"
                           " return !s || s.classList.contains('hide'); })()", timeout=30_000)
    assert page.evaluate("window.__raw") is False  # no untranslated "common.complete"
    close(page)
