"""At most one generation thread per loaded local model, however its runs end.

Stop ends a round within a token, but not during prefill: ``model.generate``
reads the whole prompt before the first stopping-criteria check, which can
take many seconds on a long context. The UI gives up waiting after a short
grace, so without this gate the next question (from any session) could start a
second ``generate`` on the same GPU while the first still runs: two KV caches,
and an out-of-memory error on the real deployment.
"""

from __future__ import annotations

import threading

_POLL_S = 0.05


class GenerationGate:
    """Held by a generation thread from before ``generate`` starts until it has returned."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def enter(self, cancel: threading.Event) -> bool:
        """Wait for the previous generation thread to end; False when ``cancel`` came first."""
        while not self._lock.acquire(timeout=_POLL_S):
            if cancel.is_set():
                return False
        return True

    def leave(self) -> None:
        self._lock.release()
