"""How often a streaming answer sends the browser an update, given how many stream at once.

Every update costs the replica the same whatever it carries (Gradio postprocesses
the whole chat value, diffs it against the last one and sends it), so with many
answers streaming at once each one batches longer: up to ``streams_per_step``
live answers get one update per ``base_s``; beyond that the interval grows in
proportion, capped at ``max_s``. The replica's total update rate then stays near
``streams_per_step / base_s`` (80 a second by default) until the cap, instead
of growing with every person who asks.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


class StreamPacer:
    """Counts the answers streaming right now and gives each its update interval."""

    def __init__(self, *, base_s: float = 0.05, max_s: float = 0.25, streams_per_step: int = 4) -> None:
        if not 0 < base_s <= max_s:
            raise ValueError(f"need 0 < base_s <= max_s, got base_s={base_s!r}, max_s={max_s!r}")
        if streams_per_step < 1:
            raise ValueError(f"streams_per_step must be at least 1, got {streams_per_step!r}")
        self.base_s = base_s
        self.max_s = max_s
        self.streams_per_step = streams_per_step
        self._live = 0
        self._lock = threading.Lock()

    @property
    def live(self) -> int:
        return self._live

    @contextmanager
    def streaming(self) -> Iterator[None]:
        """Counts one live answer for the duration of the ``with`` block."""
        with self._lock:
            self._live += 1
        try:
            yield
        finally:
            with self._lock:
                self._live -= 1

    def interval(self) -> float:
        """Seconds between two updates of one answer, now."""
        return min(self.max_s, self.base_s * max(1.0, self._live / self.streams_per_step))
