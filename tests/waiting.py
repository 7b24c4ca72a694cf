"""Waiting for a condition instead of sleeping: a test that needs something to have happened
polls for it with a deadline and, when it never happens, fails saying what did not happen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Generous on purpose: a deadline only bounds a failure, so it costs nothing when the condition
# comes true, and a loaded 2-core CI machine can be many times slower than a quiet laptop.
DEADLINE_S = 30.0


def wait_until(condition: Callable[[], T], what: str, *, timeout: float = DEADLINE_S,
               interval: float = 0.01) -> T:
    """Call ``condition`` until it returns something truthy and return that; after ``timeout``
    seconds raise AssertionError naming ``what`` (the thing that was expected to happen)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: did not happen within {timeout:g} s")
        time.sleep(interval)


def stays_false(condition: Callable[[], object], what: str, *, for_s: float = 0.5,
                interval: float = 0.01) -> None:
    """Fail at once if ``condition`` becomes true within ``for_s`` seconds. Only for checking that
    something does NOT happen (a second request, a late frame): absence can only be watched for a
    while. Never a way to let something else finish first; that is ``wait_until``'s job."""
    deadline = time.monotonic() + for_s
    while time.monotonic() < deadline:
        if condition():
            raise AssertionError(f"{what}: happened")
        time.sleep(interval)
    assert not condition(), f"{what}: happened"
