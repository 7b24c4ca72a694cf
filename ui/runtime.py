"""What every browser session shares: the settings, the backend and its one-time loading.

Only the backend (the loaded model) is shared between sessions; everything
per person lives in ``ui.session.UISession``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from agent.api import Backend, BackendError, Settings, cause_of, lenient_key

from .pacing import StreamPacer
from .pump import UPDATE_INTERVAL_S

log = logging.getLogger(__name__)


class ModelLoader:
    """Loads the shared backend's model in a background thread, once."""

    def __init__(self, backend: Backend, *, label: str) -> None:
        self.backend = backend
        self.label = label
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._started_at: float | None = None
        self._ready = threading.Event()
        if backend.loaded:
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def loading(self) -> bool:
        return not self.ready

    def start(self) -> None:
        with self._lock:
            if self.ready or self._thread is not None:
                return
            self._started_at = time.monotonic()
            self._thread = threading.Thread(target=self._load, name="model-loader", daemon=True)
            self._thread.start()

    def _load(self) -> None:
        try:
            self.backend.load()
        except BackendError as exc:  # its message is shown on the page: the log keeps it and its cause
            log.warning("loading the model failed: %s%s", exc, f" (cause: {cause_of(exc)})" if cause_of(exc) else "")
            self.error = str(exc)
        except Exception:  # noqa: BLE001 - logged; people get a clean message
            log.exception("loading the model failed")
            self.error = f"Loading {self.label} failed; the details are in the server log."
        finally:
            self._ready.set()

    def wait(self, timeout: float) -> bool:
        self.start()
        return self._ready.wait(timeout)

    def status(self) -> str:
        if self.error:
            return f"⚠️ The model could not be loaded: {self.error}"
        if self.ready:
            return ""
        if self._started_at is None:
            return f"⏳ {self.label} loads when the first question arrives."
        elapsed = time.monotonic() - self._started_at
        return (f"⏳ Loading {self.label}… {elapsed:.0f} s so far (the first start downloads and "
                "quantises the weights; questions wait for it).")


class SessionIndex:
    """Which browser session owns which ``UISession``, so a closed tab's can be closed at once
    (Gradio itself keeps a closed session's state, and so its files, for an hour)."""

    def __init__(self) -> None:
        self._by_hash: dict[str, Any] = {}
        self._lock = threading.Lock()

    def add(self, session_hash: str | None, session: Any) -> None:
        if session_hash:
            with self._lock:
                previous = self._by_hash.get(session_hash)
                self._by_hash[session_hash] = session
            if previous is not None and previous is not session:
                previous.close()  # replaced by New chat: its folder goes now

    def live(self) -> list[Any]:
        with self._lock:
            return list(self._by_hash.values())

    def close(self, session_hash: str | None) -> None:
        with self._lock:
            session = self._by_hash.pop(session_hash, None) if session_hash else None
        if session is not None:
            session.close()


@dataclass
class Runtime:
    """What all browser sessions share: settings, the backend, how to label things."""

    settings: Settings
    backend: Backend
    loader: ModelLoader
    label: str | None = None  # e.g. "Demo: scripted model output"
    banner: str | None = None  # HTML for the page; ``banner_text`` says the same in the terminal
    banner_text: str | None = None
    problem: str | None = None  # why questions will fail, found at startup (ui.startup.startup_problem)
    replaced: str | None = None  # what demo mode set aside of the configuration, in words
    # Demo mode: the questions that have a recording (lenient keys); any other gets a scripted note.
    recorded: frozenset[str] | None = None
    trace_path: str | None = None
    replay_path: str | None = None
    replay_speed: float = 1.0
    trace_lock: threading.Lock = field(default_factory=threading.Lock)
    trace_runs: set[str] = field(default_factory=set)  # the runs in ``trace_path`` (their meta's "run" id)
    pacer: StreamPacer = field(default_factory=lambda: StreamPacer(base_s=UPDATE_INTERVAL_S))
    sessions: SessionIndex = field(default_factory=SessionIndex)
    saved: Any = None  # ui.saved.SavedHistory: the history list beside the chat (None: no list at all)

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.settings.secrets

    def is_demo_note(self, question: str) -> bool:
        """The answer to ``question`` is the demo's note that no model runs here: a non-answer,
        so it offers no downloads and stays out of the conversation's export."""
        return self.recorded is not None and lenient_key(question) not in self.recorded

    def model_label(self) -> str:
        return self.backend.model_id or self.settings.model
