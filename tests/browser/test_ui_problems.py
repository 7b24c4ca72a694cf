"""Problems made visible, in a real browser: a backend that cannot answer is reported before
anyone asks, a cut-off answer says why right under it, error text never names a setting and
shows URLs as typed, and the first screen and panels are usable by keyboard and screen reader."""

from __future__ import annotations

import json
import re
from pathlib import Path


from tests.browser.test_ui_browser import ANSWER, ask, close, page_for, wait_done
from tests.browser.test_ui_chat import scripted
from tests.ui_helpers import free_port, serve

import app
from agent.config import Settings
from ui.notices import for_visitor, visitor_markdown


def test_unreachable_server_is_a_banner_before_anyone_asks(browser) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    demo, url = serve(Settings(backend="openai", base_url=dead, model="qwq", openai_max_retries=0), check=True)
    try:
        page = page_for(browser, url)
        banner = page.locator("#problem")
        banner.wait_for(timeout=30_000)
        text = banner.inner_text()
        assert text.startswith("⚠ Questions cannot be answered right now.") and "Cannot reach the model server" in text
        assert banner.locator("code").inner_text() == dead  # the URL exactly as typed, no stray backslashes
        assert not re.search(r"[A-Z]+_[A-Z_]+|--[a-z]", text)  # no environment variable or flag for a visitor
        assert page.locator("#chat .examples button").count() == 0  # no examples that would fail
        close(page)
    finally:
        demo.close()


def test_wrong_model_name_and_missing_model_folder_are_found_at_startup(tmp_path: Path) -> None:
    from tests.integration.test_openai_backend import FakeServer

    server = FakeServer(model="served-model")
    try:
        runtime = app.make_runtime(Settings(backend="openai", base_url=server.url, model="typo-model"), check=True)
        assert "does not serve model 'typo-model'" in runtime.problem and "'served-model'" in runtime.problem
        fine = app.make_runtime(Settings(backend="openai", base_url=server.url, model="served-model"), check=True)
        assert fine.problem is None
    finally:
        server.close()
    missing = app.make_runtime(Settings(model=str(tmp_path / "nonexistent")), check=True)
    assert "does not exist" in missing.problem and "Unrecognized model" not in missing.problem
    assert app.make_runtime(Settings(model=str(tmp_path / "nonexistent"))).problem is None  # import: no check


def test_the_terminal_says_so_at_launch(monkeypatch, capsys) -> None:
    import gradio as gr

    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: None)  # no server: only what main prints
    dead = f"http://127.0.0.1:{free_port()}/v1"
    assert app.main(["--backend", "openai", "--base-url", dead, "--model", "qwq"]) == 0
    err = capsys.readouterr().err
    assert f"warning: questions will fail until this is fixed: cannot reach the model server at {dead}" in err


def test_visitor_text_drops_settings_and_keeps_urls_as_typed() -> None:
    raw = ("cannot reach the model server at http://127.0.0.1:9/v1 (Connection refused): is it running? "
           "Start it or fix --base-url / OPENAI_BASE_URL")
    assert for_visitor(raw) == ("Cannot reach the model server at http://127.0.0.1:9/v1 (Connection refused). "
                                "(The person running this app can see what to change in its log.)")
    assert "`http://127.0.0.1:9/v1`" in visitor_markdown(raw) and "127\\.0" not in visitor_markdown(raw)
    limit = "the question is 301 characters long; the limit is 300 (DEEPSEARCH_MAX_QUESTION_CHARS)"
    assert for_visitor(limit) == "The question is 301 characters long; the limit is 300"
    assert for_visitor("set OPENAI_API_KEY") == ("Set a server setting. "
                                                 "(The person running this app can see what to change in its log.)")


def test_a_cut_off_answer_says_why_under_it(browser, tmp_path: Path) -> None:
    script = tmp_path / "long.json"
    script.write_text(json.dumps(["Short thought.</think>\n\n" + "A long answer word " * 200]))
    demo, url = serve(scripted(model_script=str(script), max_new_tokens=60))
    try:
        page = page_for(browser, url)
        ask(page, "Write a lot")
        assert wait_done(page) == "searches 0/5 · cut off at the token limit"
        note = page.locator(ANSWER).last.locator(".answer-note")
        assert "Cut off at the token limit" in note.inner_text() and "Max new tokens" in note.inner_text()
        close(page)
    finally:
        demo.close()


def test_first_screen_keyboard_screen_reader_and_counter(browser) -> None:
    demo, url = serve(scripted(max_question_chars=300))
    try:
        page = page_for(browser, url)
        card = page.locator("#chat .examples button").first  # examples look like cards to click
        card.wait_for()
        style = card.evaluate("e => [getComputedStyle(e).borderTopWidth, getComputedStyle(e).borderRadius]")
        assert style[0] != "0px" and style[1] != "0px"
        page.fill("#question textarea", "x" * 100)
        assert page.inner_text("#char-count").strip() == ""  # far from the limit: no counter
        page.fill("#question textarea", "x" * 250)
        page.wait_for_function("document.querySelector('#char-count').innerText.trim() === '250 / 300'")
        ask(page, "How tall is the Eiffel Tower?")
        wait_done(page)
        title = page.locator("#chat .thought-group > .title").first
        # The answer's follow-up redraw draws its panels closed (under load it came after the done).
        page.wait_for_function("document.querySelector('#chat .thought-group > .title')"
                               ".getAttribute('aria-expanded') === 'false'", timeout=30_000)
        title.focus()
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#chat .thought-group > .title')"
                               ".getAttribute('aria-expanded') === 'true'")
        page.keyboard.press(" ")
        page.wait_for_function("document.querySelector('#chat .thought-group > .title')"
                               ".getAttribute('aria-expanded') === 'false'")
        # textContent: the drawer's buttons are hidden (no innerText) until it opens.
        unnamed = page.eval_on_selector_all("#chat button, #composer button, #exports button, #topbar button, "
                                            "#tools button", "els => els.filter(b => !(b.getAttribute('aria-label') "
                                            "|| b.textContent.trim())).length")
        assert unnamed == 0  # every icon button has a name (contrast: tests/browser/test_ui_contrast.py)
        close(page)
    finally:
        demo.close()


def test_settings_never_show_the_word_fixture_to_a_visitor() -> None:
    """An app run on bundled results (the demo) names them so, not by the developer's word."""
    import gradio as gr

    blocks = app.create_demo(scripted()).blocks
    shown = []
    for block in blocks.blocks.values():
        shown.append(str(getattr(block, "label", "") or ""))
        if isinstance(block, gr.Dropdown):
            shown += [str(label) for label, _ in block.choices]
        if isinstance(block, gr.Markdown):
            shown.append(str(block.value or ""))
    assert "Bundled results (offline)" in shown
    assert not [text for text in shown if "fixture" in text.lower()]
