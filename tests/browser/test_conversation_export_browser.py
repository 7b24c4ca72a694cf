"""The whole-conversation downloads hold what the chat shows (issue 25.4), in a real browser:
Regenerate, then an edited question, then the Markdown and HTML of the conversation and the last
answer's trace hold only the shown turns, in the chat's order, with the chat's citation numbers;
the replaced answers are never offered, not even while their replacement runs."""

from __future__ import annotations

import json
import re
from pathlib import Path


from tests.browser.test_ui_browser import ANSWER, SHOWN_JS, ask, close, page_for, wait_done
from tests.browser.test_ui_chat import USERS
from tests.waiting import wait_until


def download(page, button: str) -> str:
    with page.expect_download(timeout=30_000) as info:
        page.click(button)
    return Path(info.value.path()).read_text(encoding="utf-8")


def conversation(page, button: str, last_question: str) -> str:
    """The file ``button`` offers once it holds ``last_question`` (rewritten after each answer)."""
    def holding() -> str | None:
        if not page.locator(button).is_visible():
            return None
        text = download(page, button)
        return text if last_question in text else None
    return wait_until(holding, f"{button} offering the conversation up to {last_question!r}", interval=0.25)


def shown_questions(page) -> list[str]:
    return page.locator(USERS).evaluate_all("els => els.map(e => e.innerText.trim())")


def run_ends(page, held, start) -> None:
    """``start`` a run, see it running (Stop shown: the run is held until then), see it end."""
    with held.holding():
        start()
        page.wait_for_selector("#stop", state="visible", timeout=30_000)
    wait_done(page)


def test_regenerate_then_edit_then_export_holds_the_shown_turns_only(browser, fast_ui, held) -> None:
    page = page_for(browser, fast_ui)
    run_ends(page, held, lambda: ask(page, "How tall is the Eiffel Tower?"))
    run_ends(page, held, lambda: ask(page, "Who designed it?"))
    before = conversation(page, "#dl-conv-md", "Who designed it?")
    assert before.count("How it got there") == 2

    def regenerate() -> None:
        page.locator('#chat button[aria-label="Retry"]').click()
        # The downloads that hold the answer being replaced go at once, before it is re-asked.
        page.wait_for_selector("#dl-conv-md", state="hidden", timeout=30_000)
        assert not page.locator("#dl-conv-html").is_visible()
    run_ends(page, held, regenerate)

    def edit() -> None:
        page.locator(USERS).last.hover()
        page.locator('#chat button[aria-label="Edit"]').last.click()
        page.locator("#chat textarea.edit-textarea").fill("Which engineer designed the tower?")
        page.locator('#chat button[aria-label="Submit"]').click()
    run_ends(page, held, edit)
    assert shown_questions(page) == ["How tall is the Eiffel Tower?", "Which engineer designed the tower?"]

    md = conversation(page, "#dl-conv-md", "Which engineer designed the tower?")
    html = conversation(page, "#dl-conv-html", "Which engineer designed the tower?")
    assert re.findall(r"^# (.+)$", md, flags=re.M) == shown_questions(page)  # no replaced question
    assert md.count("How it got there") == 2 and md.count("## Answer") == 2  # no replaced answer
    assert "Who designed it?" not in md and "Who designed it?" not in html
    assert sorted(set(re.findall(r'id="(q\d+)-', html))) == ["q1", "q2"]
    # The shown numbering: the last answer's citation numbers are its chips in the chat.
    chips = page.locator(ANSWER).last.locator("a.cite").evaluate_all(f"els => els.map({SHOWN_JS})")
    last_answer = md.split("## Answer", 2)[2].split("## Sources")[0]
    assert chips and re.findall(r"\\\[(\d+)\\\]", last_answer) == chips
    # The last answer's own trace is the edited question's run.
    trace = download(page, "#dl-trace")
    assert json.loads(trace.splitlines()[0])["question"] == "Which engineer designed the tower?"

    page.locator(USERS).first.hover()  # editing the first question leaves one turn
    page.locator('#chat button[aria-label="Edit"]').first.click()
    page.locator("#chat textarea.edit-textarea").fill("How high is the Eiffel Tower?")
    page.locator('#chat button[aria-label="Submit"]').click()
    page.wait_for_function(f"[...document.querySelectorAll('{USERS}')].map(e => e.innerText.trim()).join('|')"
                           " === 'How high is the Eiffel Tower?'", timeout=30_000)
    wait_done(page)
    md = conversation(page, "#dl-conv-md", "How high is the Eiffel Tower?")
    assert re.findall(r"^# (.+)$", md, flags=re.M) == ["How high is the Eiffel Tower?"]
    assert md.count("## Answer") == 1
    close(page)
