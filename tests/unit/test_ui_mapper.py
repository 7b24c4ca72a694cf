"""Unit tests of the UI's pure parts: events -> ChatMessages, citations, history."""

from __future__ import annotations

import html
import re
import threading
from pathlib import Path

import gradio as gr
import pytest

from agent.backends.scripted import ScriptedBackend, load_script
from agent.config import DEFAULT_MODEL, Settings
from agent.events import Answer, Done, Error, RefusedCall, RunStats, SearchDone, SearchStart, SourceRef, Thinking
from agent.session import ChatSession
from ui import mapper
from ui.citations import escape_text, link_citations, neutralise, safe_url
from tests.engine_helpers import memory_of
from ui.history import content_text, mark_stopped
from ui.mapper import (ERROR_TITLE, NO_ANSWER_TITLE, REPLAY_STOPPED_TEXT, SOURCES_TITLE, STATS_TITLE,
                       STOPPED_TITLE, THINKING_TITLE, AnswerView, events_to_messages)

DATA = Path(__file__).resolve().parents[1] / "data"
WIKI = SourceRef(id=1, title="Eiffel Tower - Wikipedia", url="https://en.wikipedia.org/wiki/Eiffel_Tower")
EVIL = SourceRef(id=2, title="<img src=x onerror=alert(1)>", url="https://evil.example/a")
JS = SourceRef(id=3, title="[x](javascript:alert(1))", url="javascript:alert(1)")


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def titles(messages: list[gr.ChatMessage]) -> list[str]:
    return [m.metadata.get("title", "<answer>") for m in messages]


def two_search_run() -> list:
    return [
        Thinking(text="Let me "), Thinking(text="search."),
        SearchStart(query="eiffel height", round=1, max_searches=5),
        SearchDone(query="eiffel height", provider="fixture", latency_s=0.42, results=(WIKI,)),
        Thinking(text="Second look."),
        SearchStart(query="eiffel <b>bold</b>", round=2, max_searches=5),
        SearchDone(query="eiffel <b>bold</b>", provider="fixture", latency_s=0.1, results=(EVIL,)),
        Thinking(text="Done thinking."),
        Answer(text="\n\nIt is 330 m [1]"), Answer(text=" and [2]."),
        Done(answer="It is 330 m [1] and [2].", sources=(WIKI, EVIL), cited=(1, 2), searches=2,
             stats=RunStats(ttft_s=0.5, thinking_tokens=40, thinking_tok_s=20.0, answer_tokens=9,
                            answer_tok_s=30.0, search_latencies_s=(0.42, 0.1), total_s=3.2)),
    ]


# -- the mapper ---------------------------------------------------------------


def test_panels_in_order_with_titles() -> None:
    messages = events_to_messages(two_search_run(), max_searches=5)
    assert titles(messages) == [
        "Thought", "Searched: eiffel height · 1 result", "Thought",
        "Searched: eiffel &lt;b&gt;bold&lt;/b&gt; · 1 result", "Thought", "<answer>",
        f"{SOURCES_TITLE} (2)", STATS_TITLE,
    ]
    assert all(m.role == "assistant" for m in messages)
    assert all(m.metadata.get("status") == "done" for m in messages if m.metadata.get("title") in
               ("Thought", STATS_TITLE))
    assert "status" not in messages[6].metadata  # Sources: open; Stats: collapsed (done)


def test_thinking_pending_then_done_with_duration() -> None:
    clock = Clock()
    view = AnswerView(max_searches=5, clock=clock)
    view.feed(Thinking(text="Hmm"))
    [panel] = view.messages()
    assert panel.metadata["status"] == "pending" and "duration" not in panel.metadata
    clock.t += 2.5
    view.feed(SearchStart(query="q", round=1, max_searches=5))
    thinking, search = view.messages()
    assert [panel.metadata["title"], thinking.metadata] == [
        THINKING_TITLE, {"title": "Thought for 2.5 s", "status": "done"}]
    assert search.metadata == {"title": "Searching: q…", "status": "pending"} and search.content == "Searching…"
    assert view.meter().startswith("searches 1/5")


def test_missing_think_close_still_ends_as_done() -> None:
    # The model never wrote </think>: the engine promotes the reasoning to the answer.
    events = [Thinking(text="330 m, from memory."), Answer(text="330 m, from memory."),
              Done(answer="330 m, from memory.")]
    view = AnswerView(max_searches=5)
    view.feed(events[0])
    assert view.messages()[0].metadata["status"] == "pending"
    view.feed_all(events[1:])
    messages = view.messages()
    assert messages[0].metadata["status"] == "done"
    assert messages[1].content == "330 m, from memory."


def test_thinking_closed_by_done_without_answer() -> None:
    messages = events_to_messages([Thinking(text="only thoughts"), Done(answer="")], max_searches=5)
    assert messages[0].metadata["status"] == "done"
    assert titles(messages) == ["Thought", NO_ANSWER_TITLE, STATS_TITLE]


def test_search_panel_results_are_links_and_errors_stay_inside() -> None:
    secret = "tvly-CANARY-0123456789"
    events = [
        SearchStart(query="a", round=1, max_searches=2),
        SearchDone(query="a", provider="tavily", latency_s=0.61, results=(WIKI, EVIL, JS)),
        SearchStart(query="b", round=2, max_searches=2),
        SearchDone(query="b", provider="tavily", latency_s=1.0, error=f"HTTP 401 for key {secret}"),
        Done(answer="", searches=2),
    ]
    messages = AnswerView(max_searches=2, secrets=[secret]).feed_all(events).messages()
    ok, failed = messages[0], messages[1]
    assert ok.metadata == {"title": "Searched: a · 3 results", "status": "done", "duration": 0.61}
    assert ok.content.startswith("*via Tavily*")
    assert "[Eiffel Tower \\- Wikipedia](https://en.wikipedia.org/wiki/Eiffel_Tower)" in ok.content
    assert "<img" not in ok.content and "&lt;img" in ok.content
    assert "javascript:" not in ok.content.replace("javascript:alert", "")  # only as escaped text
    assert "](javascript" not in ok.content
    assert failed.metadata["title"] == '<span class="warn">⚠ Search failed</span>: b'  # warning colour
    assert "HTTP 401" in failed.content and secret not in failed.content and "redacted" in failed.content
    assert not any(m.metadata.get("title") == ERROR_TITLE for m in messages)  # the answer goes on


def test_answer_citations_linked_and_unknown_marked() -> None:
    messages = events_to_messages(two_search_run()[:-1] + [Answer(text=" See [7].")], max_searches=5)
    answer = messages[-1].content
    # The number shows; hidden text gives screen readers the source (the sanitiser drops aria-label).
    assert ('<a class="cite" href="https://en.wikipedia.org/wiki/Eiffel&#95;Tower" '
            'title="1. Eiffel Tower &#45; Wikipedia · en.wikipedia.org"><span class="sr-only">Source </span>1'
            '<span class="sr-only">: Eiffel Tower &#45; Wikipedia, en.wikipedia.org</span></a>') in answer
    assert ('title="2. &lt;img src=x onerror=alert&#40;1&#41;&gt; · evil.example"><span class="sr-only">Source '
            '</span>2<span class="sr-only">: &lt;img src=x onerror=alert&#40;1&#41;&gt;, evil.example</span></a>') \
        in answer
    assert ('<span class="cite cite-missing" title="No source 7 in this answer"><span class="sr-only">Citation '
            '</span>7?<span class="sr-only">: no such source</span></span>') in answer
    assert "~" not in answer


def test_sources_panel_and_cards_number_in_order_of_first_citation_with_domain() -> None:
    # The model cites its source 2 first: people see it as 1, everywhere in the message.
    done = Done(answer="[2] then [1]", sources=(WIKI, EVIL), cited=(2, 1))
    messages = AnswerView(max_searches=5).feed_all([Answer(text="[2] then [1]"), done]).messages()
    sources = next(m for m in messages if m.metadata.get("title", "").startswith(SOURCES_TITLE))
    lines = sources.content.splitlines()
    assert lines[0].startswith("1\\. [&lt;img") and "*evil\\.example*" in lines[0]
    assert lines[1].startswith("2\\. [Eiffel") and "*en\\.wikipedia\\.org*" in lines[1]
    answer = messages[0].content
    chip = r'<a class="cite" href="([^"]+)" title="(\d)\. [^"]*"><span class="sr-only">Source </span>(\d)<'
    assert re.findall(chip, answer) == [
        ("https://evil.example/a", "1", "1"), ("https://en.wikipedia.org/wiki/Eiffel&#95;Tower", "2", "2")]
    cards = answer[answer.index('<div class="ds-extra source-cards">'):]
    assert re.findall(r'<span class="n">(\d+)</span>[^\n]*?<span class="t">([^<]*)</span>', cards) == [
        ("1", "&lt;img src=x onerror=alert&#40;1&#41;&gt;"), ("2", "Eiffel Tower &#45; Wikipedia")]
    assert "<img" not in cards
    assert ('<span class="sr-only">Source </span><span class="n">2</span><span class="sr-only">: </span>'
            '<span class="t">Eiffel Tower &#45; Wikipedia</span><span class="sr-only">, </span>'
            '<span class="d">en.wikipedia.org</span>') in cards  # read as "Source 2: title, domain"
    assert "<img" not in answer and "favicon" not in answer  # nothing fetched from elsewhere
    assert memory_of(("q", [Answer(text="[2] then [1]"), done])) == [
        ("user", "q"), ("assistant", "(evil.example) then (en.wikipedia.org)")]


@pytest.mark.parametrize("end,note,meter", [
    ("token_limit", "Cut off at the token limit", "cut off at the token limit"),
    ("context_full", "context is full", "cut off: context full"),
])
def test_a_cut_off_answer_says_so_under_it(end, note, meter) -> None:
    events = [Answer(text="Half an ans"), Done(answer="Half an ans", end=end)]
    view = AnswerView(max_searches=5).feed_all(events)
    answer = view.messages()[0].content
    assert answer.startswith("Half an ans") and note in answer.split("Half an ans")[1]
    assert view.meter() == f"searches 0/5 · {meter}"
    assert memory_of(("q", events)) == [
        ("user", "q"), ("assistant", "Half an ans")]  # the note never reaches the model


def test_the_engines_typed_end_wins_when_it_has_one() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True, kw_only=True)
    class EndedDone(Done):
        end: str = "rounds_exhausted"

    view = AnswerView(max_searches=5).feed_all([Thinking(text="x"), EndedDone(answer="")])
    assert view.meter() == "searches 0/5 · round limit reached"
    assert "round limit" in next(m for m in view.messages() if m.metadata.get("title") == NO_ANSWER_TITLE).content


def test_stats_panel_collapsed_with_numbers() -> None:
    stats = events_to_messages(two_search_run(), max_searches=5)[-1]
    assert stats.metadata == {"title": STATS_TITLE, "status": "done"}
    for text in ("time to first token | 0.50 s", "20.0 tok/s", "searches used | 2 · 0.42 s, 0.10 s",
                 "total time | 3.2 s"):
        assert text in stats.content


def test_stats_panel_lists_tool_calls_that_were_not_run() -> None:
    done = Done(answer="a", searches=1, stats=RunStats(budget_exhausted=True, refused_calls=(
        RefusedCall(reason="budget", query="one more | <b>x</b>"),
        RefusedCall(reason="malformed", detail="the arguments are not valid JSON"))))
    stats = events_to_messages([Answer(text="a"), done], max_searches=1)[-1]
    row = next(line for line in stats.content.splitlines() if line.startswith("| tool calls not run"))
    assert row.count(" | ") == 1  # the query's pipe does not split the table cell
    assert "2 · over the search budget: one more \\| &lt;b&gt;x&lt;/b&gt;" in row
    assert "malformed: the arguments are not valid JSON" in row
    assert "notes | search budget used up" in stats.content


@pytest.mark.parametrize("end,why", [
    ("token_limit", "token limit"),
    ("context_full", "context is full"),
    ("rounds_exhausted", "round limit"),
    ("no_answer", "ended without writing an answer"),
])
def test_a_run_without_an_answer_says_so_and_why(end, why) -> None:
    events = [Thinking(text="hmm"), Done(answer="", end=end)]
    messages = events_to_messages(events, max_searches=5)
    panel = next(m for m in messages if m.metadata.get("title") == NO_ANSWER_TITLE)
    assert why in panel.content
    later = ("q2", [Answer(text="a2"), Done(answer="a2")])
    history = memory_of(("q", events), later)
    assert history == [("user", "q2"), ("assistant", "a2")]  # the note never reaches the model


def test_answered_or_stopped_runs_have_no_no_answer_panel() -> None:
    answered = events_to_messages([Answer(text="Yes."), Done(answer="Yes.")], max_searches=5)
    stopped = events_to_messages([Thinking(text="x"), Done(answer="", stopped=True)], max_searches=5)
    assert NO_ANSWER_TITLE not in titles(answered) and NO_ANSWER_TITLE not in titles(stopped)


def test_stopped_keeps_partial_answer_and_marks_it() -> None:
    events = [Thinking(text="x"), Answer(text="Partial ans"),
              Done(answer="Partial ans", stopped=True)]
    view = AnswerView(max_searches=5).feed_all(events)
    messages = view.messages()
    assert messages[1].content == "Partial ans"
    assert STOPPED_TITLE in titles(messages)
    assert view.meter() == "searches 0/5 · stopped"


def test_mark_stopped_from_ui_closes_pending_panels() -> None:
    view = AnswerView(max_searches=5)
    view.feed_all([Thinking(text="x"), SearchStart(query="q", round=1, max_searches=5)])
    view.mark_stopped()
    messages = view.messages()
    assert all(m.metadata.get("status") != "pending" for m in messages)
    assert messages[1].content == "Search cancelled." and messages[-1].metadata["title"] == STOPPED_TITLE


def test_error_event_is_a_clean_panel() -> None:
    messages = events_to_messages([Thinking(text="x"), Error(message="model <b>down</b>: retry")],
                                  max_searches=5)
    error = messages[-1]
    assert error.metadata == {"title": ERROR_TITLE}
    assert "&lt;b&gt;" in error.content and "<b>" not in error.content
    assert messages[0].metadata["status"] == "done"


def test_a_replay_stopped_says_the_recording_was_stopped() -> None:
    view = AnswerView(max_searches=5, stopped_text=REPLAY_STOPPED_TEXT)
    view.feed_all([Thinking(text="x"), Done(answer="", stopped=True)])
    assert view.messages()[-2].content == "This recording was stopped; what is above is partial."


def test_label_once_per_answer_and_meter() -> None:
    view = AnswerView(max_searches=3, label="Demo: scripted model output")
    view.feed(Thinking(text="x"))
    assert view.messages()[0].metadata["log"] == "Demo: scripted model output"
    view.feed_all([SearchStart(query="q", round=1, max_searches=3), Thinking(text="y")])
    assert [m.metadata.get("log") for m in view.messages()] == ["Demo: scripted model output", None, None]
    assert view.meter() == "searches 1/3 · thinking…"
    view.feed(Answer(text="y"))
    assert view.meter() == "searches 1/3 · writing the answer…"


def test_incremental_rendering_reuses_unchanged_messages_and_is_cheap(monkeypatch) -> None:
    view = AnswerView(max_searches=5)
    view.feed_all(two_search_run()[:8])
    first = view.messages()
    view.feed(Answer(text="more"))
    second = view.messages()
    assert all(a is b for a, b in zip(first[:4], second[:4]))  # finished panels are not rebuilt
    assert second[-1] is not first[-1]
    # Cost is counted as characters handed to the renderer, not seconds: re-rendering the whole
    # answer on every update would hand it ~200x the answer's length here.
    rendered: list[int] = []
    real = mapper.neutralise
    monkeypatch.setattr(mapper, "neutralise", lambda text: (rendered.append(len(text)), real(text))[1])
    big = AnswerView(max_searches=5)
    for i in range(20000):
        big.feed(Answer(text="tok\n" if i % 12 == 11 else "tok "))
        if i % 50 == 0:  # the controller renders at most ~20 times a second
            big.messages()
    content = big.messages()[-1].content
    assert content.count("tok") == 20000
    assert sum(rendered) < 2 * len(content)


def test_empty_thinking_is_not_rendered() -> None:
    messages = events_to_messages([Thinking(text="\n\n"), Answer(text="hi"), Done(answer="hi")],
                                  max_searches=5)
    assert titles(messages) == ["<answer>", STATS_TITLE]


def test_done_without_start_event() -> None:
    messages = events_to_messages([SearchDone(query="q", provider="p", latency_s=0.0)], max_searches=5)
    assert messages[0].metadata["title"] == "Searched: q · no results"


def test_real_engine_run_maps_cleanly() -> None:
    settings = Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                        search_fixture=str(DATA / "ui.search.json"), provider="fixture",
                        tavily_api_key="tvly-CANARY-0123456789")
    backend = ScriptedBackend(rounds=load_script(settings.model_script), settings=settings)
    session = ChatSession(settings=settings, backend=backend)
    events = list(session.ask("How tall is the Eiffel Tower?", cancel=threading.Event()))
    view = AnswerView(max_searches=settings.max_searches, secrets=[settings.tavily_api_key])
    messages = view.feed_all(events).messages()
    rendered = "\n".join(str(m.content) + str(m.metadata) for m in messages)
    assert "tvly-CANARY" not in rendered
    assert "<img" not in rendered.replace("<img src=x onerror=\"window.__xss=1\">", "")
    assert "](javascript" not in rendered.replace("[a trap](javascript:window.__xss=2)", "")
    assert [t for t in titles(messages) if "Search" in t] == [
        "Searched: eiffel tower height · 1 result",
        "Searched: hostile titles &lt;img src=x onerror=alert\\(4\\)&gt; · 2 results",
        '<span class="warn">⚠ Search failed</span>: broken provider',
    ]
    assert "`code [1] stays`" in messages[titles(messages).index("<answer>")].content


# -- citations ----------------------------------------------------------------


@pytest.mark.parametrize("url,ok", [
    ("https://example.com/a b(c)", True), ("http://x.org", True), ("javascript:alert(1)", False),
    ("JAVASCRIPT:alert(1)", False), ("data:text/html,<script>", False), ("//evil.example", False),
    ("https://", False), ("https://ok.example/\nnext", False), ("vbscript:x", False),
])
def test_safe_url(url: str, ok: bool) -> None:
    result = safe_url(url)
    assert (result is not None) == ok
    if result:
        assert not re.search(r"[\s()<>\"']", result)


def test_escape_text_renders_as_text() -> None:
    text = escape_text("<img src=x onerror=alert(1)> [a](javascript:x) $$x$$ *b* `c`\nline")
    assert "<" not in text and "\n" not in text
    assert "\\[a\\]\\(javascript:x\\)" in text and "\\$\\$x\\$\\$" in text and "\\*b\\*" in text
    assert escape_text("x" * 500, limit=10) == "x" * 9 + "…"


def test_link_citations_shapes() -> None:
    sources = {1: WIKI, 2: EVIL, 3: JS}
    numbers = {1: 1, 2: 2}  # source 3 has no number: its javascript: URL is no link
    out = link_citations("A [1], B [1, 2], C [3], D [4][5], E [x], `[1]`, F [1](http://elsewhere)", sources, numbers,
                         scope="a1")
    hidden = r'<span class="sr-only">[^<]*</span>'
    chips = re.findall(rf'<(?:a|span) class="cite[^"]*"[^>]*>{hidden}(\d+\??){hidden}</(?:a|span)>', out)
    assert chips == ["1", "1", "2", "3?", "4?", "5?", "1"]  # [1](url) counts as citing 1, as done.cited does
    assert "javascript" not in out  # a javascript: source never becomes a link
    assert "http://elsewhere" not in out  # the chip links to source 1, not where the model pointed
    assert "E [x]" in out and "`[1]`" in out and "~" not in out
    assert link_citations("```\n[1]\n", sources, numbers, scope="a1") == "```\n[1]\n"  # still-open code fence
    assert link_citations("~~~\n[1]\n~~~", sources, numbers, scope="a1") == "~~~\n[1]\n~~~"
    # Titles are attribute text: nothing in them is Markdown, HTML or a table cell's end.
    odd = SourceRef(id=1, title='a|b "q" <i> $$x$$ *y*', url="https://o.example/")
    odd_chip = link_citations("[1]", {1: odd}, {1: 1}, scope="a1")
    assert 'title="1. a&#124;b &quot;q&quot; &lt;i&gt; &#36;&#36;x&#36;&#36; &#42;y&#42; · o.example"' in odd_chip
    assert '<span class="sr-only">: a&#124;b &quot;q&quot; &lt;i&gt; &#36;&#36;x&#36;&#36; &#42;y&#42;, o.example' \
        in odd_chip  # the screen-reader text too


def test_neutralise_model_markdown() -> None:
    text = ('<img src=x onerror="x"> ![pixel](https://t.example/?q=secret) [t](javascript:a) '
            '[rel](/gradio_api/file=x) [ok](https://ok.org) `<b>` 3 < 4\n```\n<div>\n```')
    out = neutralise(text)
    assert out.startswith("&lt;img") and "![" not in out and "javascript" not in out
    assert " t " in out and " rel " in out and "[ok](https://ok.org)" in out
    assert "`<b>`" in out and "3 < 4" in out and "```\n<div>\n```" in out


def test_history_names_the_sources_domains_whatever_the_chips_look_like() -> None:
    from agent.records.conversation import citations_as_domains

    text = "A [1], B [1, 4], C [9]. Real link [site](https://x.org)."
    assert citations_as_domains(text, [WIKI]) == \
        "A (en.wikipedia.org), B (en.wikipedia.org), C. Real link [site](https://x.org)."
    done = Done(answer=text, sources=(WIKI,), cited=(1,))
    assert memory_of(("q", [Answer(text=text), done]))[1][1] == citations_as_domains(text, [WIKI])


# -- what the model remembers: built from the record, never from the chat's messages ----------


def test_memory_leaves_out_panels_stopped_and_unanswered_turns() -> None:
    one = [Thinking(text="thinking"), Answer(text="A1 [1]"), Done(answer="A1 [1]", sources=(WIKI,), cited=(1,))]
    two = [Answer(text="partial")]  # stopped before the engine's done
    three = [Answer(text="A3"), Done(answer="A3")]
    assert memory_of(("Q1", one), ("Q2", two, True), ("Q3", three), ("unanswered", [])) == [
        ("user", "Q1"), ("assistant", "A1 (en.wikipedia.org)"), ("user", "Q3"), ("assistant", "A3")]
    assert content_text([{"type": "text", "text": "a"}, "b", None]) == "a\nb"


def test_mark_stopped_history() -> None:
    history = [{"role": "user", "content": "Q"},
               {"role": "assistant", "content": "t", "metadata": {"title": THINKING_TITLE, "status": "pending"}}]
    out = mark_stopped(history)
    assert out[1]["metadata"] == {"title": "Thought", "status": "done"}
    assert out[-1]["metadata"]["title"] == STOPPED_TITLE
    assert mark_stopped(out) == out  # once only
    assert history[1]["metadata"]["status"] == "pending"  # input untouched


# -- demo-mode decision (ui/startup.py) -------------------------------------


def test_demo_mode_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.api import DEMO_LABEL
    from ui import startup

    monkeypatch.setattr(startup, "_cuda_available", lambda: False)
    assert "no CUDA GPU" in startup.local_model_problem(Settings())
    assert startup.local_model_problem(Settings(model="/models/tiny")) is None  # a model you chose
    assert startup.local_model_problem(Settings(backend="openai", base_url="http://x")) is None
    runtime = startup.make_runtime(Settings())
    assert runtime.label == DEMO_LABEL and "unavailable" in runtime.banner
    assert runtime.settings.backend == "scripted" and runtime.settings.provider == "fixture"
    explicit = startup.make_runtime(Settings(backend="scripted", model_script=str(DATA / "ui.script.json")))
    assert explicit.label is None and explicit.banner is None  # explicit scripted is not demo mode
    monkeypatch.setattr(startup, "_cuda_available", lambda: True)
    assert startup.local_model_problem(Settings(model=DEFAULT_MODEL)) is None


def test_no_gpu_is_known_without_importing_torch_when_the_build_or_the_environment_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing torch to ask costs seconds of every start-up: a "+cpu" build of torch, or
    CUDA_VISIBLE_DEVICES "" or "-1", already says there is no GPU; anything else asks torch."""
    import importlib.metadata
    import sys

    from ui import startup

    class AskedTorch(Exception):
        pass

    class Torch:  # stands in for the torch module: asking it is what the fast answers avoid
        class cuda:
            @staticmethod
            def is_available() -> bool:
                raise AskedTorch

    monkeypatch.setitem(sys.modules, "torch", Torch)
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "2.13.0+cpu")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert startup._cuda_available() is False
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "2.13.0")
    for hidden in ("", "-1", " -1 "):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
        assert startup._cuda_available() is False, hidden
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with pytest.raises(AskedTorch):
        startup._cuda_available()

    def no_metadata(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", no_metadata)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    with pytest.raises(AskedTorch):
        startup._cuda_available()


def test_incremental_rendering_equals_rendering_the_whole_answer_at_once():
    """Streaming renders only the tail after the last paragraph; the result must not differ."""
    import random

    from agent.text.citations import display_numbering
    from ui.citations import link_citations, neutralise
    from ui.mapper import AnswerView

    sources = (SourceRef(id=1, title="One", url="https://one.example/a"),
               SourceRef(id=2, title="Two", url="https://two.example/b"))
    text = ("\n  \nIntro [2] with <b>html</b>.\n\n```python\nx = [1]\n\n\ny = '<script>'\n```\n\n"
            "Second [2, 3] and ![img](https://t.example/p.png) [a](javascript:alert(1)).\n\n"
            "`[1]` in code, then [1][2].\nA list [1,\n2] across lines.\n\n~~~\n<i>t</i> [1]\n\n~~~\n\n"
            "Last paragraph [9].")
    rng = random.Random(7)
    for _ in range(20):
        view = AnswerView(max_searches=5)
        view.feed(SearchStart(query="q", round=1, max_searches=5))
        view.feed(SearchDone(query="q", provider="p", latency_s=0.1, results=sources))
        pos = 0
        while pos < len(text):
            step = rng.randint(1, 9)
            view.feed(Answer(text=text[pos:pos + step]))
            pos += step
            view.messages()  # render after every delta, as streaming does
        got = next(m.content for m in view.messages() if not (m.metadata or {}).get("title"))
        # Numbered as it streamed (source 2 first): the same numbers as the whole answer's.
        numbers = display_numbering(text, (1, 2), uncited=False)
        assert numbers == {2: 1, 1: 2}
        assert got == link_citations(neutralise(text), {s.id: s for s in sources}, numbers, scope="a1").strip()


def test_answer_text_written_before_a_search_is_a_draft_not_the_answer() -> None:
    """Issue 11.18 in the chat: only what came after the last search is the answer (and the history)."""
    events = [Thinking(text="hm"), Answer(text="Draft: 5 m [1]."),
              SearchStart(query="q", round=1, max_searches=5),
              SearchDone(query="q", provider="fixture", latency_s=0.1, results=(WIKI,)),
              Thinking(text="ok"), Answer(text="It is 330 m [1]."),
              Done(answer="It is 330 m [1].", sources=(WIKI,), cited=(1,), searches=1)]
    messages = events_to_messages(events, max_searches=5)
    draft = next(m for m in messages if m.metadata.get("title") == mapper.DRAFT_TITLE)
    assert "Draft" in draft.content
    answers = [m for m in messages if not m.metadata]
    assert len(answers) == 1 and answers[0].content.startswith("It is 330 m")
    history = memory_of(("q", events))
    assert history == [("user", "q"), ("assistant", "It is 330 m (en.wikipedia.org).")]


def _document_answer(text: str, passage: str, *, scope: str | None = None) -> tuple[AnswerView, list[str]]:
    """A view fed one document search and ``text`` streamed in two halves; the chat's HTML of
    every frame after each half and after ``done``."""
    doc = SourceRef(id=1, title="Notes", url="", kind="document", file="notes.md", text=passage)
    view = AnswerView(max_searches=5, scope=scope)
    view.feed(SearchStart(query="q", round=1, max_searches=5))
    view.feed(SearchDone(query="q", provider="local", latency_s=0.1, results=(doc,)))
    frames = []
    for half in (text[:len(text) // 2], text[len(text) // 2:]):
        view.feed(Answer(text=half))
        frames.append("\n".join(str(m.content) for m in view.messages()))
    view.feed(Done(answer=text, sources=(doc,), cited=(1,)))
    frames.append("\n".join(str(m.content) for m in view.messages()))
    return view, frames


def test_each_answer_names_its_own_passage_anchors_in_every_frame() -> None:
    """Both answers cite their own source [1]; each chip, card and passage id is the answer's
    own, and stays the same from the first frame to the last."""
    _, first_frames = _document_answer("Lisbon grew [1].", "Lisbon grew revenue.")
    _, second_frames = _document_answer("Porto cut costs [1].", "Porto cut costs.")
    anchors = []
    for frames, passage in ((first_frames, "Lisbon grew revenue."), (second_frames, "Porto cut costs.")):
        final = frames[-1]
        (anchor,) = set(re.findall(r'<details class="passage" id="([^"]+)">', final))
        assert passage in final.split(f'id="{anchor}"')[1]
        links = html.unescape("\n".join(frames))  # attributes spell Markdown characters as entities
        hrefs = set(re.findall(r'<a class="(?:cite|source-card)" href="#([^"]+)"', links))
        assert hrefs == {anchor}  # every chip and card of every frame leads to this answer's passage
        anchors.append(anchor)
    assert anchors[0] != anchors[1] and all(a.startswith("passage-") for a in anchors)


def test_an_answer_scope_is_checked_and_kept() -> None:
    view, frames = _document_answer("Lisbon grew [1].", "Lisbon grew revenue.", scope="q7")
    assert 'id="passage-q7-1"' in frames[-1] and 'href="#passage-q7-1"' in html.unescape(frames[-1])
    for bad in ("", "1a", 'a" onclick="x', "a b", "a" * 41):
        with pytest.raises(ValueError, match="anchor scope"):
            _document_answer("Lisbon grew [1].", "Lisbon grew revenue.", scope=bad or "a\n")


FENCED = ("Before <b>bold</b> [1].\n\n~~~html\n<script>alert(1)</script> [1]\n\n<b>x</b> `[1]`\n~~~\n\n"
          "After <i>it</i> [1] and `<u>[1]</u>`.\n\n```\n<s>[1]</s>\n```")


@pytest.mark.parametrize("step", [1, 3, len(FENCED)])
def test_a_tilde_fence_is_code_to_the_escaping_and_the_citations_alike(step: int) -> None:
    """Inside ``~~~`` (as inside ```) tag-like text and [1] stay as written, for the chat's
    renderer to show as code; outside they are escaped and linked as before, however the
    answer arrived (token by token, or at once)."""
    view = AnswerView(max_searches=5)
    view.feed(SearchStart(query="q", round=1, max_searches=5))
    view.feed(SearchDone(query="q", provider="p", latency_s=0.1, results=(WIKI,)))
    for pos in range(0, len(FENCED), step):
        view.feed(Answer(text=FENCED[pos:pos + step]))
        view.messages()
    view.feed(Done(answer=FENCED, sources=(WIKI,), cited=(1,)))
    answer = next(m.content for m in view.messages() if not (m.metadata or {}).get("title"))
    assert "~~~html\n<script>alert(1)</script> [1]\n\n<b>x</b> `[1]`\n~~~" in answer
    assert "`<u>[1]</u>`" in answer and "```\n<s>[1]</s>\n```" in answer
    assert answer.startswith("Before &lt;b>bold&lt;/b> <a class=\"cite\"")
    assert "After &lt;i>it&lt;/i> <a class=\"cite\"" in answer
    assert answer.count('<a class="cite"') == 2
