"""A saved answer reopens with the very panel titles the visitor saw live. The live view is fed
each event at the stamp it arrived with on the pump thread, the stamp its recording stores, not
at the time its batch reached the handler: on a loaded machine a batch can be late, and a
thought of 0.05 s shown live as "Thought" came back from the history as "Thought for 0.1 s"."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator

from agent.api import Answer, Conversation, Done, SearchDone, SearchStart, SourceRef, Thinking, read_trace, turn_from_run
from agent.backends.scripted import ScriptedBackend
from agent.config import Settings
from ui.answer_run import AnswerRun
from ui.mapper import AnswerView, thought_title
from ui.pump import EventPump, stamp_ms
from ui.recording import Recorder
from ui.runtime import Runtime
from ui.branches import TurnViews, turn_view

REF = SourceRef(id=1, title="Eiffel Tower", url="https://example.com/eiffel")
# (milliseconds after the first event, event): three thoughts of 50, 49 and 151 ms, the first two
# on either side of the 0.05 s below which a panel reads plain "Thought".
TIMELINE = [
    (0, Thinking(text="a")),
    (50, SearchStart(query="q1", round=1, max_searches=5)),
    (60, SearchDone(query="q1", provider="fixture", latency_s=0.01, results=(REF,))),
    (61, Thinking(text="b")),
    (70, Thinking(text="c")),  # joined onto "b" in the record
    (110, SearchStart(query="q2", round=2, max_searches=5)),
    (120, SearchDone(query="q2", provider="fixture", latency_s=0.01, results=())),
    (121, Thinking(text="d")),
    (272, Answer(text="It is 330 m [1].")),
    (280, Done(answer="It is 330 m [1].", sources=(REF,), cited=(1,), searches=2)),
]


class Control:
    """A UI session's run control as ``AnswerRun`` uses it: its answer pumped, each event stamped
    by ``stamp``, every batch handed over late (after the whole answer arrived), as on a loaded
    machine."""

    def __init__(self, stamp: Iterator[float]) -> None:
        self._stamp = stamp

    def stream(self, events: Any, cancel: threading.Event, *, recorder: Recorder | None = None,
               clean_errors: tuple = ()) -> Iterator[list]:
        pump = EventPump(events=events, cancel=cancel, sink=recorder, interval=lambda: 0.0,
                         stamp=lambda: next(self._stamp)).start()
        assert pump.thread is not None
        pump.thread.join(10)  # everything has arrived before the first batch is fed
        yield from pump.timed_batches()


class Session:
    """What ``AnswerRun`` needs of a UI session."""

    last_meter = ""

    def __init__(self, stamp: Iterator[float], runtime: Runtime) -> None:
        self.control = Control(stamp)
        self.runtime = runtime
        self.record = Conversation()
        self.views = TurnViews()


def titles(view: AnswerView) -> list[str]:
    return [m.metadata["title"] for m in view.messages()
            if m.metadata and str(m.metadata.get("title", "")).startswith("Thought")]


def test_a_reopened_answer_has_the_thought_titles_shown_live(tmp_path: Path) -> None:
    settings = Settings(backend="scripted")
    runtime = Runtime(settings=settings, backend=ScriptedBackend(rounds=[], settings=settings),  # type: ignore[arg-type]
                      loader=None, trace_path=None)
    recorder = Recorder(tmp_path, question="How tall?", runtime=runtime, settings=settings)
    start = stamp_ms() + 1000.0  # later than the recording's start, on the same clock
    stamps = iter(round(start + ms / 1000, 3) for ms, _ in TIMELINE)
    live = AnswerView(max_searches=5, clock=stamp_ms)
    session = Session(stamps, runtime)
    run = AnswerRun(session=session, history=[], shown_question="How tall?",  # type: ignore[arg-type]
                    turn=session.record.begin("How tall?"), view=live, cancel=threading.Event())
    for _ in run.stream(iter([event for _, event in TIMELINE]), recorder=recorder):
        pass
    assert recorder.path is not None
    meta, timed = read_trace(recorder.path)
    timed_turn = turn_from_run(meta, timed)
    reopened = turn_view(timed_turn.turn, timed_turn.times, max_searches=5, secrets=())

    assert titles(live) == ["Thought for 0.1 s", "Thought", "Thought for 0.2 s"]
    assert titles(reopened) == titles(live)


def test_a_duration_titles_the_same_from_stamps_and_from_trace_times() -> None:
    """Two stamps of the monotonic clock and the same two instants as trace times (since the
    recording began) differ in the last bits; the title is the same from either."""
    t0 = 18234.567
    for ms in range(0, 400):
        live = round(t0 + 1.0 + ms / 1000, 3) - round(t0 + 1.0, 3)
        traced = round(round(t0 + 1.0 + ms / 1000, 3) - t0, 3) - round(round(t0 + 1.0, 3) - t0, 3)
        assert thought_title(live) == thought_title(traced), ms
