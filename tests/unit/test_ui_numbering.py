"""The chat's numbers: chips, cards, Sources and the Search panels' lists agree, numbered in order
of first citation; while an answer streams a number on screen never changes."""

from __future__ import annotations

import json
import re

import gradio as gr

from agent.events import Answer, Done, SearchDone, SearchStart, SourceRef, Thinking, to_dict
from agent.records.trace import read_trace
from agent.records.conversation import Conversation
from tests.engine_helpers import memory_of, recorded
from ui.conversation_export import ConversationExport
from ui.mapper import DRAFT_TITLE, SOURCES_TITLE, AnswerView

A = SourceRef(id=1, title="Alpha", url="https://a.example/x")
B = SourceRef(id=2, title="Beta", url="https://b.example/y")
C = SourceRef(id=3, title="Gamma", url="https://c.example/z")
D = SourceRef(id=4, title="Delta", url="https://d.example/w")
HIDDEN = r'<span class="sr-only">[^<]*</span>'  # a chip's text for screen readers
MISSING = '?<span class="sr-only">: no such source</span></span>'  # the end of an invalid mark
CHIP = re.compile(rf'<a class="cite" href="([^"]+)" title="(\d+)\. ([^"·]*) · [^"]*">{HIDDEN}(\d+){HIDDEN}</a>')


def searched(*results: SourceRef, query: str = "q", round: int = 1) -> list:
    return [SearchStart(query=query, round=round, max_searches=3),
            SearchDone(query=query, provider="fixture", latency_s=0.1, results=results)]


def answer_of(messages: list[gr.ChatMessage]) -> str:
    return next(m.content for m in messages if not m.metadata)


def panel(messages: list[gr.ChatMessage], title: str) -> str:
    return next(m.content for m in messages if str(m.metadata.get("title", "")).startswith(title))


def chips(text: str) -> list[tuple[str, str]]:
    """(number shown, the title it names) of each chip."""
    return [(shown, name) for _, number, name, shown in CHIP.findall(text) if number == shown]


def numbered_lines(text: str) -> list[tuple[str, str]]:
    return re.findall(r"^(\d+|·)\\?\.? ?\[(\w+)\]", text, re.M)


def test_chips_cards_sources_and_search_lists_agree() -> None:
    text = "Gamma [3] first, then Alpha [1], Gamma again [3]."
    view = AnswerView(max_searches=3).feed_all([
        *searched(A, B, C), Answer(text=text), Done(answer=text, sources=(A, B, C), cited=(3, 1), searches=1)])
    messages = view.messages()
    answer = answer_of(messages)
    assert chips(answer) == [("1", "Gamma"), ("2", "Alpha"), ("1", "Gamma")]
    cards = re.findall(rf'<span class="n">(\d+)</span>{HIDDEN}<span class="t">(\w+)</span>', answer)
    assert cards == [("1", "Gamma"), ("2", "Alpha")]
    assert numbered_lines(panel(messages, SOURCES_TITLE)) == [("1", "Gamma"), ("2", "Alpha")]
    # The search's results in its own order, each with the number its chip shows; Beta, never
    # cited, comes after the cited ones.
    assert numbered_lines(panel(messages, "Searched")) == [("2", "Alpha"), ("3", "Beta"), ("1", "Gamma")]


def test_while_streaming_a_number_on_screen_never_changes() -> None:
    view = AnswerView(max_searches=3).feed_all(searched(A, B, C))
    assert numbered_lines(panel(view.messages(), "Searched")) == [("·", "Alpha"), ("·", "Beta"), ("·", "Gamma")]
    seen: dict[str, str] = {}
    for delta in ["Gamma [", "3] and ", "Beta [2", ", 3]. And ", "Alpha [1](https://x.example)", "."]:
        view.feed(Answer(text=delta))
        messages = view.messages()
        for shown, name in chips(answer_of(messages)):
            assert seen.setdefault(name, shown) == shown, f"{name} was {seen[name]}, now {shown}"
        # The Search panel's list shows the numbers the chips show, in the same frame.
        lines = dict((name, shown) for shown, name in numbered_lines(panel(messages, "Searched")))
        assert {name: lines[name] for name in seen} == seen
    assert seen == {"Gamma": "1", "Beta": "2", "Alpha": "3"}
    assert numbered_lines(panel(view.messages(), "Searched")) == [("3", "Alpha"), ("2", "Beta"), ("1", "Gamma")]


def test_text_written_before_a_later_search_cites_only_what_was_found_before_it() -> None:
    final = "Delta [4] and Alpha [1]."
    events = [*searched(A, B), Answer(text="Draft: Beta [2], Delta [4]."), *searched(C, D, query="r", round=2),
              Answer(text=final), Done(answer=final, sources=(A, B, C, D), cited=(4, 1), searches=2)]
    view = AnswerView(max_searches=3)
    for event in events[:-1]:
        view.feed(event)
        before_done = view.messages()
    # Live: Beta was cited first; Delta did not exist when the draft was written.
    streamed = [m.content for m in before_done if not m.metadata]
    assert chips(streamed[0]) == [("1", "Beta")] and f'4{MISSING}' in streamed[0]
    assert chips(streamed[1]) == [("2", "Delta"), ("3", "Alpha")]
    view.feed(events[-1])
    messages = view.messages()
    # Done: the final numbering for the whole message (Delta 1, Alpha 2, then Beta 3, Gamma 4).
    assert chips(answer_of(messages)) == [("1", "Delta"), ("2", "Alpha")]
    draft = panel(messages, DRAFT_TITLE)
    assert chips(draft) == [("3", "Beta")] and f'4{MISSING}' in draft


def test_a_stopped_answer_keeps_its_numbers_and_one_stopped_by_the_engine_gets_final_ones() -> None:
    partial = "Gamma [3] and Al"
    view = AnswerView(max_searches=3).feed_all([*searched(A, B, C), Answer(text=partial)])
    view.mark_stopped()  # Stop pressed; the engine's done has not come (yet)
    assert chips(answer_of(view.messages())) == [("1", "Gamma")]
    view.feed(Done(answer=partial, sources=(A, B, C), cited=(3,), stopped=True, searches=1))
    messages = view.messages()
    assert chips(answer_of(messages)) == [("1", "Gamma")]
    assert numbered_lines(panel(messages, SOURCES_TITLE)) == [("1", "Gamma")]


def test_an_answer_citing_nothing_has_no_cards_and_numbered_search_lists() -> None:
    text = "No citations at all; a made-up [9] though."
    messages = AnswerView(max_searches=3).feed_all([
        *searched(A, B), Answer(text=text), Done(answer=text, sources=(A, B), cited=(), searches=1)]).messages()
    answer = answer_of(messages)
    assert chips(answer) == [] and "source-card" not in answer and f'9{MISSING}' in answer
    assert not any(str(m.metadata.get("title", "")).startswith(SOURCES_TITLE) for m in messages)
    assert numbered_lines(panel(messages, "Searched")) == [("1", "Alpha"), ("2", "Beta")]


def test_groups_and_an_invalid_number_in_a_group() -> None:
    text = "All of them [3, 9, 1]."
    answer = answer_of(AnswerView(max_searches=3).feed_all([
        *searched(A, B, C), Answer(text=text), Done(answer=text, sources=(A, B, C), cited=(3, 1))]).messages())
    assert chips(answer) == [("1", "Gamma"), ("2", "Alpha")]
    assert re.findall(rf'class="cite[^"]*"[^>]*>{HIDDEN}(\d+\??)<', answer) == ["1", "9?", "2"]


def test_an_old_trace_with_sources_four_to_six_never_links_the_models_one() -> None:
    """A follow-up in a trace from when numbering ran across the conversation."""
    e, f = SourceRef(id=5, title="Epsilon", url="https://e.example/"), SourceRef(id=6, title="Zeta",
                                                                                 url="https://f.example/")
    text = "Zeta [6], and an old number [1]."
    answer = answer_of(AnswerView(max_searches=3).feed_all([
        *searched(D, e, f), Answer(text=text), Done(answer=text, sources=(D, e, f), cited=(6,))]).messages())
    assert chips(answer) == [("1", "Zeta")] and f'1{MISSING}' in answer


def test_thinking_shows_the_models_own_numbers() -> None:
    messages = AnswerView(max_searches=3).feed_all([
        *searched(A, B, C), Thinking(text="Result [3] is best."), Answer(text="Gamma [3]."),
        Done(answer="Gamma [3].", sources=(A, B, C), cited=(3,))]).messages()
    thinking = next(m.content for m in messages if str(m.metadata.get("title", "")).startswith("Thought"))
    assert thinking == "Result [3] is best." and chips(answer_of(messages)) == [("1", "Gamma")]


def test_history_sent_back_names_domains_not_numbers() -> None:
    text = "Gamma [3], Alpha [1]."
    events = [*searched(A, B, C), Answer(text=text), Done(answer=text, sources=(A, B, C), cited=(3, 1))]
    AnswerView(max_searches=3).feed_all(events).messages()
    assert memory_of(("q", events)) == [
        ("user", "q"), ("assistant", "Gamma (c.example), Alpha (a.example).")]


def test_the_downloaded_conversation_numbers_each_answer_from_one(tmp_path) -> None:
    conversation = ConversationExport(record=Conversation())
    for question, text, cited in (("Which?", "Gamma [3], Alpha [1].", (3, 1)),
                                  ("And?", "Beta [2] then Gamma [3].", (2, 3))):
        recorded(conversation.record, question, [*searched(A, B, C), Answer(text=text),
                                                 Done(answer=text, sources=(A, B, C), cited=cited)])
    _, md_path = conversation.write(tmp_path)
    md = open(md_path, encoding="utf-8").read()
    first, second = md.split("# And?")
    assert "Gamma [\\[1\\]](https://c.example/z), Alpha [\\[2\\]](https://a.example/x)." in first
    assert "Beta [\\[1\\]](https://b.example/y) then Gamma [\\[2\\]](https://c.example/z)." in second


def test_a_replayed_version_1_trace_is_numbered_from_its_answer(tmp_path) -> None:
    """Recorded before ``display_numbers`` (and ``end``) existed: numbered from the answer and sources."""
    text = "Gamma [3], Alpha [1]."
    events = [*searched(A, B, C), Answer(text=text), Done(answer=text, sources=(A, B, C), cited=(3, 1))]
    meta = {"type": "meta", "version": 1, "question": "Which?", "model": "m", "backend": "scripted",
            "settings": {}, "started_at": "2025-01-01T00:00:00Z", "scripted": True}
    lines = [meta] + [{k: v for k, v in to_dict(e).items() if k not in ("display_numbers", "end")} | {"t": 0.1}
                      for e in events]
    path = tmp_path / "v1.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    _, timed = read_trace(path)
    messages = AnswerView(max_searches=3).feed_all(e for _, e in timed).messages()
    assert chips(answer_of(messages)) == [("1", "Gamma"), ("2", "Alpha")]
    assert numbered_lines(panel(messages, "Searched")) == [("2", "Alpha"), ("3", "Beta"), ("1", "Gamma")]
