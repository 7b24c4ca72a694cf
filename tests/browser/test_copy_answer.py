"""Copying an answer (issue 25.3): the copy button gives the answer alone as clean text with
citations as [n] and its Sources list (no thinking, no chip or card HTML), and a selection of
the answer never picks up the screen-reader-only words of its chips."""

from __future__ import annotations

import pytest

from agent.config import Settings
from tests.browser.test_ui_browser import ANSWER, DATA, ask, open_app, wait_done
from tests.ui_helpers import serve


@pytest.fixture(scope="module")
def ui():
    built, url = serve(Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                                search_fixture=str(DATA / "ui.search.json"), provider="fixture"))
    yield url
    built.blocks.close()


def clipboard_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1100, "height": 1200},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    open_app(page, url)
    return page


def test_the_copy_button_copies_the_answer_and_its_sources(browser, ui) -> None:
    page = clipboard_page(browser, ui)
    ask(page, "How tall is the Eiffel Tower?")
    wait_done(page)
    page.locator('#chat button[aria-label="Copy message"]').last.click()
    page.wait_for_function("navigator.clipboard.readText().then(t => t.includes('Sources:'))", timeout=30_000)
    text = page.evaluate("navigator.clipboard.readText()")
    assert text.startswith("The Eiffel Tower is 330 m tall including its antenna [1].")
    assert "[2][3]" in text and "[9]" in text
    assert "Sources:\n1. Eiffel Tower - Wikipedia — https://en.wikipedia.org/wiki/Eiffel_Tower" in text
    for leak in ('class="cite"', "ds-extra", "sr-only", "Source 1", "<a ", "Result [1] says"):  # no HTML, no thinking
        assert leak not in text, leak
    page.context.close()


def test_selecting_the_answer_leaves_out_the_screen_reader_words(browser, ui) -> None:
    page = clipboard_page(browser, ui)
    ask(page, "How tall is the Eiffel Tower?")
    wait_done(page)
    page.locator(ANSWER).last.evaluate("e => { const r = document.createRange(); r.selectNodeContents(e);"
                                       " const s = getSelection(); s.removeAllRanges(); s.addRange(r); }")
    page.keyboard.press("Control+c")
    page.wait_for_function("navigator.clipboard.readText().then(t => t.includes('330 m'))", timeout=30_000)
    text = page.evaluate("navigator.clipboard.readText()")
    assert "antenna [1]." in text and "Source 1" not in text and "no such source" not in text
    page.context.close()
