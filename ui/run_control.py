"""One browser session's run control: which answer runs, Stop, and waiting for a stopped run.

Stop sets the question's ``threading.Event`` (the backend checks it every token); the handler's
``finally`` sets it too (``end``), so a closed generator (Stop, a closed tab) always ends
generation for real.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterator

from agent.api import DeepSearchError, Event

from .pacing import StreamPacer
from .pump import EventPump, EventSink, Timed

BEGIN_WAIT_S = 15.0  # how long a new question waits for the session's stopped run to end


class SessionBusy(DeepSearchError, RuntimeError):
    """The session's previous answer is still running; the message says to ask again."""


class RunControl:
    """The running answer of one session: its cancel event, its pump, whether a handler streams."""

    def __init__(self, pacer: StreamPacer) -> None:
        self.pacer = pacer
        self.cancel: threading.Event | None = None
        self.pump: threading.Thread | None = None
        # Clear while a handler is streaming this session's answer: Stop waits for it to end, so
        # the stopped frame is the last the browser gets (no late frame from the cancelled run).
        self.handler_idle = threading.Event()
        self.handler_idle.set()
        self.lock = threading.Lock()

    def begin(self, *, wait_s: float | None = None) -> threading.Event:
        """A fresh cancel event for the next question, once the last one's engine has ended.

        Raises ``SessionBusy`` when it still runs after ``wait_s`` (``BEGIN_WAIT_S``): a
        stopped run can sit in a prefill for a while, and two runs of one session would
        share its source numbers and history.
        """
        if not self.wait_idle(BEGIN_WAIT_S if wait_s is None else wait_s):
            raise SessionBusy("the previous answer is still stopping (the model finishes reading "
                              "its prompt first); ask again in a few seconds")
        with self.lock:
            self.cancel = threading.Event()
            self.handler_idle.clear()
            return self.cancel

    def end(self, cancel: threading.Event) -> None:
        """The handler that got ``cancel`` from ``begin`` is done: nothing more streams from it.

        A handler closed late must not stop or mark idle a newer question of this session.
        """
        cancel.set()
        with self.lock:
            if self.cancel is cancel:
                self.handler_idle.set()

    def request_stop(self) -> bool:
        with self.lock:
            running = self.cancel is not None and not self.cancel.is_set()
            if self.cancel is not None:
                self.cancel.set()
            return running

    @property
    def running(self) -> bool:
        """A handler is streaming an answer (or a replay) of this session."""
        return not self.handler_idle.is_set()

    def wait_handler_idle(self, timeout: float) -> bool:
        """Wait for the handler streaming this session's answer to end; False when it still
        streams after ``timeout``."""
        return self.handler_idle.wait(max(0.0, timeout))

    def wait_idle(self, timeout: float = 15.0) -> bool:
        """Wait for this session's engine to end; False when it still runs after ``timeout``."""
        pump = self.pump
        if pump is not None and pump.is_alive():
            pump.join(timeout)
        return pump is None or not pump.is_alive()

    def stream(self, events: Iterator[Event], cancel: threading.Event, *,
               interval: float | None = None, recorder: EventSink | None = None,
               clean_errors: tuple[type[BaseException], ...] = ()) -> Iterator[list[Timed]]:
        """Batches of this session's answer, each event with its arrival stamp, pumped on their
        own thread (``ui.pump``), at most one per ``interval`` (default: the runtime's pacer,
        longer while many answers stream)."""
        pacer = self.pacer
        pump = EventPump(events=events, cancel=cancel, sink=recorder, clean_errors=clean_errors,
                         interval=pacer.interval if interval is None else (lambda: interval)).start()
        self.pump = pump.thread
        with pacer.streaming():
            yield from pump.timed_batches()

    def stop_for_good(self) -> None:
        """The session is gone: whatever runs stops."""
        with self.lock:
            if self.cancel is not None:
                self.cancel.set()


def interruptible_sleep(cancel: threading.Event) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        cancel.wait(max(0.0, seconds))

    return sleep
