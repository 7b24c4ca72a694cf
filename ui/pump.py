"""The event pump: one thread drains the engine's iterator into a queue; the handler reads batches.

It knows nothing about the UI. The handler yields at most one batch per
``interval``, so a fast model costs ~20 UI updates a second, not one per token
(with many answers streaming at once each one batches longer: ``ui/pacing.py``),
and it sleeps through the interval instead of waking per event (each wake-up
would take the GIL from the generation thread). After ``cancel`` is set the
stream ends as soon as the engine has ended, or after ``grace_s`` if it does
not (normally it ends within a token, with a stopped ``Done``).

Each event is stamped once, on the pump thread as it arrives, with ``stamp_ms`` (milliseconds): the
recording writes that stamp and the live view is fed at it, so the "Thought for N s" a visitor
saw is exactly what the saved conversation shows when reopened, however late a batch reached
the page.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol

from agent.api import BackendError, Error, Event, SearchDone

from .visitor_log import log_shown

log = logging.getLogger(__name__)

UPDATE_INTERVAL_S = 0.05
GRACE_S = 1.0
CRASH_MESSAGE = "Something went wrong while answering; the details are in the server log."
_END = object()
Timed = tuple[float, Event]  # (stamp at arrival, event)


def stamp_ms() -> float:
    """The monotonic clock in whole milliseconds, the resolution a trace records: differences
    of two stamps are then the same number live and read back from the trace."""
    return round(time.monotonic(), 3)


class EventSink(Protocol):
    """Sees every event on the pump thread with its arrival stamp (a recording), then ``close`` once."""

    def write(self, event: Event, at: float) -> None: ...

    def close(self) -> None: ...


@dataclass
class EventPump:
    """Runs one engine iterator on its own thread; ``batches`` reads it from the caller's."""

    events: Iterator[Event]
    cancel: threading.Event
    sink: EventSink | None = None
    # Exceptions whose message is written for people (besides BackendError).
    clean_errors: tuple[type[BaseException], ...] = ()
    # Seconds between two batches, asked before each (a pacer lengthens it under load).
    interval: Callable[[], float] = lambda: UPDATE_INTERVAL_S
    grace_s: float = GRACE_S
    clock: Callable[[], float] = time.monotonic
    # Each event's arrival stamp (``Timed``), given to the sink and the batches alike.
    stamp: Callable[[], float] = stamp_ms
    thread: threading.Thread | None = None
    _queue: queue.Queue[Any] = field(default_factory=queue.Queue)
    _ended: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "EventPump":
        self.thread = threading.Thread(target=self._pump, name="engine-pump", daemon=True)
        self.thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def batches(self) -> Iterator[list[Event]]:
        """Batches of events in order (``timed_batches`` without the stamps)."""
        for batch in self.timed_batches():
            yield [event for _, event in batch]

    def timed_batches(self) -> Iterator[list[Timed]]:
        """Batches of ``(stamp, event)`` in order; ends when the engine ends or a stop outlasts
        the grace.

        The first event goes at once (the first visible token should not wait for company);
        later ones wait out the interval, which only the engine's end cuts short.
        """
        first = True
        while True:
            item = self._next()
            if item is None or item is _END:
                return
            batch: list[Timed] = [item]
            if not first:
                self._ended.wait(self.interval())
            first = False
            done = False
            while not done:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _END:
                    done = True
                else:
                    batch.append(item)
            yield batch
            if done:
                return

    def _pump(self) -> None:
        """The pump thread: owns the iterator, so it records every event and closes it itself."""
        clean: tuple[type[BaseException], ...] = (BackendError, *self.clean_errors)  # messages written for people
        try:
            for event in self.events:
                self._emit(event)
        except clean as exc:
            log_shown("an answer's error", str(exc), cause=exc)
            self._emit(Error(message=str(exc)), logged=True)
        except Exception:  # noqa: BLE001 - logged; people get a clean message
            log.exception("the engine failed")
            self._emit(Error(message=CRASH_MESSAGE))
        finally:
            close = getattr(self.events, "close", None)
            if close is not None:
                close()
            if self.sink is not None:
                self.sink.close()
            self._queue.put(_END)
            self._ended.set()

    def _emit(self, event: Event, *, logged: bool = False) -> None:
        # Whatever error the page will show is in the log first (the engine's own log line, at
        # INFO, has its cause).
        if isinstance(event, Error) and not logged:
            log_shown("an answer's error", event.message)
        elif isinstance(event, SearchDone) and event.error:
            log_shown(f"a failed search for {event.query[:200]!r}", event.error)
        at = self.stamp()
        if self.sink is not None:
            self.sink.write(event, at)
        self._queue.put((at, event))

    def _next(self, poll_s: float = 0.05) -> Any:
        """The next item; ``None`` once ``cancel`` has been set for longer than the grace."""
        give_up: float | None = None
        while True:
            try:
                return self._queue.get(timeout=poll_s)
            except queue.Empty:
                if self.cancel.is_set():
                    now = self.clock()
                    if give_up is None:
                        give_up = now + self.grace_s
                    elif now > give_up:
                        return None
