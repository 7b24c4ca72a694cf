"""The app in a real browser: Debian's chromium driven by Python playwright.

Scripted backend + fixture search: the ``ui`` app of tests/browser/conftest.py, shared with
the other modules on this worker. ``UPDATE_SCREENSHOT=1``
rewrites ``assets/screenshot.png`` (the README's screenshot) from the demo mode.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from tests.browser.chromium import CHROMIUM, NOT_INSTALLED

playwright_api = pytest.importorskip("playwright.sync_api")
if not CHROMIUM:
    pytest.skip(NOT_INSTALLED, allow_module_level=True)

from ui.startup import NO_GPU  # noqa: E402
from agent.config import Settings  # noqa: E402
from agent.events import Done, SearchDone, SearchStart, SourceRef, Thinking  # noqa: E402
from tests.browser.held import HeldRuns  # noqa: E402
from tests.browser.tabs import TABS  # noqa: E402
from tests.ui_helpers import pump_threads, serve  # noqa: E402
from tests.waiting import wait_until  # noqa: E402
from ui.app_ui import EXAMPLES  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
ANSWER = '#chat [data-testid="bot"]:not(:has(.thought-group))'  # no panel
TITLES = "#chat .thought-group > .title .md"
# Finished, the event is over (its status tracker hidden), and the page has taken Ask back (the
# answer's follow-up event hides Stop, and while Stop shows, Enter only says an answer is still
# running): so the next Enter or Regenerate is taken. Under load that follow-up can come seconds
# after the last frame. And no panel of the chat is still sliding open or shut: as the answer
# ends, its panels slide shut and Sources slides open (Gradio's panel keeps the sliding part's
# overflow hidden while it moves, and marks one sliding shut inert), moving what is below them
# (Retry by 58 px, up to 400 ms after Ask was back beside two busy loops: a click aimed at it
# then landed elsewhere, and a test reading the chat saw a closing panel's text).
IDLE_JS = "(() => { const s = document.querySelector('#meter [data-testid=status-tracker]');" \
          " const stop = document.querySelector('#stop');" \
          " return (!s || s.classList.contains('hide')) && !(stop && stop.getClientRects().length) &&" \
          " !document.querySelector('#chat [inert], #chat .thought-group > .content[style*=overflow]'); })()"
DONE_JS = "(/· (done|stopped|error|cut off|round limit|no answer)/" \
          f".test(document.querySelector('#meter')?.innerText || '') && {IDLE_JS})"
# What a chip or card shows on screen: its text without the screen-reader-only parts.
SHOWN_JS = "e => [...e.childNodes].filter(n => !n.classList?.contains('sr-only')).map(n => n.textContent).join('')"
SEARCHES = ["Searched: eiffel tower height · 1 result",
            "Searched: hostile titles <img src=x onerror=alert(4)> · 2 results", "⚠ Search failed: broken provider"]




# When anything in the chat last changed, on the page's clock (see ``chat_quiet``).
CHAT_CHANGES_JS = """new MutationObserver((ms) => {
  if (ms.some(m => (m.target.closest ? m.target : m.target.parentElement)?.closest('#chat')))
    window.__chatChanged = performance.now();
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});"""
# Gradio's chat autoscroll (off in this app, ui/app_ui.py) scrolled to the end 300 ms after each
# update that found the chat there (a timer, not an animation): a scroll up within that time was undone.
GRADIO_AUTOSCROLL_MS = 300


def page_for(browser, url: str, *, viewport: dict | None = None, color_scheme: str | None = None, **context):
    """A tab on ``url`` (window ``viewport``, ``color_scheme`` preferred) once the page has
    mounted what the tests reach for: a new Gradio session, in a tab an earlier test may have
    used (tests/browser/tabs.py). ``page.dialogs``: the messages of the dialogs it dismissed."""
    def setup(page) -> None:
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.add_init_script(CHAT_CHANGES_JS)

    page = TABS.take(browser, setup=setup, color_scheme=color_scheme, **context)
    page.set_viewport_size(viewport or {"width": 1100, "height": 1200})
    page.dialogs = []  # type: ignore[attr-defined]
    return open_app(page, url)


def open_app(page, url: str):
    """``page`` on the app at ``url`` once it has mounted what the tests reach for and the page's
    own script (assets/ui.js) runs. Gradio mounts components one by one; on a loaded CI machine
    the textbox can be there before the chat and the meter are. It runs ui.js only once the app
    is ready, which need not come before the chat's examples show: a test that watches the chat
    from then on needs ui.js's observers there first (they are called in the order they were
    created), or it sees the chat grow before ui.js keeps it at its end (a CI run's phone test saw
    18 and 20 px gaps). ui.js names the drawer's toggle just after it creates them. A first page
    of an app took over 30 s to mount beside two busy loops (load average 25): the deadline only
    bounds a page that never mounts."""
    page.goto(url)
    for selector in ("#question textarea", "#chat", "#meter", "#tools-toggle[aria-controls]"):
        page.wait_for_selector(selector, state="attached", timeout=90_000)
    return page


def ask(page, text: str) -> None:
    page.fill("#question textarea", text)
    page.keyboard.press("Enter")


def wait_done(page, timeout: float = 60_000) -> str:
    page.wait_for_function(DONE_JS, timeout=timeout)
    return page.inner_text("#meter")


def wait_idle(page, timeout: float = 60_000) -> None:
    """What ``wait_done`` waits for but the meter's verdict: Ask is back and no panel of the chat
    slides. For a chat drawn by something other than an answer (a conversation reopened from
    History), before a click inside it."""
    page.wait_for_function(IDLE_JS, timeout=timeout)


def titles(page, *, raw: bool = False) -> list[str]:
    """Panel titles; "Thought for 0.8 s" reads "Thought" unless ``raw`` (timings vary)."""
    found = page.eval_on_selector_all(TITLES, "els => els.map(e => e.innerText.trim())")
    return found if raw else [re.sub(r"^Thought for \d+\.\d s$", "Thought", t) for t in found]


def open_panels(page) -> None:
    """Expand every collapsed panel (its body is only rendered when open). Collapsed titles are
    clicked again at each poll: a chat redrawn after the first clicks (a follow-up event of the
    answer) draws its panels closed, and a panel opened reveals nested ones still closed."""
    page.wait_for_function(OPEN_ALL_JS, polling=500, timeout=30_000)
    settle(page)


OPEN_ALL_JS = """() => {
    const groups = [...document.querySelectorAll('#chat .thought-group')];
    const closed = groups.filter(g => !g.querySelector('.content'));
    closed.forEach(g => g.querySelector(':scope > .title')?.click());
    return closed.length === 0;
}"""


# Nothing on the page is moving: no finite CSS animation or transition is running (a spinner's
# endless one does not count). What a screenshot or a measurement waits for.
STILL_JS = "document.getAnimations().every(a => a.playState !== 'running' ||" \
           " a.effect?.getTiming().iterations === Infinity)"


def settle(page, timeout: float = 10_000) -> None:
    """Wait until the page stops moving (drawers slid, panels opened, scrolls finished)."""
    page.wait_for_function(f"new Promise(r => requestAnimationFrame(() => requestAnimationFrame("
                           f"() => r({STILL_JS}))))", timeout=timeout)


def chat_quiet(page) -> None:
    """Wait until the chat has been unchanged for longer than Gradio's autoscroll delay: what a
    test waits out to show that no delayed scroll came."""
    page.wait_for_function(f"performance.now() - (window.__chatChanged || 0) > {GRADIO_AUTOSCROLL_MS + 200}",
                           timeout=30_000)


def scroll_chat_to_top(page) -> None:
    """Scroll the chat pane to its top as a reader would."""
    page.evaluate("document.querySelector('#chat [role=log]').scrollTop = 0")
    settle(page)


def close(page) -> None:
    """Done with the tab: its Gradio session ends, and the tab waits for the next test's page."""
    TABS.park(page)


def test_answer_streams_with_panels_and_citation_links(browser, ui) -> None:
    page = page_for(browser, ui)
    # Observing the whole body: Gradio may re-mount the chat, and an observer on a replaced node
    # would see nothing.
    page.evaluate("""() => { window.__seen = new Set();
        new MutationObserver(() => {
          const a = [...document.querySelectorAll('#chat [data-testid="bot"]:not(:has(.thought-group))')];
          window.__seen.add(a.map(e => e.innerText).join('|').length);
        }).observe(document.body, {subtree: true, childList: true, characterData: true}); }""")
    ask(page, "How tall is the Eiffel Tower?")
    page.wait_for_selector("#chat .loading-spinner", timeout=30_000)  # a pending panel while it runs
    meter = wait_done(page)
    assert meter.startswith("searches 3/5 · done")
    assert page.evaluate("window.__seen.size") >= 4  # the answer grew over several updates
    assert titles(page) == ["Thought", SEARCHES[0], "Thought", SEARCHES[1], "Thought", SEARCHES[2], "Thought",
                            "Sources (3)", "Stats"]
    assert re.fullmatch(r"Thought( for \d+\.\d s)?", titles(page, raw=True)[0])
    failed = page.locator(TITLES).nth(5).locator(".warn")  # a failed search's title in warning colour
    assert failed.inner_text() == "⚠ Search failed" and failed.evaluate("e => getComputedStyle(e).color") \
        != page.locator(TITLES).nth(1).evaluate("e => getComputedStyle(e).color")
    answer = page.locator(ANSWER).last
    assert "The Eiffel Tower is 330 m tall" in answer.inner_text()
    chip = answer.locator('p a.cite[href="https://en.wikipedia.org/wiki/Eiffel_Tower"]')
    assert chip.count() == 1 and chip.evaluate(SHOWN_JS) == "1"  # a compact chip that names its source
    assert chip.get_attribute("title") == "1. Eiffel Tower - Wikipedia · en.wikipedia.org"  # on hover
    # ... and to a screen reader: its accessible name (the sanitiser strips aria-label), as the card's
    named = answer.get_by_role("link", name=re.compile(r"^Source 1 ?: Eiffel Tower - Wikipedia ?, en\.wikipedia\.org$"))
    assert named.count() == 2 and named.first.evaluate("e => e.classList.contains('cite')")
    assert chip.bounding_box()["width"] < 40  # the hidden text takes no room ...
    chip.click(trial=True, timeout=30_000)  # ... and nothing else is hit where the chip is clicked
    assert re.search(r"Citation 9\? ?: no such source", answer.aria_snapshot())
    assert chip.evaluate("e => getComputedStyle(e).borderRadius") != "0px"
    missing = answer.locator(".cite-missing")  # a citation with no source: quiet, no strike line
    assert missing.evaluate(SHOWN_JS) == "9?" and answer.locator("del").count() == 0 and "~" not in answer.inner_text()
    cards = answer.locator(".source-cards a.source-card")  # cards under the answer, in numeric order
    assert cards.evaluate_all("els => els.map(e => e.querySelector('.n').innerText)") == ["1", "2", "3"]
    assert cards.first.evaluate("e => [...e.querySelectorAll('.n, .t, .d')].map(s => s.innerText)") == \
        ["1", "Eiffel Tower - Wikipedia", "en.wikipedia.org"]
    cards.first.click(trial=True, timeout=30_000)
    assert page.locator("#chat img").count() == 0  # no favicons or other third-party requests
    open_panels(page)
    chat_text = page.inner_text("#chat")
    assert "via bundled results" in chat_text and "fixture" not in chat_text.lower()
    assert "provider is down" in chat_text
    assert "time to first token" in chat_text
    assert page.locator('#chat a[href="https://evil.example/a"]').count() >= 1  # result + source links
    starts = {"#dl-trace": '{"type": "meta"', "#dl-html": "<!DOCTYPE html>", "#dl-md": "# How tall is the Eiffel Tower?"}
    for button, start in starts.items():  # the downloads really arrive, as files people can keep
        with page.expect_download(timeout=30_000) as info:
            page.click(button)
        download = info.value
        assert download.suggested_filename.startswith("deepsearch-")
        assert Path(download.path()).read_text(encoding="utf-8").startswith(start)
    close(page)


def test_hostile_titles_and_javascript_urls_are_inert(browser, fast_ui) -> None:
    page = page_for(browser, fast_ui)
    ask(page, "Anything hostile?")
    wait_done(page)
    open_panels(page)
    assert page.dialogs == []
    assert page.evaluate("window.__xss") is None
    assert page.locator('#chat a[href^="javascript:" i]').count() == 0
    assert page.evaluate("""() => [...document.querySelectorAll('#chat *')].filter(
        el => [...el.attributes].some(a => a.name.startsWith('on'))).length""") == 0
    assert page.locator("#chat img[src='x']").count() == 0  # raw HTML from the model is text too
    assert page.locator("#chat .katex").count() == 0  # $$ in a title is text, not LaTeX
    text = page.inner_text("#chat")
    assert "<img src=x onerror=alert(1)>" in text  # shown as text
    assert "[click me](javascript:alert(2)) $$x^2$$" in text
    assert '<img src=x onerror="window.__xss=1"> a trap' in text
    close(page)


def test_stop_ends_generation_and_next_question_works(browser, fast_ui, held) -> None:
    page = page_for(browser, fast_ui)
    before = pump_threads()
    with held.holding(at_round=1):  # the run is going (past its first panel) when Stop is pressed
        ask(page, "Stop me")
        page.wait_for_selector(TITLES, state="attached", timeout=30_000)
        held.wait_held()
        page.click("#stop")
        page.wait_for_function("(document.querySelector('#meter')?.innerText || '').includes('stopped')",
                               timeout=30_000)
    # nothing keeps streaming after a stop: the event is over and the engine thread gone
    assert "stopped" in wait_done(page, 30_000)
    wait_until(lambda: not pump_threads() - before, "the stopped run's engine thread ending")
    assert "stopped" in page.inner_text("#meter")
    assert titles(page).count("■ Stopped") == 1
    assert "You stopped this answer" in page.inner_text("#chat")
    assert "330 m" not in page.inner_text("#chat")
    assert not pump_threads() - before, "the stopped run's engine thread is still going"
    ask(page, "Second question")
    page.wait_for_function("document.querySelectorAll('[data-testid=\"user\"]').length == 2")
    assert wait_done(page, 30_000).startswith("searches 3/5 · done")
    assert "The Eiffel Tower is 330 m tall" in page.locator(ANSWER).last.inner_text()
    close(page)


def _endless_thinking(vocab_size: int, token: int):
    """An lm_head that makes the tiny model think forever (never a stop token): only Stop ends it."""
    import torch

    class EndlessThinking(torch.nn.Module):
        def forward(self, hidden: torch.Tensor) -> torch.Tensor:
            logits = torch.zeros(*hidden.shape[:-1], vocab_size, dtype=hidden.dtype)
            logits[..., token] = 100.0
            return logits

    return EndlessThinking()


def test_stop_ends_real_generation_on_the_transformers_backend(browser, tiny_model_dir: Path) -> None:
    """The same Stop, with the local backend's generation thread behind it (tiny random Qwen2)."""
    demo, url = serve(Settings(model=str(tiny_model_dir), max_new_tokens=20_000, temperature=0.0,
                               provider="fixture", search_fixture=str(DATA / "ui.search.json")))
    backend = demo.runtime.backend
    try:
        backend.load()
        word = backend.tokenizer.encode(" think", add_special_tokens=False)[0]
        backend.model.lm_head = _endless_thinking(backend.model.config.vocab_size, word)
        page = page_for(browser, url)
        before = {t for t in threading.enumerate() if t.name == "transformers-generate"}

        def generating() -> set[threading.Thread]:
            return {t for t in threading.enumerate() if t.name == "transformers-generate" and t.is_alive()} - before

        ask(page, "Think forever")
        page.wait_for_selector(TITLES, timeout=30_000)
        wait_until(generating, "the tiny model generating")
        page.click("#stop")
        assert "stopped" in wait_done(page, 30_000)
        wait_until(lambda: not generating(), "the generation thread ending after Stop")
        # Stats come too when the engine's own stopped `done` lands before the last frame.
        assert titles(page)[1:] in (["■ Stopped"], ["■ Stopped", "Stats"])
        assert titles(page)[0].startswith("Thought")
        close(page)
    finally:
        demo.close()


def open_drawer(page) -> None:
    """Settings, Documents and trace replay are in a drawer the top bar's toggle opens."""
    if not page.is_visible("#settings"):
        page.click("#tools-toggle")
    page.wait_for_selector("#settings", state="visible")


def set_max_searches(page, n: int) -> None:
    open_drawer(page)
    settle(page)  # the drawer has slid in and its accordion is rendered: typing now is kept
    box = page.locator("#set-max-searches input[type='number']")
    box.fill(str(n))
    box.press("Enter")
    box.blur()
    page.wait_for_function(f"document.querySelector(\"#set-max-searches input[type='range']\").value === '{n}'",
                           timeout=30_000)


def test_settings_change_takes_effect_and_shows_backend(browser, fast_ui) -> None:
    page = page_for(browser, fast_ui)
    set_max_searches(page, 1)
    info = page.inner_text("#settings-info")
    assert "Backend: scripted" in info and "Search: bundled results (offline)" in info
    ask(page, "Only one search please")
    meter = wait_done(page)
    slider = page.eval_on_selector("#set-max-searches input[type='range']", "e => e.value")
    assert meter.startswith("searches 1/1 · done"), f"meter {meter!r} while the slider shows {slider!r}"
    search_titles = [t for t in titles(page) if "Search" in t]
    assert search_titles == [SEARCHES[0]]  # the second call was refused
    open_panels(page)
    panel = page.locator("#chat .thought-group").filter(has_text="time to first token").last
    stats = panel.inner_text()
    assert "tool calls not run" in stats and "over the search budget: broken provider" in stats
    assert not panel.locator("thead").first.is_visible()  # no empty header row above the stats
    assert page.locator("#chat img[src='x']").count() == 0  # the refused query's HTML stays text
    close(page)


def test_multi_turn_follow_up(browser, fast_ui) -> None:
    page = page_for(browser, fast_ui)
    ask(page, "How tall is the Eiffel Tower?")
    wait_done(page)
    ask(page, "And in feet?")
    page.wait_for_function("document.querySelectorAll('[data-testid=\"user\"]').length == 2")
    page.wait_for_function(f"document.querySelectorAll('{ANSWER}').length >= 2 && " + DONE_JS,
                           timeout=30_000)
    users = page.eval_on_selector_all('[data-testid="user"]', "els => els.map(e => e.innerText.trim())")
    assert users == ["How tall is the Eiffel Tower?", "And in feet?"]
    assert page.locator(ANSWER).count() == 2
    # Each answer numbers its own sources from [1]: the follow-up's chips read 1, 2, 3 again.
    follow_up = page.locator(ANSWER).last
    assert follow_up.locator("p a.cite").evaluate_all(f"els => els.map({SHOWN_JS})") == ["1", "2", "3"]
    assert follow_up.locator('p a.cite[href="https://en.wikipedia.org/wiki/Eiffel_Tower"]').evaluate(SHOWN_JS) == "1"
    # The whole conversation in one file: both questions, their searches, answers and sources.
    page.wait_for_selector("#dl-conv-md", state="visible", timeout=30_000)
    for button, start in (("#dl-conv-html", "<!DOCTYPE html>"), ("#dl-conv-md", "# How tall is the Eiffel Tower?")):
        # the files are rewritten just after the answer's last frame
        download, text = wait_until(lambda button=button: _download_holding(page, button, "And in feet?"),
                                    f"{button} offering the conversation with the follow-up", interval=0.25)
        assert download.suggested_filename.startswith("deepsearch-conversation-")
        assert text.startswith(start) and text.index("How tall is the Eiffel Tower?") < text.index("And in feet?")
        assert text.count("How it got there") == 2 and text.count("Eiffel Tower - Wikipedia") >= 2
    close(page)


def _download_holding(page, button: str, text: str):
    """(download, its text) when clicking ``button`` downloads a file holding ``text``, else None."""
    with page.expect_download(timeout=30_000) as info:
        page.click(button)
    got = Path(info.value.path()).read_text(encoding="utf-8")
    return (info.value, got) if text in got else None


def track_run(page) -> None:
    """Record (browser clock) when the first panel appears and when the run is over, so that two
    pages' runs can be compared however slowly the test itself gets to look at them."""
    page.evaluate("""() => { window.__run = {}; const id = setInterval(() => {
        const now = Date.now();
        if (!window.__run.start && document.querySelector('#chat .thought-group')) window.__run.start = now;
        if (window.__run.start && %s) { window.__run.done = now; clearInterval(id); } }, 20); }""" % DONE_JS)


def test_two_sessions_at_once_never_mix(browser, fast_ui, held) -> None:
    a, b = page_for(browser, fast_ui), page_for(browser, fast_ui)
    for page in (a, b):
        track_run(page)
    with held.holding(at_round=1):  # both runs are going (each past its first panel) before either goes on
        ask(a, "Question from A")
        ask(b, "Question from B")
        held.wait_held(2)
        for page in (a, b):  # each page has shown its run going (one behind another draws late)
            page.bring_to_front()
            page.wait_for_selector("#chat .thought-group", state="attached", timeout=30_000)
    meter_a, meter_b = wait_done(a), wait_done(b)
    run_a, run_b = a.evaluate("window.__run"), b.evaluate("window.__run")
    assert run_a["start"] < run_b["done"] and run_b["start"] < run_a["done"], \
        f"the two questions should run at the same time: {run_a} {run_b}"
    assert meter_a.startswith("searches 3/5 · done") and meter_b.startswith("searches 3/5 · done")
    text_a, text_b = a.inner_text("#chat"), b.inner_text("#chat")
    assert "Question from A" in text_a and "Question from B" not in text_a
    assert "Question from B" in text_b and "Question from A" not in text_b
    for page in (a, b):  # one answer each: nothing of the other run streamed into this page
        assert [t for t in titles(page) if "Search" in t] == SEARCHES
        assert page.locator(ANSWER).count() == 1
        assert page.locator(ANSWER).last.inner_text().count("The Eiffel Tower is 330 m tall") == 1
    close(a)
    close(b)


def test_empty_and_over_long_questions(browser, fast_ui) -> None:
    page = page_for(browser, fast_ui)
    sent: list[str] = []  # what the page sent the server, as the requests' bodies
    page.on("request", lambda r: sent.append(r.post_data or "") if "/gradio_api/" in r.url else None)
    page.fill("#question textarea", "   ")
    page.keyboard.press("Enter")
    page.click("#ask")
    # A blank question is not sent at all: Gradio drops a submit while the same event is still
    # pending, so a blank one sent first could swallow the question typed right after it.
    ask(page, "x" * 301)
    page.get_by_text("the limit is 300").first.wait_for(timeout=30_000)
    assert not [body for body in sent if '"   "' in body], "the blank question went to the server"
    assert [body for body in sent if "x" * 301 in body], "the long question was not sent"
    assert page.locator('[data-testid="user"]').count() == 0  # neither the blank nor the long one
    assert page.input_value("#question textarea") == "x" * 301  # a refused question stays to be shortened
    assert "Traceback" not in page.content()
    close(page)


def test_trace_upload_replays_with_panels(browser, fast_ui, tmp_path: Path) -> None:
    from agent.records import trace
    path = tmp_path / "recorded.jsonl"
    bad = SourceRef(id=1, title="<img src=x onerror=alert(7)>", url="javascript:alert(7)")
    good = SourceRef(id=2, title="Good source", url="https://example.org/good")
    writer = trace.TraceWriter(path, question="Recorded question", model="script:test",
                               settings=Settings(backend="scripted", model_script="x"))
    for event in (Thinking(text="Recorded thinking."), SearchStart(query="recorded query", round=1, max_searches=2),
                  SearchDone(query="recorded query", provider="fixture", latency_s=0.3, results=(bad, good)),
                  Done(answer="Answer [1] and [2].", sources=(bad, good), cited=(1, 2), searches=1)):
        writer.write(event)
    writer.close()
    page = page_for(browser, fast_ui)
    page.set_input_files("input[type=file]", str(path))
    assert wait_done(page).startswith("searches 1/2 · done")
    assert titles(page)[:2] == ["Thought", "Searched: recorded query · 2 results"]
    assert "Replay of a recorded trace" in page.inner_text("#chat")
    open_panels(page)
    assert page.locator('#chat a[href^="javascript:" i]').count() == 0 and page.dialogs == []
    assert page.locator(ANSWER).last.locator('p a.cite[href="https://example.org/good"]').evaluate(SHOWN_JS) == "2"
    close(page)


def test_app_replay_flag_plays_a_recording_on_open(browser, tmp_path: Path) -> None:
    from agent.records import trace
    path = tmp_path / "kiosk.jsonl"
    source = SourceRef(id=1, title="Kiosk source", url="https://example.org/kiosk")
    writer = trace.TraceWriter(path, question="Kiosk question", model="script:test",
                               settings=Settings(backend="scripted", model_script="x"))
    for event in (Thinking(text="Kiosk thinking."), SearchStart(query="kiosk", round=1, max_searches=3),
                  SearchDone(query="kiosk", provider="fixture", latency_s=0.2, results=(source,)),
                  Done(answer="Kiosk answer [1].", sources=(source,), cited=(1,), searches=1)):
        writer.write(event)
    writer.close()
    demo, url = serve(Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                               search_fixture=str(DATA / "ui.search.json")), replay=str(path), replay_speed=0)
    try:
        page = page_for(browser, url)
        assert wait_done(page).startswith("searches 1/3 · done")
        assert page.locator('[data-testid="user"]').inner_text().strip() == "Kiosk question"
        assert page.locator(ANSWER).last.locator('p a.cite[href="https://example.org/kiosk"]').evaluate(SHOWN_JS) == "1"
        close(page)
    finally:
        demo.close()


def test_full_queue_tells_the_user_it_is_busy(browser) -> None:
    demo, url = serve(Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                               search_fixture=str(DATA / "ui.search.json"), provider="fixture",
                               concurrency_local=1, queue_max_size=1))
    held = HeldRuns(demo.runtime.backend)
    held.hold(at_round=1)  # the first answer keeps the one slot until it is stopped
    try:
        running, waiting, refused = (page_for(browser, url) for _ in range(3))
        ask(running, "First")
        running.wait_for_selector(TITLES, state="attached", timeout=30_000)  # generating: the one slot is taken
        held.wait_held()
        ask(waiting, "Second")  # the one queue place, once the server says so
        waiting.wait_for_function("(document.querySelector('#meter')?.innerText || '').includes('queue: 1/1')",
                                  timeout=30_000)
        ask(refused, "Third")
        refused.get_by_text("This application is currently busy. Please try again.").wait_for(timeout=30_000)
        assert "Traceback" not in refused.content()
        refused.wait_for_selector("#ask", state="visible", timeout=30_000)  # the refused page is idle again
        assert not refused.locator("#stop").is_visible()
        running.click("#stop")
        assert "stopped" in wait_done(running, 30_000)
        for page in (running, waiting, refused):
            close(page)
    finally:
        held.release()
        demo.close()


@pytest.fixture(scope="module")
def demo_mode():
    # Demo mode at (nearly) full speed: 0 would mean the demo's own pace, 0.01 s a chunk, and
    # every streamed frame costs the browser a redraw.
    demo, url = serve(Settings(script_delay_s=0.0001), demo_reason=NO_GPU)
    yield url
    demo.close()


def test_demo_mode_example_click_and_screenshot(browser, demo_mode, tmp_path: Path) -> None:
    # The page is the window's height: a tall window, so the screenshot shows the whole answer.
    page = page_for(browser, demo_mode, viewport={"width": 1200, "height": 1400})
    banner = page.locator("#banner")  # one line; the why and the how behind a toggle
    assert banner.inner_text().strip() == "Demo mode: recorded answers, no live model"
    assert banner.bounding_box()["height"] < 80
    banner.locator("summary").click()
    assert "Demo: scripted model output" in banner.inner_text()
    assert "--" not in banner.inner_text() and "OpenAI-compatible model server" in banner.inner_text()  # no flags
    page.get_by_text(EXAMPLES[0]).first.click()  # examples run when clicked
    assert wait_done(page).startswith("searches 2/5 · done")
    assert "330 metres" in page.locator(ANSWER).last.inner_text()
    banner.locator("summary").click()  # the banner back to its one line
    page.wait_for_function("!document.querySelector('#banner details')?.open")
    settle(page)
    scroll_chat_to_top(page)  # from the question on
    page.wait_for_function("document.querySelector('#chat [role=log]').scrollTop === 0")
    settle(page)
    target = ROOT / "assets" / "screenshot.png" if os.environ.get("UPDATE_SCREENSHOT") \
        else tmp_path / "screenshot.png"
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000
    close(page)


def test_dark_mode_and_narrow_window(browser, demo_mode, tmp_path: Path) -> None:
    page = page_for(browser, demo_mode, viewport={"width": 390, "height": 844}, color_scheme="dark",
                    device_scale_factor=2)
    page.wait_for_selector("#chat .examples button")
    assert page.evaluate("window.scrollY") == 0  # nothing scrolls the first screen away
    ask(page, EXAMPLES[1])  # typed, not clicked: each example has its own scripted run
    assert wait_done(page).startswith("searches 2/5 · done")
    assert "August 1858" in page.locator(ANSWER).last.inner_text()
    background = page.evaluate("getComputedStyle(document.querySelector('.gradio-container') || "
                               "document.body).backgroundColor")
    rgb = [int(x) for x in background[background.index("(") + 1:].split(")")[0].split(",")[:3]]
    assert sum(rgb) < 200, background  # a dark background
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    for selector in ("#ask", "#question textarea"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 391
    ask_box, text_box = page.locator("#ask").bounding_box(), page.locator("#question textarea").bounding_box()
    assert abs(ask_box["y"] - text_box["y"]) < 30  # one composer row: the question and Ask side by side
    titles_fit = page.eval_on_selector_all(TITLES, "els => els.every(e => e.getBoundingClientRect().height < 40)")
    assert titles_fit  # panel titles stay on one line
    page.locator(ANSWER).last.evaluate("e => e.scrollIntoView({block: 'start'})")  # chips and cards in view
    settle(page)
    target = ROOT / "assets" / "screenshot-phone.png" if os.environ.get("UPDATE_SCREENSHOT") \
        else tmp_path / "screenshot-phone.png"
    page.screenshot(path=str(target), full_page=False)
    assert target.stat().st_size > 10_000
    close(page)
