"""“Check with the model” in a real browser (issue 23): on the local transformers backend the judge
runs only when asked, after the answer. The answer comes from a script (so it has cited claims the
lexical layer finds supported); the judge is the app's own loaded model: the tiny random Qwen2
(its output is garbage: the check says it could not run and the lexical verdicts stay) or the same
backend giving scripted verdicts (the underline and the summary change, and the downloads and the
reopened history hold the model's verdicts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from agent.backends.scripted import ScriptedBackend, load_script  # noqa: E402
from agent.config import Settings  # noqa: E402
from tests.browser.test_ui_browser import ANSWER, ask, close, page_for, wait_done  # noqa: E402
from tests.ui_helpers import serve  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
SUMMARY = "2 of 3 cited claims found in their sources · 1 not found · 1 sentence without a citation"


def _answers_from_a_script(backend, judge_start=None):
    """The backend answers (a conversation with tools) from the claims script; a tool-less
    conversation, the judge's, goes to the real model, or to ``judge_start``."""
    scripted = ScriptedBackend(rounds=load_script(DATA / "claims_check.script.json"), settings=Settings())
    real = backend.start

    def start(messages, tools, *, settings=None):
        if tools:
            return scripted.start(messages, tools, settings=settings)
        return (judge_start or real)(messages, tools, settings=settings)
    backend.start = start


def _app(tiny_model_dir, tmp_path, judge_start=None, **settings):
    demo, url = serve(Settings(model=str(tiny_model_dir), max_new_tokens=48, temperature=0.0, provider="fixture",
                               search_fixture=str(DATA / "eiffel.search.json"), **settings),
                      history=None)
    demo.runtime.backend.load()
    _answers_from_a_script(demo.runtime.backend, judge_start)
    return demo, url


def _answered(page):
    ask(page, "How tall?")
    assert "· done" in wait_done(page)
    answer = page.locator(ANSWER).last
    answer.locator(".claims-check").wait_for()
    assert answer.locator(".claims-check").inner_text() == SUMMARY
    assert answer.locator(".claim-flag").all_inner_texts() == ["It has 2 antennas [2]."] or \
        answer.locator(".claim-flag").all_inner_texts()[0].startswith("It has 2 antennas")
    return answer


def test_the_tiny_models_garbage_leaves_the_lexical_verdicts(browser, tiny_model_dir, tmp_path) -> None:
    demo, url = _app(tiny_model_dir, tmp_path)
    try:
        page = page_for(browser, url)
        answer = _answered(page)
        button = page.locator("#check-model")
        button.wait_for(state="visible")
        assert button.inner_text().strip() == "Check with the model"
        button.click()
        note = answer.locator(".claims-note")
        note.wait_for(timeout=60_000)
        assert note.inner_text() == ("The model check could not run: the model's reply was not the verdicts "
                                     "asked for. The lexical check stands.")
        assert note.get_attribute("role") == "status"
        assert answer.locator(".claims-check").inner_text() == SUMMARY  # the lexical verdicts stand
        assert len(answer.locator(".claim-flag").all_inner_texts()) == 1
        page.wait_for_selector("#ask", state="visible")
        button.wait_for(state="visible")  # it may be tried again
        close(page)
    finally:
        demo.close()


class _Verdicts:
    """A judge conversation on the app's backend whose reply gives ``verdicts`` for the prompt's
    batch; ``hold``: it waits for Stop (or a new question) before its first word."""

    def __init__(self, prompt, verdicts, hold):
        from agent.backends.base import Usage

        token = prompt.split('"batch": "', 1)[1].split('"', 1)[0]
        self.reply = json.dumps({"batch": token, "verdicts": [{"claim": i, "verdict": v}
                                                                for i, v in enumerate(verdicts, 1)]})
        self.hold, self.usage, self.finish_reason = hold, Usage(), None

    def generate(self, *, cancel):
        if self.hold:
            cancel.wait(120)
            self.finish_reason = "cancelled"
            return
        yield self.reply


def _judge(*verdicts, hold=False, asked=None):
    def start(messages, tools, *, settings=None):
        if asked is not None:
            asked.append(messages[0]["content"])
        return _Verdicts(messages[0]["content"], verdicts, hold)
    return start


def _open_sidebar(page) -> None:
    toggle = page.locator("#history").locator("xpath=..").get_by_role("button", name="Toggle Sidebar")
    (toggle if toggle.count() else page.get_by_role("button", name="Toggle Sidebar")).first.click()


def test_the_models_verdicts_change_the_underline_downloads_and_history(browser, tiny_model_dir, tmp_path) -> None:
    from agent.history import HistoryConfig

    expect = playwright_api.expect
    asked: list[str] = []
    demo, url = serve(Settings(model=str(tiny_model_dir), provider="fixture",
                               search_fixture=str(DATA / "eiffel.search.json")),
                      history=HistoryConfig(data_dir=tmp_path))
    try:
        demo.runtime.backend.load()
        _answers_from_a_script(demo.runtime.backend, _judge("supported", "contradicted", asked=asked))
        page = page_for(browser, url)
        answer = _answered(page)
        expect(page.locator("#history").get_by_role("button", name="How tall?")).to_have_count(1, timeout=60_000)
        page.locator("#check-model").click()
        summary = answer.locator(".claims-check")
        expect(summary).to_have_text("1 of 3 cited claims found in their sources · 2 not found · "
                                     "1 sentence without a citation · checked with the model", timeout=60_000)
        assert len(asked) == 1 and "It is 324 metres without antennas [2]." in asked[0]
        flags = answer.locator(".claim-flag")
        assert flags.all_inner_texts()[0].startswith("It is 324 metres without antennas")
        assert "[2] says otherwise (the model)" in flags.first.get_attribute("title")
        expect(page.locator("#check-model")).to_be_hidden()  # judged: nothing left to ask
        expect(page.locator("#ask")).to_be_visible()
        with page.expect_download() as download:
            page.locator("#dl-md").click()
        assert "1 of 3 cited claims found" in Path(download.value.path()).read_text(encoding="utf-8")
        with page.expect_download() as download:
            page.locator("#dl-trace").click()
        done = [json.loads(line) for line in Path(download.value.path()).read_text().splitlines()][-1]
        assert done["type"] == "done" and [c["layer"] for c in done["claims"]] == [
            "judge", "lexical", "judge", "lexical"]
        # Reopened from the history, the answer shows the model's verdicts.
        page.click("#new-chat")
        _open_sidebar(page)
        page.locator("#history").get_by_role("button", name="How tall?").click()
        reopened = page.locator(ANSWER).last.locator(".claims-check")
        expect(reopened).to_contain_text("1 of 3 cited claims found", timeout=60_000)
        close(page)
    finally:
        demo.close()


def test_stop_and_a_new_question_end_a_check_and_leave_the_answer_as_it_was(browser, tiny_model_dir, tmp_path) -> None:
    expect = playwright_api.expect
    demo, url = _app(tiny_model_dir, tmp_path, judge_start=_judge("supported", "supported", hold=True))
    try:
        page = page_for(browser, url)
        answer = _answered(page)
        button = page.locator("#check-model")
        button.click()
        expect(button).to_have_text("Checking with the model…")
        expect(page.locator("#meter")).to_contain_text("checking 2 cited sentences with the model")
        page.click("#stop")
        expect(page.locator("#meter")).to_contain_text("model check stopped", timeout=30_000)
        expect(button).to_have_text("Check with the model")
        expect(page.locator("#ask")).to_be_visible()
        assert "Stopped" not in page.locator("#chat").inner_text()  # the answer itself had finished
        assert answer.locator(".claims-check").inner_text() == SUMMARY
        # A question sent while a check runs waits in the box, as during an answer, and says why.
        button.click()
        expect(button).to_have_text("Checking with the model…")
        ask(page, "How tall, again?")
        expect(page.locator("#run-hint")).to_have_text(
            "The model is checking the answer's claims: press Stop, or wait for it. Your question stays in the box.")
        assert page.input_value("#question textarea") == "How tall, again?"
        page.click("#stop")
        expect(page.locator("#meter")).to_contain_text("model check stopped", timeout=30_000)
        expect(page.locator("#ask")).to_be_visible()
        page.focus("#question textarea")
        page.keyboard.press("Enter")
        expect(page.locator(ANSWER)).to_have_count(2, timeout=60_000)
        assert "· done" in wait_done(page)
        assert page.locator(ANSWER).first.locator(".claims-check").inner_text() == SUMMARY
        assert page.locator(ANSWER).last.locator(".claims-check").inner_text() == SUMMARY
        expect(button).to_be_visible()  # offered for the new answer
        close(page)
    finally:
        demo.close()
