"""Citation numbers in a real browser: an answer that cites its third source before its first
shows chip 1 for that source (title and URL), cards and Sources in that order, Search panels
with the same numbers, and a follow-up answer numbered from 1 again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_ui_browser import ANSWER, DONE_JS, SHOWN_JS, ask, close, page_for, wait_done
from tests.ui_helpers import serve

from agent.config import Settings

DATA = Path(__file__).resolve().parents[1] / "data"
PANELS = "#chat .thought-group"


@pytest.fixture(scope="module")
def ui():
    settings = Settings(backend="scripted", model_script=str(DATA / "numbering.script.json"),
                        search_fixture=str(DATA / "numbering.search.json"), provider="fixture")
    demo, url = serve(settings)
    yield url
    demo.close()


def chips(answer) -> list[tuple[str, str | None, str | None]]:
    return answer.locator("a.cite").evaluate_all(
        f"els => els.map(e => [({SHOWN_JS})(e), e.getAttribute('href'), e.getAttribute('title')])")


def panel_text(page, title_start: str, index: int = -1) -> str:
    """The text of a panel, opened first if it is closed (a closed panel renders no body)."""
    panels = page.locator(PANELS).filter(has=page.locator(".title", has_text=title_start))
    one = panels.nth(index if index >= 0 else panels.count() + index)
    if not one.locator(".content").count():
        one.locator(".title").first.click()
    return one.locator(".content").inner_text(timeout=30_000)  # waits for the opened body


def test_first_cited_source_is_one_everywhere_and_a_follow_up_starts_again(browser, ui) -> None:
    page = page_for(browser, ui)
    ask(page, "Which city is oldest?")
    wait_done(page)
    answer = page.locator(ANSWER).last
    assert "Gamma is the oldest" in answer.inner_text()
    assert [list(c) for c in chips(answer)] == [
        ["1", "https://c.example/gamma", "1. Gamma · c.example"],
        ["2", "https://a.example/alpha", "2. Alpha · a.example"],
        ["1", "https://c.example/gamma", "1. Gamma · c.example"]]
    cards = answer.locator(".source-cards a.source-card").evaluate_all(
        "els => els.map(e => [e.querySelector('.n').innerText, e.querySelector('.t').innerText, e.href])")
    assert cards == [["1", "Gamma", "https://c.example/gamma"], ["2", "Alpha", "https://a.example/alpha"]]
    sources = panel_text(page, "Sources").splitlines()
    assert [line.split(" · ")[0] for line in sources if line.strip()] == ["1. Gamma", "2. Alpha"]
    searched = panel_text(page, "Searched: oldest cities").splitlines()
    # The search's results in its own order, numbered as the chips are; Beta, never cited, is 3.
    assert [line.split(" · ")[0] for line in searched if line[:1].isdigit()] == ["2. Alpha", "3. Beta", "1. Gamma"]
    thinking = panel_text(page, "Thought", 1)  # after the search
    assert "The third result [3] looks best." in thinking  # the model's own words

    ask(page, "And the newest?")
    page.wait_for_function(f"document.querySelectorAll('{ANSWER}').length >= 2 && " + DONE_JS, timeout=30_000)
    follow_up = page.locator(ANSWER).last
    assert [list(c)[:2] for c in chips(follow_up)] == [["1", "https://e.example/epsilon"],
                                                         ["2", "https://d.example/delta"]]
    cards = follow_up.locator(".source-cards .n").evaluate_all("els => els.map(e => e.innerText)")
    assert cards == ["1", "2"]
    # The first answer kept its own numbers.
    assert [c[0] for c in chips(page.locator(ANSWER).first)] == ["1", "2", "1"]
    close(page)
