"""Every error raised before a run starts leaves the page idle: Ask (not Stop) shows, and Enter
sends the next question. The question counter counts as the server does. On the scripted app
``fast_ui`` of tests/browser/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_ui_browser import ask, close, page_for, wait_done

USERS = '[data-testid="user"]'


def assert_idle(page) -> None:
    """Ask shows, Stop does not, and the meter carries no "Error" badge of the refused event."""
    page.wait_for_selector("#ask", state="visible", timeout=30_000)
    assert not page.locator("#stop").is_visible()
    page.wait_for_function("(() => { const s = document.querySelector('#meter [data-testid=status-tracker]');"
                           " return !s || s.classList.contains('hide'); })()", timeout=30_000)


def test_a_question_over_the_limit_leaves_ask_ready(browser, fast_ui) -> None:
    page = page_for(browser, fast_ui)
    ask(page, "x" * 301)
    page.get_by_text("the limit is 300").first.wait_for(timeout=30_000)
    assert_idle(page)
    ask(page, "How tall is the Eiffel Tower?")  # Enter sends: no "still running" note
    assert wait_done(page).startswith("searches 3/5 · done")
    assert page.inner_text("#run-hint") == "" and page.locator(USERS).count() == 1
    close(page)


@pytest.mark.parametrize("content", ['{"type": "meta"}\n', "not json at all\n", b"\xff\xfe\x00"])
def test_a_bad_trace_leaves_ask_ready(browser, fast_ui, tmp_path: Path, content) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    page = page_for(browser, fast_ui)
    page.set_input_files("input[type=file][accept='.jsonl']", str(path))
    toast = page.locator(".toast-body").first
    toast.wait_for(timeout=30_000)
    assert "None" not in toast.inner_text() and str(tmp_path) not in toast.inner_text()  # in words, by its name
    assert_idle(page)
    close(page)


def test_the_counter_and_the_refusal_count_the_same_characters(browser, fast_ui) -> None:
    page = page_for(browser, fast_ui)
    question = "  " + "😀" * 150 + "é" * 151 + " \n"  # 301 characters once stripped; 453 UTF-16 units
    page.fill("#question textarea", question)
    page.wait_for_function("document.querySelector('#char-count').innerText === '301 / 300'", timeout=30_000)
    page.keyboard.press("Enter")
    page.get_by_text("the question is 301 characters long").first.wait_for(timeout=30_000)
    page.fill("#question textarea", "  " + "😀" * 300 + "   ")  # at the limit: shown, not over
    page.wait_for_function("document.querySelector('#char-count').innerText === '300 / 300'", timeout=30_000)
    assert "over" not in (page.get_attribute("#char-count", "class") or "")
    close(page)
