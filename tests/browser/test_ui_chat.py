"""The chat's run state in a real browser: Ask becomes Stop, New chat, Regenerate, edit and
resend, one concurrency group for every way of asking, replays beside questions, and export
folders deleted when a tab closes. Same chromium and helpers as test_ui_browser.py."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.browser.held import HeldReplays, HeldRuns
from tests.browser.test_ui_browser import (ANSWER, DATA, SHOWN_JS, TITLES, ask, close, page_for,
                                   wait_done)
from tests.integration.test_openai_backend import FakeServer, end, hang, say, settings_for, sse
from tests.ui_helpers import pump_threads, serve
from tests.waiting import stays_false, wait_until

from agent.records import trace
from agent.records.replay import MAX_REPLAY_PAUSE_S
from agent.config import Settings
from agent.events import Done, SearchDone, SearchStart, SourceRef, Thinking

USERS = '[data-testid="user"]'
# No event the meter shows is pending in the page (its status tracker hidden).
METER_IDLE_JS = "(() => { const s = document.querySelector('#meter [data-testid=status-tracker]');" \
                " return !s || s.classList.contains('hide'); })()"
RUN_HINT = "An answer is still running: press Stop, or wait for it. Your question stays in the box."


def scripted(**kw) -> Settings:
    """The scripted model at full speed: a test that needs a run still going holds it
    (tests/browser/held.py) instead of slowing every answer down."""
    return Settings(**{"backend": "scripted", "model_script": str(DATA / "ui.script.json"),
                       "search_fixture": str(DATA / "ui.search.json"), "provider": "fixture",
                       "script_delay_s": 0.0, "concurrency_local": 2, **kw})


@pytest.fixture(scope="module")
def spied():
    """An app whose backend records the messages (history included) of every question, and whose
    runs a test can hold."""
    demo, url = serve(scripted(), replay_speed=0)
    backend = demo.runtime.backend  # type: ignore[attr-defined]
    seen: list[list[dict]] = []
    real = backend.start
    backend.start = lambda messages, *a, **k: (seen.append(messages), real(messages, *a, **k))[1]
    yield url, seen, HeldRuns(backend)
    demo.close()


def asked_history(seen: list[list[dict]]) -> list[str]:
    """The earlier turns the model was shown with its latest question (system prompt left out)."""
    return [m["content"] for m in seen[-1][1:-1]]


def visible(page, selector: str) -> bool:
    return page.locator(selector).is_visible()


def test_ask_becomes_stop_while_running(browser, spied) -> None:
    url, _, held = spied
    page = page_for(browser, url)
    assert visible(page, "#ask") and not visible(page, "#stop")  # idle: Stop is not offered
    with held.holding(at_round=1):  # the first question runs until the checks below are done
        ask(page, "First question")
        page.wait_for_selector("#stop", state="visible", timeout=30_000)
        assert not visible(page, "#ask")
        # Its first panel is in the page and the run waits after it. (Attached, not visible: a
        # panel's title was seen 0 px wide while a run paused after its first round.)
        page.wait_for_selector(TITLES, state="attached", timeout=30_000)
        held.wait_held()
        ask(page, "Sent while the first is still running")  # Enter while it runs: not sent, not lost ...
        page.keyboard.press("Enter")  # ... and pressed again
        hint = page.locator("#run-hint")  # ... says why, once, just above the question
        assert hint.inner_text() == RUN_HINT and hint.get_attribute("role") == "status"
        assert page.get_by_text("An answer is still running").count() == 1
        assert page.locator(".toast-body").count() == 0
        assert hint.bounding_box()["y"] < page.locator("#question textarea").bounding_box()["y"]
    wait_done(page)
    page.wait_for_selector("#ask", state="visible", timeout=30_000)
    page.wait_for_function("document.querySelector('#run-hint').innerText === ''", timeout=30_000)  # gone
    assert not visible(page, "#stop") and page.locator(USERS).count() == 1
    assert page.input_value("#question textarea") == "Sent while the first is still running"
    assert page.locator(".toast-body").count() == 0  # nothing was queued meanwhile
    page.locator("#question textarea").press("Enter")  # once the run has ended, Enter sends it
    page.wait_for_function(f"document.querySelectorAll('{USERS}').length === 2", timeout=30_000)
    wait_done(page)
    assert page.locator(USERS).last.inner_text().strip() == "Sent while the first is still running"
    assert hint.inner_text() == ""
    close(page)


def test_new_chat_cancels_and_starts_over(browser, spied) -> None:
    url, seen, held = spied
    page = page_for(browser, url)
    ask(page, "How tall is the Eiffel Tower?")
    wait_done(page)
    page.wait_for_selector("#dl-trace", state="visible", timeout=30_000)
    before = pump_threads()
    panels = page.locator(TITLES).count()
    with held.holding(at_round=1):  # the follow-up stays running until New chat ends it
        ask(page, "A follow-up to cancel")
        # The follow-up is streaming (a panel of its own, not the first answer's), so there is a run
        # to cancel; New chat clicked before its question reached the server would cancel nothing.
        page.wait_for_function(f"document.querySelectorAll('{TITLES}').length > {panels}", timeout=30_000)
        held.wait_held()
        page.click("#new-chat")
        page.wait_for_function(f"document.querySelectorAll('{USERS}').length === 0", timeout=30_000)
        wait_until(lambda: not pump_threads() - before, "the cancelled run's engine thread ending")
    # ... and no late frame of it comes back to the cleared chat once the page has no event pending
    page.wait_for_function(METER_IDLE_JS, timeout=30_000)
    assert page.locator(USERS).count() == 0 and page.inner_text("#meter").strip() == ""
    assert not page.locator("#dl-trace").is_visible() and visible(page, "#ask") and not visible(page, "#stop")
    ask(page, "A fresh question")
    wait_done(page)
    assert asked_history(seen) == []  # the model remembers nothing of the old chat
    chips = page.locator(ANSWER).last.locator("p a.cite").evaluate_all(f"els => els.map({SHOWN_JS})")
    assert chips[0] == "1"
    close(page)


def test_regenerate_and_edit_the_last_question(browser, spied) -> None:
    url, seen, held = spied
    page = page_for(browser, url)
    ask(page, "Question one")
    wait_done(page)
    ask(page, "Question two")
    page.wait_for_function(f"document.querySelectorAll('{USERS}').length === 2")
    wait_done(page)
    assert asked_history(seen)[0] == "Question one"
    with held.holding():  # the regenerated answer runs until Stop has been seen
        page.locator('#chat button[aria-label="Retry"]').click()
        page.wait_for_selector("#stop", state="visible", timeout=30_000)
    wait_done(page)
    users = page.locator(USERS).evaluate_all("els => els.map(e => e.innerText.trim())")
    assert users == ["Question one", "Question two"] and page.locator(ANSWER).count() == 2
    assert asked_history(seen)[0] == "Question one" and len(asked_history(seen)) == 2  # not doubled
    page.locator(USERS).last.hover()
    page.locator('#chat button[aria-label="Edit"]').last.click()
    box = page.locator("#chat textarea.edit-textarea")
    assert box.input_value() == "Question two"  # the edit box holds the question, ready to change
    box.press("End")
    page.keyboard.type(", edited")
    with held.holding():
        page.locator('#chat button[aria-label="Submit"]').click()
        page.wait_for_selector("#stop", state="visible", timeout=30_000)  # the resent question runs ...
    wait_done(page)  # ... to its end
    users = page.locator(USERS).evaluate_all("els => els.map(e => e.innerText.trim())")
    assert users == ["Question one", "Question two, edited"] and page.locator(ANSWER).count() == 2
    assert seen[-1][-1]["content"] == "Question two, edited" and len(asked_history(seen)) == 2
    page.locator(USERS).first.hover()  # editing the first question drops everything after it
    page.locator('#chat button[aria-label="Edit"]').first.click()
    assert box.input_value() == "Question one"
    box.fill("Question one, again")
    page.locator('#chat button[aria-label="Submit"]').click()
    # The question being edited is no bubble meanwhile: wait for the resent one's first frame.
    page.wait_for_function(f"[...document.querySelectorAll('{USERS}')].map(e => e.innerText.trim()).join('|')"
                           " === 'Question one, again'", timeout=30_000)
    wait_done(page)
    assert page.locator(USERS).inner_text().strip() == "Question one, again" and page.locator(ANSWER).count() == 1
    assert seen[-1][-1]["content"] == "Question one, again" and asked_history(seen) == []
    close(page)


@pytest.mark.parametrize("clear", ["#new-chat", "the clear icon"])
def test_clearing_the_chat_closes_an_open_edit_box(browser, spied, clear) -> None:
    """Gradio keeps its edit box open across a cleared chat; the next question would appear as an
    edit box holding the old question (and no question bubble)."""
    url, seen, _ = spied
    page = page_for(browser, url)
    ask(page, "Old question")
    wait_done(page)
    page.locator(USERS).last.hover()
    page.locator('#chat button[aria-label="Edit"]').last.click()
    assert page.locator("#chat textarea.edit-textarea").input_value() == "Old question"
    if clear == "#new-chat":
        page.click("#new-chat")
    else:
        page.locator('#chat button[aria-label="Clear"]').evaluate("e => e.click()")
    page.wait_for_function("document.querySelectorAll('#chat [data-testid=bot]').length === 0", timeout=30_000)
    # The chat empties in the browser at once; the server's answer to the clear (an empty meter)
    # comes later, and a question sent before it would be cancelled with the old chat.
    page.wait_for_function("(document.querySelector('#meter')?.innerText || '').trim() === ''", timeout=30_000)
    page.wait_for_selector("#ask", state="visible", timeout=30_000)
    ask(page, "New question")
    wait_done(page)
    assert page.locator("#chat textarea.edit-textarea").count() == 0
    assert page.locator(USERS).evaluate_all("els => els.map(e => e.innerText.trim())") == ["New question"]
    assert asked_history(seen) == []
    close(page)


def test_one_concurrency_group_bounds_every_way_of_asking(browser) -> None:
    """Limit 1: Enter in one tab, Ask in a second, an example in a third never run at once."""
    demo, url = serve(scripted(concurrency_local=1))
    held = HeldRuns(demo.runtime.backend)  # type: ignore[attr-defined]
    held.hold(at_round=1)  # the first answer runs until the two others are waiting for its slot
    before, most, watching = pump_threads(), [0], threading.Event()

    def watch() -> None:  # the engine threads running at once, sampled on the server's side
        while not watching.is_set():
            most[0] = max(most[0], len(pump_threads() - before))
            watching.wait(0.005)  # the sampling pace

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        pages = [page_for(browser, url) for _ in range(3)]
        ask(pages[0], "By Enter")
        # Its first panel is in the page and the run waits after it: the first answer is running.
        pages[0].wait_for_selector(TITLES, state="attached", timeout=30_000)
        held.wait_held()
        pages[1].fill("#question textarea", "By the Ask button")
        pages[1].click("#ask")
        pages[2].locator("#chat .examples button").first.click()
        queue = demo.blocks._queue  # type: ignore[attr-defined]  # Gradio's: events not yet started
        wait_until(lambda: len(queue) >= 2 or held.held > 1,
                   "the Ask button's and the example's questions waiting in the queue", timeout=60)
        assert held.held == 1, f"{held.held} answers ran at once with a limit of 1"
        held.release()
        for page in pages:
            assert wait_done(page, 120_000).startswith("searches 3/5 · done")
        watching.set()
        watcher.join()
        assert most[0] == 1, f"{most[0]} answers ran at once with a limit of 1"
        for page in pages:
            close(page)
    finally:
        held.release()
        watching.set()
        demo.close()


def slow_trace(path: Path, gap: float, pauses: int = 4) -> Path:
    """A recorded run with ``pauses`` long gaps (each capped at 5 s when replayed)."""
    source = SourceRef(id=1, title="Slow source", url="https://example.org/slow")
    events = [Thinking(text=f"Slowly {i}.") for i in range(pauses)] + [
        SearchStart(query="slow", round=1, max_searches=2),
        SearchDone(query="slow", provider="fixture", latency_s=0.1, results=(source,)),
        Done(answer="Slow answer [1].", sources=(source,), cited=(1,), searches=1, stopped=True)]
    times = iter([0.0, 0.0] + [gap * (i + 1) for i in range(len(events) - 1)])  # read once on opening
    writer = trace.TraceWriter(path, question="A slow recording", model="script:test",
                               settings=Settings(backend="scripted", model_script="x"), clock=lambda: next(times))
    for event in events:
        writer.write(event)
    writer.close()
    return path


def test_replays_do_not_block_questions_and_offer_downloads(browser, tmp_path: Path, monkeypatch) -> None:
    demo, url = serve(scripted(concurrency_local=1), replay_speed=1)
    replays = HeldReplays(monkeypatch)  # the replay pauses at its first recorded gap until released
    try:
        replaying, asking = page_for(browser, url), page_for(browser, url)
        # Hour-long recorded pauses: the replay is still playing when the question runs.
        replaying.set_input_files("input[type=file]", str(slow_trace(tmp_path / "slow.jsonl", gap=3600, pauses=2)))
        replaying.wait_for_selector(TITLES, state="attached", timeout=30_000)
        replays.wait_held()
        ask(asking, "A question while a replay plays")
        asking.wait_for_selector(TITLES, timeout=30_000)  # the question got the model's one slot ...
        assert "stopped" not in replaying.inner_text("#meter")  # ... while the replay still plays
        assert wait_done(asking, 60_000).startswith("searches 3/5 · done")
        assert "stopped" not in replaying.inner_text("#meter") and replays.pauses == [MAX_REPLAY_PAUSE_S]
        replays.release()
        assert "stopped" in wait_done(replaying, 60_000)
        assert replays.pauses == [MAX_REPLAY_PAUSE_S] * 4  # hours of recorded pauses play as 5 s each
        text = replaying.inner_text("#chat")
        assert "This recording was stopped" in text and "You stopped" not in text
        for button in ("#dl-trace", "#dl-html", "#dl-md"):  # the same downloads as a live answer
            replaying.wait_for_selector(button, state="visible", timeout=30_000)
        with replaying.expect_download(timeout=30_000) as info:
            replaying.click("#dl-md")
        assert Path(info.value.path()).read_text(encoding="utf-8").startswith("# A slow recording")
        close(replaying)
        close(asking)
    finally:
        demo.close()


def test_export_folder_is_deleted_when_the_tab_closes(browser) -> None:
    demo, url = serve(scripted())
    try:
        page = page_for(browser, url)
        ask(page, "Leave an export behind")
        wait_done(page)
        with page.expect_download(timeout=30_000):
            page.click("#dl-trace")
        folders = {s.downloads.export_folder for s in demo.runtime.sessions.live()}  # type: ignore[attr-defined]
        assert len(folders) == 1 and all(f is not None and f.exists() for f in folders)
        close(page)  # the browser session ends
        wait_until(lambda: not any(f.exists() for f in folders), "the closed tab's export folder being deleted",
                   timeout=90, interval=0.1)
    finally:
        demo.close()



def test_stop_while_the_server_has_not_answered(browser) -> None:
    """An OpenAI-compatible server that takes the request and never answers: Stop in the page ends
    the run within seconds, says it was stopped, and the next question is answered (sent once)."""
    server = FakeServer()
    server.queue.append(hang())
    demo, url = serve(settings_for(server.url, openai_timeout_s=60, search_fixture=str(DATA / "ui.search.json")))
    try:
        page = page_for(browser, url)
        ask(page, "Will the server ever answer?")
        page.wait_for_selector("#stop", state="visible", timeout=30_000)
        wait_until(lambda: server.posts, "the question reaching the server")
        assert server.posts == 1
        # connected, and still nothing
        stays_false(lambda: "stopped" in page.inner_text("#meter"), "the run ending before Stop",
                    interval=0.05)
        pressed = time.monotonic()
        page.click("#stop")
        page.wait_for_function("(document.querySelector('#meter')?.innerText || '').includes('stopped')",
                               timeout=30_000)
        # A Stop that waited for the server would take its 60 s request timeout; beside two busy
        # loops (load average ~30) the click, the cancel and the redraw together took 6 s.
        assert time.monotonic() - pressed < 20, "Stop waited for the server's request timeout"
        assert server.client_gone.wait(10), "the request to the server was not closed"
        assert "You stopped this answer" in page.inner_text("#chat")
        page.wait_for_selector("#ask", state="visible", timeout=30_000)  # the composer is usable again
        assert not visible(page, "#stop") and page.input_value("#question textarea") == ""
        server.queue.append(sse(say("It answers now."), end("stop")))
        ask(page, "And now?")
        page.wait_for_function("(document.querySelector('#meter')?.innerText || '').includes('done')",
                               timeout=30_000)
        assert "It answers now." in page.locator(ANSWER).last.inner_text()
        assert server.posts == 2  # the stopped question was not sent again
        close(page)
    finally:
        demo.close()
        server.close()
