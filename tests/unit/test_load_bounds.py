"""Bounds under load: update pacing with many live answers, per-session memory and disk,
and what a stalled or vanished client can hold (behaviour, never timings)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.backends.scripted import ScriptedBackend
from agent.config import Settings
from agent.events import Event, Thinking
from ui.pacing import StreamPacer
from ui.runtime import ModelLoader, Runtime
from ui.session import UISession


def runtime(**overrides) -> Runtime:
    settings = Settings(backend="scripted", **overrides)
    backend = ScriptedBackend(rounds=["Hi.</think>\n\nHello."], settings=settings)
    return Runtime(settings=settings, backend=backend, loader=ModelLoader(backend, label="test"))


def test_pacer_batches_longer_as_more_answers_stream_and_is_capped() -> None:
    pacer = StreamPacer(base_s=0.05, max_s=0.25, streams_per_step=4)
    seen = []
    with pacer.streaming():
        seen.append(pacer.interval())
        with pacer.streaming(), pacer.streaming(), pacer.streaming(), pacer.streaming():
            seen.append(pacer.interval())  # 5 live
            with pacer.streaming(), pacer.streaming(), pacer.streaming():
                seen.append(pacer.interval())  # 8 live
                holders = [pacer.streaming() for _ in range(40)]
                for h in holders:
                    h.__enter__()
                seen.append(pacer.interval())  # 48 live
                for h in holders:
                    h.__exit__(None, None, None)
    assert seen == [0.05, pytest.approx(0.0625), pytest.approx(0.1), 0.25]
    assert pacer.live == 0


def test_pacer_releases_a_stream_that_failed() -> None:
    pacer = StreamPacer()
    with pytest.raises(RuntimeError), pacer.streaming():
        raise RuntimeError("boom")
    assert pacer.live == 0


@pytest.mark.parametrize("kwargs", [dict(base_s=0.0), dict(base_s=0.5, max_s=0.1), dict(streams_per_step=0)])
def test_pacer_refuses_nonsense(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="got"):
        StreamPacer(**kwargs)


def _slow_events(stop: threading.Event):
    while not stop.is_set():
        yield Thinking(text="x")
        stop.wait(0.01)  # a model's pace, not a wait for anything


def test_a_streaming_answer_counts_as_live_until_its_handler_is_closed() -> None:
    rt = runtime()
    session = UISession(rt)
    cancel = threading.Event()
    stream = session.control.stream(_slow_events(cancel), cancel)
    next(stream)
    assert rt.pacer.live == 1
    stream.close()  # what Gradio does when the tab goes away or Stop cancels the event
    cancel.set()
    assert rt.pacer.live == 0


def test_many_live_answers_each_get_fewer_batches() -> None:
    rt = runtime()
    held = [rt.pacer.streaming() for _ in range(40)]  # 40 other answers streaming meanwhile
    for h in held:
        h.__enter__()
    try:
        session = UISession(rt)
        cancel = threading.Event()
        events: list[Event] = []
        batches = 0
        timer = threading.Timer(0.6, cancel.set)
        timer.start()
        for batch in session.control.stream(_slow_events(cancel), cancel):
            batches += 1
            events += batch
        timer.cancel()
    finally:
        for h in held:
            h.__exit__(None, None, None)
    # 0.6 s of events at the capped 0.25 s interval: a handful of batches, not one per 50 ms.
    assert len(events) > batches and batches <= 5


# -- per-session memory -----------------------------------------------------------

def _chat(**overrides):
    from agent.search import SearchChain
    from agent.session import ChatSession
    from tests.engine_helpers import FakeProvider, answer, call, result, settings

    s = settings(**overrides)
    backend = ScriptedBackend(rounds=[call("tower"), answer("It is tall [1].")], settings=s)
    table = {"tower": [result(1, content="x" * 1000), result(2, content="y" * 1000)]}
    return ChatSession(settings=s, backend=backend, search=SearchChain([FakeProvider(table)], backoff_s=0.0))


def test_history_keeps_only_the_last_turns() -> None:
    chat = _chat(max_history_turns=2)
    for i in range(5):
        list(chat.ask(f"Question {i}?"))
    assert [text for role, text in chat.history if role == "user"] == ["Question 3?", "Question 4?"]
    assert len(chat.history) == 4


def test_finished_answers_keep_source_numbers_but_not_their_text() -> None:
    chat = _chat()
    list(chat.ask("First?"))
    kept = chat.registry.all()
    assert [s.id for s in kept] == [1, 2] and all(s.content == "" for s in kept)
    assert kept[0].url == "https://example.com/1" and kept[0].title == "Title 1"
    # A follow-up that finds the same page again gets its number and, for the model, its text again.
    conversations = []
    chat.backend.start = _spy(chat.backend.start, conversations)
    events = list(chat.ask("Second?"))
    assert events[-1].sources[0].id == 1 and len(chat.registry.all()) == 2
    spliced = conversations[-1].transcript()
    assert "[1] Title 1" in spliced and "x" * 1000 in spliced


def _spy(start, box: list):
    def wrapped(*args, **kwargs):
        conv = start(*args, **kwargs)
        box.append(conv)
        return conv
    return wrapped


def test_max_history_turns_is_checked() -> None:
    from agent.config import SettingsError, settings_from_env

    assert settings_from_env({"DEEPSEARCH_MAX_HISTORY_TURNS": "3"}).max_history_turns == 3
    with pytest.raises(SettingsError, match="max_history_turns must be >= 1, got 0"):
        Settings(max_history_turns=0)


# -- per-session disk ---------------------------------------------------------------


# -- stalled and vanished clients ------------------------------------------------------


def test_download_buttons_are_rebuilt_only_to_show_or_hide_them() -> None:
    """Each show or hide costs Gradio a rebuilt component: streaming frames and a first answer's
    opening frame send plain ``None``; a later answer hides the earlier answer's buttons once."""
    import gradio as gr

    from ui.app_ui import Handlers

    rt = runtime()
    session = UISession(rt)

    def downloads(question: str) -> list[tuple]:
        return [frame[4:] for frame in Handlers(rt).ask(question, [], session)]

    first = downloads("First?")
    assert first[0] == (None, None, None) and all(f == (None, None, None) for f in first[1:-1])
    assert all(isinstance(b, gr.DownloadButton) and b.visible for b in first[-1])
    second = downloads("Second?")
    assert all(isinstance(b, gr.DownloadButton) and not b.visible for b in second[0])
    assert all(f == (None, None, None) for f in second[1:-1])
    assert all(isinstance(b, gr.DownloadButton) and b.visible for b in second[-1])
    session.close()


def test_the_conversation_download_keeps_the_remembered_turns_with_deltas_joined() -> None:
    from agent.events import Answer, Done, SearchStart
    from agent.records.report import export_runs
    from agent.records.conversation import Conversation
    from tests.engine_helpers import recorded

    deltas = [Thinking(text="Let "), Thinking(text="me look."), SearchStart(query="q", round=1, max_searches=5),
              Thinking(text="Found."), Answer(text="It is "), Answer(text="tall [1]."), Done(answer="It is tall [1].")]
    record = Conversation(keep_events=3)
    joined = recorded(record, "Q?", deltas).events
    assert joined == [Thinking(text="Let me look."), deltas[2], Thinking(text="Found."),
                      Answer(text="It is tall [1]."), deltas[-1]]
    meta = {"question": "Q?"}
    assert export_runs([(meta, joined)], "md") == export_runs([(meta, deltas)], "md")
    for i in range(5):
        recorded(record, f"Q{i}?", deltas)
    assert [m["question"] for m, _ in record.answers(last=3)] == ["Q2?", "Q3?", "Q4?"]
    assert all(len(turn.events) == 1 for turn in record.path()[:-3])  # older turns keep only their done
    session = UISession(runtime(max_history_turns=7))
    assert session.downloads.conversation.max_runs == 7 and session.record.keep_events == 7


def test_conversation_buttons_are_rebuilt_only_when_they_first_show() -> None:
    import gradio as gr

    from ui.app_ui import Handlers

    rt = runtime()
    session = UISession(rt)
    h = Handlers(rt)
    assert all(isinstance(b, gr.DownloadButton) and not b.visible for b in h.conversation_files(session))
    got = []
    for question in ("First?", "Second?"):
        list(h.ask(question, [], session))
        got.append(h.conversation_files(session))
    assert all(isinstance(b, gr.DownloadButton) and b.visible for b in got[0])
    files = got[1]
    assert all(isinstance(p, str) and Path(p).exists() for p in files)
    assert "Second?" in Path(files[1]).read_text(encoding="utf-8")
    session.close()
