"""Holding an in-process app's runs where a test needs them still going: a gate instead of a slow
model. A test that must see a run in progress (Stop shown, a second question refused, a queued
question) holds the runs, checks what it needs, and releases them; a run that only has to end
plays at full speed. Deterministic where a slow pace was a race, and seconds faster per answer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.waiting import wait_until

# How often a held run looks at its cancel event: Stop or New chat ends a held run within this.
CANCEL_POLL_S = 0.02


def wait_open(gate: threading.Event, cancel: threading.Event) -> None:
    """Until ``gate`` opens or ``cancel`` is set (Stop, New chat), looking at both each poll."""
    while not cancel.is_set() and not gate.wait(CANCEL_POLL_S):
        pass


class HeldRuns:
    """Wraps ``backend.start`` (a scripted backend of an app served in this process). While
    ``hold()`` is in force, every conversation stops before it generates round ``at_round`` (0:
    before the first token; 1: once the first round's panel and search are shown), or within it
    once that round's text holds ``after_text``, until ``release()``, or until its run is
    cancelled (then it ends as a cancelled round would)."""

    def __init__(self, backend: Any) -> None:
        self._open = threading.Event()
        self._open.set()
        self._at_round = 0
        self._after_text: str | None = None
        self._held = 0
        self._lock = threading.Lock()
        real_start = backend.start

        def start(*args: Any, **kwargs: Any) -> Any:
            conversation = real_start(*args, **kwargs)
            conversation.generate = self._gated(conversation, conversation.generate)
            return conversation

        backend.start = start

    def hold(self, *, at_round: int = 0, after_text: str | None = None) -> None:
        self._at_round, self._after_text = at_round, after_text
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    @contextmanager
    def holding(self, *, at_round: int = 0, after_text: str | None = None) -> Iterator[None]:
        """Runs held inside the block, released when it ends (a failed check included: a run
        left held would stall the next test on the same app)."""
        self.hold(at_round=at_round, after_text=after_text)
        try:
            yield
        finally:
            self.release()

    @property
    def held(self) -> int:
        """How many runs are waiting at the gate now."""
        with self._lock:
            return self._held

    def wait_held(self, count: int = 1, *, timeout: float = 60) -> None:
        """Wait until ``count`` runs are waiting at the gate (so they are running, and stopped
        where the test wants them)."""
        wait_until(lambda: self.held >= count, f"{count} run(s) reaching the gate", timeout=timeout)

    def _gated(self, conversation: Any, generate: Callable[..., Iterator[str]]) -> Callable[..., Iterator[str]]:
        def gated(*, cancel: threading.Event) -> Iterator[str]:
            here, after = conversation.usage.rounds == self._at_round, self._after_text
            if here and after is None:
                self._wait(cancel)
            text = ""
            for chunk in generate(cancel=cancel):
                yield chunk
                if here and after is not None and after not in text and after in text + chunk:
                    self._wait(cancel)
                text += chunk
        return gated

    def _wait(self, cancel: threading.Event) -> None:
        if self._open.is_set():
            return
        with self._lock:
            self._held += 1
        try:
            wait_open(self._open, cancel)
        finally:
            with self._lock:
                self._held -= 1


class HeldReplays:
    """Replaces the pauses of replays (``ui.handlers``' sleep between recorded events) with a gate:
    each pause is noted (``pauses``: the seconds the replay asked to wait, after the app's cap)
    and waits until ``release()`` or Stop. The app's own capping is kept; only the waiting is
    the test's. Undone by ``monkeypatch`` when the test ends."""

    def __init__(self, monkeypatch: Any) -> None:
        from ui import handlers

        self.pauses: list[float] = []
        self._open = threading.Event()

        def held_sleep(cancel: threading.Event) -> Callable[[float], None]:
            def sleep(seconds: float) -> None:
                self.pauses.append(seconds)
                wait_open(self._open, cancel)
            return sleep

        monkeypatch.setattr(handlers, "interruptible_sleep", held_sleep)

    def wait_held(self, *, timeout: float = 60) -> None:
        wait_until(lambda: self.pauses, "a replay reaching a pause", timeout=timeout)

    def release(self) -> None:
        self._open.set()
