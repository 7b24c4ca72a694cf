"""The composer and the drawer while answers run (issue 25.6): the Enter-during-run note covers
neither the meter nor the question, the ✎ edit box is as wide as the chat lets it be,
Regenerate leaves a draft in the question box, and a replay started from the Settings drawer
closes it so the replay is seen."""

from __future__ import annotations

from pathlib import Path

from agent.config import Settings
from agent.events import Done, SearchDone, SearchStart, SourceRef, Thinking
from agent.records import trace
from tests.browser.test_ui_browser import TITLES, ask, close, page_for, wait_done

USERS = '[data-testid="user"]'


def overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_the_run_note_covers_neither_the_meter_nor_the_question(browser, fast_ui, held) -> None:
    page = page_for(browser, fast_ui, viewport={"width": 390, "height": 844})
    with held.holding(at_round=1):  # a question typed during a run needs the run still going
        ask(page, "How tall is the Eiffel Tower?")
        page.wait_for_selector(TITLES, state="attached", timeout=30_000)
        held.wait_held()
        page.fill("#question textarea", "A follow-up typed meanwhile")
        page.locator("#question textarea").press("Enter")
        page.wait_for_function("document.querySelector('#run-hint').innerText.length > 0", timeout=30_000)
        hint = page.locator("#run-hint").bounding_box()
        meter = page.locator("#meter").bounding_box()
        box = page.locator("#question textarea").bounding_box()
    assert not overlap(hint, meter) and not overlap(hint, box)
    assert hint["y"] < box["y"]  # still just above the question
    wait_done(page)
    close(page)


def test_the_edit_box_is_as_wide_as_the_chat(browser, fast_ui) -> None:
    page = page_for(browser, fast_ui, viewport={"width": 1100, "height": 900})
    ask(page, "A fairly long question whose beginning must stay visible while it is edited")
    wait_done(page)
    page.locator(USERS).last.hover()
    page.locator('#chat button[aria-label="Edit"]').last.click()
    box = page.locator("#chat textarea.edit-textarea")
    chat = page.locator("#chat").bounding_box()
    assert box.bounding_box()["width"] > 0.5 * chat["width"], (box.bounding_box(), chat)
    close(page)


def test_regenerate_keeps_a_draft_in_the_question_box(browser, fast_ui, held) -> None:
    page = page_for(browser, fast_ui)
    ask(page, "Question one")
    wait_done(page)
    page.fill("#question textarea", "a draft I am still writing")
    with held.holding():  # the regenerated answer runs until Stop has been seen
        page.locator('#chat button[aria-label="Retry"]').click()
        page.wait_for_selector("#stop", state="visible", timeout=30_000)
    wait_done(page)
    assert page.input_value("#question textarea") == "a draft I am still writing"
    close(page)


def test_a_replay_started_from_the_drawer_closes_it(browser, fast_ui, tmp_path: Path) -> None:
    path = tmp_path / "recorded.jsonl"
    source = SourceRef(id=1, title="Good source", url="https://example.org/good")
    writer = trace.TraceWriter(path, question="Recorded question", model="script:test",
                               settings=Settings(backend="scripted", model_script="x"))
    for event in (Thinking(text="Recorded thinking."), SearchStart(query="q", round=1, max_searches=2),
                  SearchDone(query="q", provider="fixture", latency_s=0.3, results=(source,)),
                  Done(answer="Answer [1].", sources=(source,), cited=(1,), searches=1)):
        writer.write(event)
    writer.close()
    page = page_for(browser, fast_ui, viewport={"width": 390, "height": 844})
    page.click("#tools-toggle")
    page.wait_for_function("document.body.classList.contains('tools-open')")
    page.set_input_files("input[type=file][accept='.jsonl']", str(path))
    page.wait_for_function("!document.body.classList.contains('tools-open')", timeout=30_000)
    wait_done(page)
    close(page)
