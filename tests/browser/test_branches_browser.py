"""Branches in chromium: Regenerate makes "◀ 2/2 ▶" and the arrows (mouse and keyboard) switch
the chat and what the model remembers; Continue from here on a search panel forks after it with
its recorded results (a search provider that fails when called proves they are reused), streams
like an answer and can be stopped; on an earlier question it asks that question afresh. Every
branch is saved: after an app restart the conversation reopens on the branch that was shown, and
its share file holds both and plays either."""

from __future__ import annotations

import re

import pytest

from agent.api import PROVIDERS, HistoryConfig, ProviderSpec, Settings, open_store, register_provider
from agent.backends.scripted import ScriptedBackend
from agent.player import player_html
from agent.records.timed import turns_from_runs
from agent.records.trace import read_runs
from agent.search.base import SearchError, SearchResult
from tests.browser.test_ui_browser import ANSWER, DATA, SHOWN_JS, ask, close, open_app, page_for, wait_done
from tests.browser.held import HeldRuns
from tests.browser.test_history_browser import _open_sidebar
from tests.ui_helpers import serve, stop_app
from tests.waiting import wait_until

expect = pytest.importorskip("playwright.sync_api").expect

PROBE = "fork-probe"
RESULTS = {"tower height": [("Tower facts", "https://example.org/tower", "The tower is 330 m tall.")],
           "tower history": [("Tower history", "https://example.org/history", "Built in 1889."),
                             ("Old photos", "https://example.org/photos", "Photos of 1889.")]}


def search(query: str) -> str:
    return f'<tool_call>\n{{"name": "web_search", "arguments": {{"query": "{query}"}}}}\n</tool_call>'


FIRST = [f"I should look it up.\n</think>\n\n{search('tower height')}",
         "Found it.\n</think>\n\nThe first answer: the tower is 330 m tall [1]."]
SECOND = [f"Height first.\n</think>\n\n{search('tower height')}",
          f"And its history.\n</think>\n\n{search('tower history')}",
          "Enough.\n</think>\n\nThe second answer: built in 1889 [2], 330 m tall [1]."]
FOLLOW = ["Short.\n</think>\n\nA follow-up answer."]
AFTER_FORK = ["Going on from the results.\n</think>\n\nThe forked answer: 330 m [1]."]


class Probe:
    """A search provider that answers from ``RESULTS`` and, once ``fail`` is set, fails the test's
    point: anything that searches again instead of reusing the recording is caught."""

    name = PROBE

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail = False

    def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        self.calls.append(query)
        if self.fail:
            raise SearchError(f"{PROBE}: searched {query!r} again; a fork must reuse the recorded results")
        return [SearchResult(title=t, url=u, content=c) for t, u, c in RESULTS.get(query, [])][:max_results]


@pytest.fixture(scope="module")
def _app():
    """The app in this process, its model playing ``script["rounds"]`` (set by each test step) and
    searching through the probe; ``seen`` holds the messages of every question the model got; its
    runs can be held (tests/browser/held.py)."""
    probe = Probe()
    if PROBE not in PROVIDERS:
        register_provider(ProviderSpec(name=PROBE, label="probe", choice="Probe (tests)", description="tests",
                                       factory=lambda settings, indexes=(): [app.probe], offline=True))
    app.probe = probe  # type: ignore[attr-defined]
    settings = Settings(backend="scripted", model_script=str(DATA / "ui.script.json"), provider=PROBE,
                        read="off", check_claims="off", script_delay_s=0.0)
    built, url = serve(settings)
    script: dict = {"rounds": FIRST}
    seen: list[list[dict]] = []

    def start(messages, tools, **kw):
        seen.append(messages)
        return ScriptedBackend(rounds=list(script["rounds"]), settings=settings).start(messages, tools, **kw)

    built.runtime.backend.start = start  # type: ignore[method-assign]
    yield url, script, probe, seen, HeldRuns(built.runtime.backend)
    built.blocks.close()


@pytest.fixture
def app(_app):
    """``_app``'s URL, script, probe and seen messages."""
    return _app[:4]


@pytest.fixture
def held(_app):
    """Holds ``app``'s runs where a test must see one still going; released when the test ends."""
    try:
        yield _app[4]
    finally:
        _app[4].release()


def settled(page) -> str:
    """The answer is done and Ask is back (Enter while Stop shows is kept in the box, not sent)."""
    meter = wait_done(page)
    expect(page.locator("#ask")).to_be_visible(timeout=30_000)
    return meter


def first_answer(browser, app) -> tuple:
    """A new page with the first answer asked and ended (its search answered by the probe): what
    a fork starts from. Returns the page, the script and the probe."""
    url, script, probe, _ = app
    page = page_for(browser, url)
    script["rounds"], probe.fail = FIRST, False
    ask(page, "How tall is the tower?")
    settled(page)
    return page, script, probe


def state(page) -> dict:
    chat = page.locator("#chat")
    return {"text": re.sub(r"for \d+(\.\d+)? s", "for N s", chat.inner_text()),
            "chips": chat.locator("a.cite").evaluate_all(f"els => els.map({SHOWN_JS})"),
            "cards": chat.locator(".source-card").count()}


def test_regenerate_makes_two_branches_and_the_arrows_switch_them(browser, app):
    url, script, _, seen = app
    page = page_for(browser, url)
    script["rounds"] = FIRST
    ask(page, "How tall is the tower?")
    settled(page)
    first = state(page)
    assert "The first answer" in first["text"] and first["chips"] == ["1"]
    assert page.locator("#chat .ds-branches").count() == 0  # one branch: nothing to switch

    script["rounds"] = SECOND
    page.locator('#chat button[aria-label="Retry"]').click()
    expect(page.locator("#chat .ds-branch-n")).to_have_text(re.compile(r"2/2$"), timeout=60_000)
    settled(page)
    second = state(page)
    assert "The second answer" in second["text"] and second["chips"] == ["1", "2"] and second["cards"] == 2
    assert "The first answer" not in second["text"]
    bar = page.locator("#chat .ds-branches")
    assert bar.inner_text().replace("\n", "").endswith("2/2")
    # The switcher is part of the answer's message: no bot message is only a bar.
    assert page.locator(ANSWER).count() == 1 and page.locator(ANSWER).locator(".ds-branches").count() == 1
    expect(bar.get_by_role("link", name="Previous branch")).to_have_count(1)
    expect(bar.get_by_role("link", name="Next branch")).to_have_count(0)  # the last branch: no way on

    bar.get_by_role("link", name="Previous branch").click()
    expect(page.locator("#chat .ds-branch-n")).to_have_text(re.compile(r"1/2$"))
    shown = state(page)
    assert "The first answer" in shown["text"] and "The second answer" not in shown["text"]
    assert shown["chips"] == first["chips"] and shown["cards"] == first["cards"]
    assert shown["text"].count("Searched:") == 1 and "Tower history" not in shown["text"]

    # The keyboard: focus came back to the switcher (its other arrow), and Enter switches.
    page.wait_for_function("document.activeElement?.classList.contains('ds-branch-next')", timeout=10_000)
    page.keyboard.press("Enter")
    expect(page.locator("#chat .ds-branch-n")).to_have_text(re.compile(r"2/2$"))
    assert "The second answer" in page.locator("#chat").inner_text()
    page.wait_for_function("document.activeElement?.classList.contains('ds-branch-prev')", timeout=10_000)
    page.keyboard.press("Enter")
    expect(page.locator("#chat .ds-branch-n")).to_have_text(re.compile(r"1/2$"))

    # A follow-up continues the branch shown: the model is told the first answer, not the second.
    script["rounds"] = FOLLOW
    ask(page, "And then?")
    page.wait_for_function(f"document.querySelectorAll('{ANSWER}').length === 2", timeout=60_000)
    settled(page)
    told = " ".join(str(m.get("content")) for m in seen[-1][1:-1])
    assert "The first answer" in told and "The second answer" not in told
    assert page.locator("#chat .ds-branch-n").inner_text().endswith("1/2")  # still the first branch above
    close(page)


def test_continue_from_a_search_panel_reuses_its_results(browser, app):
    page, script, probe = first_answer(browser, app)
    calls = list(probe.calls)
    page.locator("#chat .thought-group > .title").filter(has_text="Searched: tower height").click()
    link = page.locator("#chat a.ds-fork").first
    expect(link).to_have_text("Continue from here")

    probe.fail, script["rounds"] = True, AFTER_FORK  # a search now would fail the answer
    link.click()
    expect(page.locator("#chat .ds-branch-n")).to_have_text(re.compile(r"2/2$"), timeout=60_000)
    settled(page)
    chat = page.locator("#chat").inner_text()
    assert "The forked answer" in chat and "The first answer" not in chat
    assert "Searched: tower height · 1 result" in chat and "Search failed" not in chat
    assert probe.calls == calls  # the recorded results were reused: the provider was not asked
    assert page.locator(ANSWER).last.locator("a.cite").evaluate_all(f"els => els.map({SHOWN_JS})") == ["1"]
    close(page)


def test_continue_after_a_step_from_the_answers_foot_with_its_panel_closed(browser, app):
    url, script, probe, _ = app
    page = page_for(browser, url)
    script["rounds"], probe.fail = SECOND, False
    ask(page, "How tall is the tower?")
    settled(page)
    calls = list(probe.calls)
    assert page.locator("#chat .thought-group .ds-fork").count() == 0  # every panel closed
    foot = page.locator(ANSWER).last.locator(".ds-turn-bar")
    expect(foot.get_by_role("link", name=re.compile(r"^Continue from here after Search \d$"))).to_have_count(2)
    probe.fail, script["rounds"] = True, AFTER_FORK
    foot.get_by_role("link", name="Continue from here after Search 2").click()
    expect(page.locator("#chat .ds-branch-n")).to_have_text(re.compile(r"2/2$"), timeout=60_000)
    settled(page)
    chat = page.locator("#chat").inner_text()
    assert "The forked answer" in chat and "The second answer" not in chat
    assert "Searched: tower history · 2 results" in chat and "Search failed" not in chat
    assert probe.calls == calls  # both recorded searches reused
    # The branch's own trace says where it came from, and makes a share player like any trace.
    with page.expect_download() as download:
        page.locator("#dl-trace").click()
    runs = read_runs(download.value.path())
    fork = runs[-1][0]["fork"]
    assert set(fork) == {"turn", "at"} and fork["at"] > 0
    assert "The forked answer" in player_html("fork", turns_from_runs(runs))
    close(page)


def test_a_replayed_trace_can_be_continued_from_a_step(browser, app, tmp_path):
    from agent.events import Answer, Done, RunStats, SearchDone, SearchStart, SourceRef, Thinking
    from agent.records.trace import TraceWriter

    url, script, probe, _ = app
    path = tmp_path / "recorded.jsonl"
    source = SourceRef(id=1, title="Tower facts", url="https://example.org/tower", snippet="The tower is 330 m tall.")
    writer = TraceWriter(path, question="How tall is the *recorded* <b>tower</b>?", model="script:test",
                         settings=Settings(backend="scripted", model_script="x", read="off"))
    for event in (Thinking(text="Recorded thinking."), SearchStart(query="tower height", round=1, max_searches=3),
                  SearchDone(query="tower height", provider=PROBE, latency_s=0.3, results=(source,)),
                  Thinking(text="Found it."), Answer(text="The recorded answer [1]."),
                  Done(answer="The recorded answer [1].", sources=(source,), cited=(1,), searches=1, stats=RunStats())):
        writer.write(event)
    writer.close()
    page = page_for(browser, url)
    page.set_input_files("input[type=file]", str(path))
    settled(page)
    assert "Replay of a recorded trace" in page.inner_text("#chat")
    calls = list(probe.calls)
    probe.fail, script["rounds"] = True, AFTER_FORK
    page.locator(ANSWER).last.get_by_role("link", name="Continue from here after Search 1").click()
    expect(page.locator("#chat .ds-branch-n")).to_have_text(re.compile(r"2/2$"), timeout=60_000)
    settled(page)
    chat = page.locator("#chat").inner_text()
    assert "The forked answer" in chat and "The recorded answer" not in chat and "Search failed" not in chat
    assert probe.calls == calls  # the recorded search was reused
    assert page.locator("#chat b").count() == 0  # the trace's question stays text in the new branch too
    page.locator("#chat").get_by_role("link", name="Previous branch").click()
    expect(page.locator("#chat")).to_contain_text("The recorded answer")
    close(page)


def test_a_fork_streams_and_stops_and_an_earlier_question_can_be_asked_afresh(browser, app, held):
    page, script, _ = first_answer(browser, app)
    script["rounds"] = FOLLOW
    ask(page, "And then?")
    page.wait_for_function(f"document.querySelectorAll('{ANSWER}').length === 2", timeout=60_000)
    settled(page)

    # Continue from here on the first question (an earlier one): a long answer, held while it
    # streams (a pace alone let it reach the token limit before Stop under load), then stopped.
    script["rounds"] = ["Thinking it over again. " * 2000 + "\n</think>\n\nNever reached."]
    held.hold(after_text="Thinking it over again. Thinking")
    page.locator("#chat .ds-turn-bar").get_by_role("link", name="Continue from here", exact=True).click()
    page.wait_for_selector("#stop", state="visible", timeout=30_000)
    held.wait_held()
    expect(page.locator("#chat")).to_contain_text("Thinking it over again", timeout=30_000)
    page.click("#stop")
    meter = settled(page)
    assert "stopped" in meter
    chat = page.locator("#chat").inner_text()
    assert "And then?" not in chat  # the branch starts at the first question: the follow-up is on the other
    assert page.locator("#chat .ds-branch-n").inner_text().endswith("2/2")
    page.locator("#chat").get_by_role("link", name="Previous branch").click()
    expect(page.locator("#chat")).to_contain_text("And then?")  # the first branch, to its end
    assert page.locator("#chat .ds-branch-n").inner_text().endswith("1/2")
    close(page)


def test_branches_survive_an_app_restart_and_reopen_on_the_branch_shown(browser, app_processes, tmp_path):
    question = "How tall is the Eiffel Tower?"
    lines: list[str] = []
    proc, port = app_processes.start(lines, DEEPSEARCH_DATA_DIR=str(tmp_path))
    url = f"http://127.0.0.1:{port}/"
    context = browser.new_context(viewport={"width": 1100, "height": 1200})
    store = None
    try:
        page = context.new_page()
        open_app(page, url)
        ask(page, question)
        settled(page)
        page.locator('#chat button[aria-label="Retry"]').click()
        expect(page.locator("#chat .ds-branch-n")).to_have_text(re.compile(r"2/2$"), timeout=120_000)
        settled(page)
        page.locator("#chat").get_by_role("link", name="Previous branch").click()
        expect(page.locator("#chat .ds-branch-n")).to_have_text(re.compile(r"1/2$"))
        store = open_store(HistoryConfig(data_dir=tmp_path))
        saved = wait_until(lambda: store.list(None), "the conversation saved")
        wait_until(lambda: store.load(None, saved[0].id).branches() == [(1, 2)], "the first branch saved as shown")
    finally:
        stop_app(proc)
        if store is not None:
            store.close()

    try:
        # The same origin: the browser's secret holds.
        proc, _ = app_processes.start(lines, port=port, DEEPSEARCH_DATA_DIR=str(tmp_path))
        page = context.new_page()
        open_app(page, url)
        _open_sidebar(page)
        entry = page.locator("#history").get_by_role("button", name=question)
        expect(entry).to_have_count(1, timeout=60_000)
        entry.click()
        expect(page.locator("#chat .ds-branch-n")).to_have_text(re.compile(r"1/2$"), timeout=60_000)
        with page.expect_download() as download:
            page.locator("#history-share").click()
        player = open(download.value.path(), encoding="utf-8").read()
        shown, others = player.split('<section id="branches"', 1)  # every branch, the one shown first
        assert '<span class="sr-only">Branch </span>1/2' in shown and '<span class="sr-only">Branch </span>2/2' in others
        # The file plays the other branch too, on its own: no request leaves it.
        file_page = context.new_page()
        requests: list[str] = []
        file_page.on("request", lambda r: requests.append(r.url))
        shared = tmp_path / "shared.html"  # the download's own name has no .html: it would open as text
        shared.write_text(player, encoding="utf-8")
        file_page.goto(shared.as_uri())
        file_page.click("#speeds [data-speed='0']")
        file_page.click("#play")
        expect(file_page.locator("main .branch-n")).to_have_text("Branch 1/2")
        file_page.locator("main").get_by_role("link", name="Next branch").click()
        expect(file_page.locator("main .branch-n")).to_have_text("Branch 2/2")
        expect(file_page.locator("main section.answer")).to_contain_text("330")
        assert all(r.startswith("file://") for r in requests), requests
        file_page.close()
        page.locator("#chat").get_by_role("link", name="Next branch").click()
        expect(page.locator("#chat .ds-branch-n")).to_have_text(re.compile(r"2/2$"))
        expect(page.locator("#chat")).to_contain_text("330")
        stop_app(proc)
    finally:
        context.close()
