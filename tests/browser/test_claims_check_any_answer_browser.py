"""“Check with the model” on any answer, not only the last (issue 23), in a real browser.

Each finished answer's claims summary is followed by a link that asks the model to judge that
answer; the judged verdicts replace that turn's, in the chat, the record and the app's
``--trace`` file (a ``claims_judged`` line naming the run), and the other answers stay as they
were. A running check is overtaken by Regenerate or an edit (the check event does not output the
chat, so Gradio leaves them usable): the check ends and the new answer proceeds; New chat ends it
and an example proceeds; no judged verdict lands later. The answers come from a script; the judge is a fake on
the same backend (a tool-less conversation), so no model loads.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from agent.config import Settings  # noqa: E402
from agent.records.trace import read_runs, read_trace  # noqa: E402
from tests.browser.held import HeldRuns  # noqa: E402
from tests.browser.test_ui_browser import ANSWER, ask, close, page_for, wait_done, wait_idle  # noqa: E402
from tests.ui_helpers import serve  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
SUMMARY = "2 of 3 cited claims found in their sources · 1 not found · 1 sentence without a citation"
JUDGED = "1 of 3 cited claims found in their sources · 2 not found · 1 sentence without a citation · " \
         "checked with the model"
USERS = '#chat [data-testid="user"]'


class _Judge:
    """Tool-less conversations (the judge's) answer ``verdicts`` for the prompt's batch; with
    ``hold`` set they wait for their cancel first (a slow model), and ``ended`` records each."""

    def __init__(self, *verdicts: str, hold: bool = False) -> None:
        self.verdicts, self.hold = verdicts, hold
        self.asked: list[str] = []
        self.started, self.ended = threading.Event(), threading.Event()

    def start(self, messages, tools, *, settings=None):
        from agent.backends.base import Usage

        judge, prompt = self, messages[0]["content"]
        self.asked.append(prompt)
        token = prompt.split('"batch": "', 1)[1].split('"', 1)[0]
        reply = json.dumps({"batch": token, "verdicts": [{"claim": i, "verdict": v}
                                                        for i, v in enumerate(self.verdicts, 1)]})

        class Conversation:
            usage, finish_reason = Usage(), None

            def generate(self, *, cancel):
                judge.started.set()
                if judge.hold:
                    cancel.wait(120)
                    judge.ended.set()
                    if cancel.is_set():
                        self.finish_reason = "cancelled"
                        return
                yield reply
        return Conversation()


def _app(tmp_path: Path, judge: _Judge, **settings):
    demo, url = serve(Settings(backend="scripted", model_script=str(DATA / "claims_check.script.json"), provider="fixture",
                               search_fixture=str(DATA / "eiffel.search.json"), **settings),
                      history=None, trace=str(tmp_path / "session.jsonl"))
    backend = demo.runtime.backend
    answer = backend.start
    backend.start = lambda messages, tools, *, settings=None: (
        answer(messages, tools, settings=settings) if tools else judge.start(messages, tools, settings=settings))
    return demo, url


def _two_answers(page) -> None:
    for question in ("How tall?", "How tall, again?"):
        ask(page, question)
        assert "· done" in wait_done(page)
    answers = page.locator(ANSWER)
    playwright_api.expect(answers).to_have_count(2)
    for i in range(2):
        assert answers.nth(i).locator(".claims-check").inner_text() == SUMMARY
        assert answers.nth(i).locator("a.ds-check").inner_text() == "Check with the model"


def test_checking_the_first_answer_changes_it_alone_and_the_trace_keeps_it(browser, tmp_path) -> None:
    expect = playwright_api.expect
    judge = _Judge("supported", "contradicted")
    demo, url = _app(tmp_path, judge)
    try:
        page = page_for(browser, url)
        _two_answers(page)
        first, second = page.locator(ANSWER).first, page.locator(ANSWER).last
        first.locator("a.ds-check").focus()  # the keyboard: a focusable link that Enter follows
        page.keyboard.press("Enter")
        expect(first.locator(".claims-check")).to_have_text(JUDGED, timeout=60_000)
        assert len(judge.asked) == 1 and "It is 324 metres without antennas [2]." in judge.asked[0]
        assert "[2] says otherwise (the model)" in first.locator(".claim-flag").first.get_attribute("title")
        expect(first.locator("a.ds-check")).to_have_count(0)  # judged: nothing left to ask
        assert second.locator(".claims-check").inner_text() == SUMMARY  # the second answer is untouched
        assert second.locator("a.ds-check").count() == 1
        expect(page.locator("#ask")).to_be_visible()
        expect(page.locator("#check-model")).to_be_visible()  # the last answer may still be checked
        # The app's --trace file keeps the judged verdicts of the first run, and reads them back.
        runs = read_runs(tmp_path / "session.jsonl")
        assert [[c.layer for c in done.claims] for done in (r[1][-1][1] for r in runs)] == [
            ["judge", "lexical", "judge", "lexical"], ["lexical"] * 4]
        assert '"type": "claims_judged"' in (tmp_path / "session.jsonl").read_text(encoding="utf-8")
        meta, timed = read_trace(tmp_path / "session.jsonl", run=0)
        assert meta["question"] == "How tall?" and timed[-1][1].claims_summary["supported"] == 1
        close(page)
    finally:
        demo.close()


# Records whether Stop showed, and Ask did not, at some moment the meter said the answer was
# being written (every change of the page is looked at).
WATCH_STOP_JS = """() => {
    window.dsStopWhileWriting = false;
    const shown = id => { const el = document.querySelector(id);
        return !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'; };
    const look = () => {
        const meter = document.querySelector('#meter')?.innerText || '';
        if (meter.includes('writing the answer') && shown('#stop') && !shown('#ask')) window.dsStopWhileWriting = true;
    };
    new MutationObserver(look).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
    look();
}"""


def _interrupted(page, judge: _Judge, held: HeldRuns, start_new_answer) -> None:
    """Start a held check of the first answer, then ``start_new_answer`` (the chat's Regenerate
    or Edit stay usable while a check runs): the check ends, the new answer runs with Stop shown
    and finishes, and no judged verdict lands anywhere."""
    expect = playwright_api.expect
    page.locator(ANSWER).first.locator("a.ds-check").click()
    expect(page.locator("#meter")).to_contain_text("checking 2 cited sentences with the model", timeout=30_000)
    assert judge.started.wait(30)
    page.evaluate(WATCH_STOP_JS)
    # The new answer is held once it has begun to write its answer, until the page has shown it.
    with held.holding(at_round=1, after_text="The Eiffel Tower"):
        start_new_answer()
        assert judge.ended.wait(30)  # the held check saw its cancel
        # The check's end left Ask and Stop to the new answer: Stop shows while it writes (seen
        # by an observer in the page, at any change of it).
        page.wait_for_function("window.dsStopWhileWriting === true", timeout=60_000)
    # The new answer is a second branch of the last question (Regenerate and an edit both make one).
    expect(page.locator("#chat .ds-branch-n").last).to_contain_text("2/2", timeout=60_000)
    assert "· done" in wait_done(page)
    expect(page.locator(ANSWER)).to_have_count(2)
    for summary in page.locator(ANSWER).locator(".claims-check").all_inner_texts():
        assert summary == SUMMARY  # no judged verdict landed anywhere
    assert len(judge.asked) == 1 and "stopped" not in page.locator("#chat").inner_text().lower()


@pytest.mark.parametrize("how", ["regenerate", "edit", "example"])
def test_regenerate_edit_or_an_example_stops_a_running_check(browser, tmp_path, how) -> None:
    judge = _Judge("supported", "contradicted", hold=True)
    demo, url = _app(tmp_path, judge)
    held = HeldRuns(demo.runtime.backend)
    try:
        page = page_for(browser, url)
        _two_answers(page)

        def regenerate() -> None:
            page.locator('#chat button[aria-label="Retry"]').click()

        def edit() -> None:
            page.locator(USERS).last.hover()
            page.locator('#chat button[aria-label="Edit"]').last.click()
            page.locator("#chat textarea.edit-textarea").fill("How tall, once more?")
            page.locator('#chat button[aria-label="Submit"]').click()

        def example() -> None:
            page.locator("#chat .examples .example").first.click()

        if how == "example":
            _example_after_a_check(page, judge, example)
        else:
            _interrupted(page, judge, held, regenerate if how == "regenerate" else edit)
            if how == "edit":
                assert page.locator(USERS).all_inner_texts()[-1].strip() == "How tall, once more?"
        close(page)
    finally:
        demo.close()


def _example_after_a_check(page, judge: _Judge, example) -> None:
    """The examples show on an empty chat only: New chat stops the check, then an example runs."""
    expect = playwright_api.expect
    page.locator(ANSWER).first.locator("a.ds-check").click()
    assert judge.started.wait(30)
    page.click("#new-chat")
    assert judge.ended.wait(30)
    example()
    expect(page.locator(ANSWER)).to_have_count(1, timeout=60_000)
    assert "· done" in wait_done(page)
    assert page.locator(ANSWER).locator(".claims-check").inner_text() == SUMMARY


def _conversation_md_once_judged(page, timeout: float = 30) -> str:
    """The conversation download once the check's follow-up has refreshed it (it comes after the
    chat's redraw; beside two busy loops a download clicked at once got the file before it)."""
    deadline, md = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        with page.expect_download() as download:
            page.locator("#dl-conv-md").click()
        md = Path(download.value.path()).read_text(encoding="utf-8")
        if "1 of 3 cited claims found" in md:
            return md
    raise AssertionError(f"the conversation download never held the judged verdicts in {timeout} s:\n{md[:2000]}")


def test_an_earlier_answers_verdicts_reach_the_conversation_download_and_the_history(browser, tmp_path) -> None:
    from agent.history import HistoryConfig
    from tests.browser.test_claims_model_check_browser import _open_sidebar

    expect = playwright_api.expect
    judge = _Judge("supported", "contradicted")
    demo, url = serve(Settings(backend="scripted", model_script=str(DATA / "claims_check.script.json"),
                               provider="fixture", search_fixture=str(DATA / "eiffel.search.json")),
                      history=HistoryConfig(data_dir=tmp_path))
    answer = demo.runtime.backend.start
    demo.runtime.backend.start = lambda messages, tools, *, settings=None: (
        answer(messages, tools, settings=settings) if tools else judge.start(messages, tools, settings=settings))
    try:
        page = page_for(browser, url)
        _two_answers(page)
        expect(page.locator("#history").get_by_role("button", name="How tall?")).to_have_count(1, timeout=60_000)
        first = page.locator(ANSWER).first
        first.locator("a.ds-check").click()
        expect(first.locator(".claims-check")).to_have_text(JUDGED, timeout=60_000)
        expect(page.locator("#ask")).to_be_visible()
        md = _conversation_md_once_judged(page)
        assert md.count("1 of 3 cited claims found") == 1 and md.count("2 of 3 cited claims found") == 1
        assert md.index("1 of 3 cited claims found") < md.index("2 of 3 cited claims found")  # the first answer
        page.click("#new-chat")
        _open_sidebar(page)
        page.locator("#history").get_by_role("button", name="How tall?").click()
        expect(page.locator(ANSWER)).to_have_count(2, timeout=60_000)
        expect(page.locator(ANSWER).first.locator(".claims-check")).to_have_text(JUDGED, timeout=60_000)
        assert page.locator(ANSWER).last.locator(".claims-check").inner_text() == SUMMARY
        # Reopened, the second answer still offers the check, and it runs there too. Clicked once
        # the reopened chat is idle and still, as after an answer (wait_done): in a loaded run of
        # the whole suite a click made at once started no check (the lexical verdicts stayed 60 s).
        wait_idle(page)
        page.locator(ANSWER).last.locator("a.ds-check").click()
        expect(page.locator(ANSWER).last.locator(".claims-check")).to_have_text(JUDGED, timeout=60_000)
        assert page.locator(ANSWER).first.locator(".claims-check").inner_text() == JUDGED
        close(page)
    finally:
        demo.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_link_is_readable_and_shows_keyboard_focus(browser, tmp_path, scheme) -> None:
    from tests.browser.test_ui_contrast import assert_readable, measure

    demo, url = _app(tmp_path, _Judge("supported", "supported"))
    try:
        page = page_for(browser, url, color_scheme=scheme)
        ask(page, "How tall?")
        assert "· done" in wait_done(page)
        link = page.locator(ANSWER).last.locator("a.ds-check")
        assert_readable(measure(page, {"check link": "#chat a.ds-check"}), scheme)
        link.focus()
        assert link.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # :focus-visible from the keyboard
        close(page)
    finally:
        demo.close()
