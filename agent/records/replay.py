"""Replay a recorded run at its recorded timing (``trace`` reads and validates the file).

No pause is longer than ``MAX_REPLAY_PAUSE_S``, so a crafted trace cannot hold
a replay (and its server slot) for as long as its author likes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import UsageError
from ..events import Event
from .trace import TimedEvent, read_trace

# The longest pause between two replayed events, whatever the recording says (README, Recordings).
MAX_REPLAY_PAUSE_S = 5.0


def replay(path: str | Path, *, speed: float = 1.0, sleep: Callable[[float], None] = time.sleep,
           run: int = -1) -> Iterator[Event]:
    """Validate the whole run now (raising ``TraceError`` before any event), then
    return an iterator that yields its events at recorded timing divided by
    ``speed``; ``speed=0`` yields them at once."""
    _check_speed(speed)
    _, timed = read_trace(path, run=run)
    return pace(timed, speed=speed, sleep=sleep)


def pace(timed: Iterable[TimedEvent], *, speed: float = 1.0,
         sleep: Callable[[float], None] = time.sleep) -> Iterator[Event]:
    """Yield events, sleeping the recorded gap (over ``speed``) before each one.

    The gap before the first event is its own ``t``, so a replay keeps the
    recorded wait for the first token too. No pause is longer than
    ``MAX_REPLAY_PAUSE_S``: a crafted trace cannot hold a replay (and its
    server slot) for as long as its author likes.
    """
    _check_speed(speed)
    previous = 0.0
    for t, event in timed:
        if speed and t > previous:
            sleep(min((t - previous) / speed, MAX_REPLAY_PAUSE_S))
        previous = max(previous, t)
        yield event


def _check_speed(speed: float) -> None:
    if not (isinstance(speed, (int, float)) and speed >= 0):  # also refuses NaN
        raise UsageError(f"replay speed must be 0 (at once) or more, got {speed!r}")
