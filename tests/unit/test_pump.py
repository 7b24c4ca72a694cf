"""The event pump on its own: a fake engine iterator and a fake clock, no UI."""

from __future__ import annotations

import threading

from agent.api import Answer, BackendError, Done, Error, Thinking
from ui.pump import CRASH_MESSAGE, EventPump


class FakeClock:
    """Moves on by ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class Sink:
    def __init__(self) -> None:
        self.events, self.closed = [], 0

    def write(self, event, at: float) -> None:
        self.events.append(event)

    def close(self) -> None:
        self.closed += 1


class Engine:
    """Yields the given events, waiting for ``gate`` before each one after the first ``free``."""

    def __init__(self, events, *, gate: threading.Event | None = None, free: int = 0, fail=None) -> None:
        self.events, self.gate, self.free, self.fail, self.closed = list(events), gate, free, fail, False

    def __iter__(self):
        return self

    def __next__(self):
        if self.gate is not None and self.free <= 0:
            self.gate.wait(5)
        self.free -= 1
        if not self.events:
            if self.fail is not None:
                raise self.fail
            raise StopIteration
        return self.events.pop(0)

    def close(self) -> None:
        self.closed = True


def run(engine, **kw) -> tuple[list[list], EventPump]:
    pump = EventPump(events=engine, cancel=kw.pop("cancel", threading.Event()), **kw).start()
    batches = list(pump.batches())
    pump.thread.join(5)
    return batches, pump


def test_events_that_arrive_within_an_interval_come_as_one_batch() -> None:
    events = [Thinking(text=str(i)) for i in range(50)] + [Done(answer="a")]
    batches, _ = run(Engine(events), interval=lambda: 0.2)
    assert [e for b in batches for e in b] == events
    assert len(batches) <= 3  # an instant engine: one or two batches, never one per event


def test_the_pump_records_every_event_closes_the_engine_and_the_sink() -> None:
    sink, engine = Sink(), Engine([Answer(text="x"), Done(answer="x")])
    batches, pump = run(engine, sink=sink, interval=lambda: 0.0)
    assert sink.events == [Answer(text="x"), Done(answer="x")] and sink.closed == 1
    assert engine.closed and not pump.alive


def test_engine_failures_become_one_error_event() -> None:
    batches, _ = run(Engine([Thinking(text="t")], fail=BackendError("the server went away")), interval=lambda: 0.0)
    assert [e for b in batches for e in b][-1] == Error(message="the server went away")
    batches, _ = run(Engine([], fail=KeyError("bug of ours")), interval=lambda: 0.0)
    assert [e for b in batches for e in b] == [Error(message=CRASH_MESSAGE)]  # no traceback shown


def test_a_stop_the_engine_ignores_ends_the_stream_after_the_grace() -> None:
    """cancel set and an engine stuck (say in prefill): the reader gives up after grace_s of clock."""
    gate, cancel = threading.Event(), threading.Event()
    engine = Engine([Thinking(text="t"), Done(answer="never read")], gate=gate, free=1)
    pump = EventPump(events=engine, cancel=cancel, interval=lambda: 0.0, grace_s=1.0, clock=FakeClock(0.4)).start()
    batches = pump.batches()
    assert next(batches) == [Thinking(text="t")]
    cancel.set()
    assert list(batches) == []  # gave up: 0.4 s of fake clock per poll, past the 1 s grace
    assert pump.alive  # the engine thread still runs; the reader did not wait for it
    gate.set()
    pump.thread.join(5)
    assert engine.closed


def test_a_stop_the_engine_honours_ends_with_its_last_events() -> None:
    gate, cancel = threading.Event(), threading.Event()
    engine = Engine([Thinking(text="t"), Done(answer="", stopped=True)], gate=gate, free=1)
    pump = EventPump(events=engine, cancel=cancel, interval=lambda: 0.0, clock=FakeClock(0.01)).start()
    batches = pump.batches()
    assert next(batches) == [Thinking(text="t")]
    cancel.set()
    gate.set()
    assert [e for b in batches for e in b] == [Done(answer="", stopped=True)]
