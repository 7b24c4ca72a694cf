"""The thin controller: per-browser sessions, streaming, Stop, settings, export.

Only the backend (the loaded model) is shared between browser sessions; each
session gets its own ``ChatSession`` (source numbering, history) created lazily
in the handler, because ``gr.State`` deep-copies its initial value.

The engine iterator is pumped by one thread per question into a queue; the
handler drains it and yields at most ``UPDATE_INTERVAL_S`` apart, so a fast
model costs ~20 UI updates a second, not one per token; with many answers
streaming at once each one batches longer (``ui/pacing.py``). Stop sets the
question's ``threading.Event`` (the backend checks it every token); the
handler's ``finally`` sets it too, so a closed generator (Stop, a closed tab)
always ends generation for real.
"""

from __future__ import annotations

import logging
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from agent.api import (Backend, BackendError, ChatSession, Error, Event, Settings, TraceWriter, build_search,
                       export_events, read_trace)

from .conversation_export import ConversationExport
from .pacing import StreamPacer

log = logging.getLogger(__name__)

UPDATE_INTERVAL_S = 0.05
CRASH_MESSAGE = "Something went wrong while answering; the details are in the server log."
_END = object()


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
        except BackendError as exc:
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


@dataclass
class Runtime:
    """What all browser sessions share: settings, the backend, how to label things."""

    settings: Settings
    backend: Backend
    loader: ModelLoader
    label: str | None = None  # e.g. "Demo: scripted model output"
    banner: str | None = None
    trace_path: str | None = None
    replay_path: str | None = None
    replay_speed: float = 1.0
    trace_lock: threading.Lock = field(default_factory=threading.Lock)
    pacer: StreamPacer = field(default_factory=lambda: StreamPacer(base_s=UPDATE_INTERVAL_S))

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.settings.secrets

    def model_label(self) -> str:
        return self.backend.model_id or self.settings.model


class UISession:
    """One browser session: its ChatSession, the running question, its exports."""

    def __init__(self, runtime: Runtime, *, history: list[tuple[str, str]] | None = None) -> None:
        self.runtime = runtime
        self.chat = ChatSession(settings=runtime.settings, backend=runtime.backend)
        self.chat.history = list(history or [])
        self.cancel: threading.Event | None = None
        self.pump: threading.Thread | None = None
        # Clear while a handler is streaming this session's answer: Stop waits for it to end, so
        # the stopped frame is the last the browser gets (no late frame from the cancelled run).
        self.handler_idle = threading.Event()
        self.handler_idle.set()
        self.lock = threading.Lock()
        self.last_meter = ""
        self.conversation = ConversationExport()  # every finished answer, for one download
        self.downloads_shown = False  # the browser shows this session's download buttons
        self._dir: str | None = None

    def __deepcopy__(self, memo: dict) -> "UISession":
        return self  # holds a lock and the shared backend: never copied

    def configure(self, settings: Settings) -> None:
        """Per-question settings; the search chain is rebuilt only when the provider changes."""
        if settings.provider != self.chat.settings.provider:
            self.chat.search = build_search(settings)
        self.chat.settings = settings

    def begin(self) -> threading.Event:
        """A fresh cancel event for the next question, after the last one has ended."""
        self.wait_idle()
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

    def wait_idle(self, timeout: float = 15.0) -> None:
        pump = self.pump
        if pump is not None and pump.is_alive():
            pump.join(timeout)

    def stream(self, events: Iterator[Event], cancel: threading.Event, *,
               interval: float | None = None, recorder: "Recorder | None" = None,
               clean_errors: tuple[type[BaseException], ...] = ()) -> Iterator[list[Event]]:
        """Batches of engine events, at most one batch per ``interval`` (default: the
        runtime's pacer, which lengthens it while many answers stream at once).

        The pump thread owns the engine iterator: it records every event (so a
        recording is complete even when the handler was closed by Stop) and
        closes the iterator itself. A stop (``cancel`` set) ends the stream as
        soon as the engine has ended, or after a short grace period.
        """
        q: queue.Queue[Any] = queue.Queue()
        ended = threading.Event()

        def emit(event: Event) -> None:
            if recorder is not None:
                recorder.write(event)
            q.put(event)

        def pump() -> None:
            try:
                for event in events:
                    emit(event)
            except (BackendError, *clean_errors) as exc:  # messages written for people
                emit(Error(message=str(exc)))
            except Exception:  # noqa: BLE001 - logged; people get a clean message
                log.exception("the engine failed")
                emit(Error(message=CRASH_MESSAGE))
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()
                if recorder is not None:
                    recorder.close()
                q.put(_END)
                ended.set()

        self.pump = threading.Thread(target=pump, name="engine-pump", daemon=True)
        self.pump.start()
        pacer = self.runtime.pacer
        with pacer.streaming():
            yield from _batches(q, ended, cancel, pacer.interval if interval is None else lambda: interval)

    # -- exports -----------------------------------------------------------

    def export_dir(self) -> Path:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="deepsearch-")
        return Path(self._dir)

    def close(self) -> None:
        """The browser session is gone (Gradio deleted its state): end its answer, drop its files."""
        with self.lock:
            if self.cancel is not None:
                self.cancel.set()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def new_export_dir(self) -> Path:
        """A fresh folder per answer (the previous answer's files go)."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        return self.export_dir()


def _batches(q: queue.Queue[Any], ended: threading.Event, cancel: threading.Event,
             interval: Callable[[], float]) -> Iterator[list[Event]]:
    first = True
    while True:
        item = _get(q, cancel)
        if item is None or item is _END:  # stopped, or the engine has ended
            return
        batch: list[Event] = [item]
        # Sleep through the interval rather than wake for every event: each wake-up would
        # take the GIL from the generation thread. Only the engine's end cuts it short.
        # The first event goes at once: the first visible token should not wait for company.
        if not first:
            ended.wait(interval())
        first = False
        done = False
        while not done:
            try:
                item = q.get_nowait()
            except queue.Empty:
                break
            if item is _END:
                done = True
            else:
                batch.append(item)
        yield batch
        if done:
            return


def _get(q: queue.Queue[Any], cancel: threading.Event, grace_s: float = 1.0) -> Any:
    """The next item; ``None`` when ``cancel`` was set and the engine has not ended
    within ``grace_s`` (normally it ends within a token, with a stopped ``Done``)."""
    give_up: float | None = None
    while True:
        try:
            return q.get(timeout=0.05)
        except queue.Empty:
            if cancel.is_set():
                now = time.monotonic()
                if give_up is None:
                    give_up = now + grace_s
                elif now > give_up:
                    return None


class Recorder:
    """Records one answer as a trace (downloads, ``--trace``).

    ``write`` and ``close`` run on the pump thread; ``reports`` on the handler's.
    """

    def __init__(self, folder: Path, *, question: str, runtime: Runtime, settings: Settings) -> None:
        self.path: Path | None = None
        self.run: tuple[dict[str, Any], list[Event]] | None = None  # as read back, once reported
        self._writer = None
        self._runtime = runtime
        self._closed = threading.Event()
        path = folder / f"deepsearch-trace-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
        try:
            self._writer = TraceWriter(path, question=question, settings=settings,
                                       model=runtime.model_label())
            self.path = path
        except Exception:  # noqa: BLE001 - a recording must never break an answer
            log.exception("cannot open a trace for this answer")
            self._closed.set()

    def write(self, event: Event) -> None:
        if self._writer is None:
            return
        try:
            self._writer.write(event)
        except Exception:  # noqa: BLE001
            log.exception("cannot write to the trace")
            self._writer = None

    def close(self) -> None:
        """End the recording and append it, whole, to the ``--trace`` file."""
        if self._closed.is_set():
            return
        try:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
                self._append_to_session_trace()
        except Exception:  # noqa: BLE001
            log.exception("cannot close the trace")
            self.path = None
        finally:
            self._closed.set()

    def _append_to_session_trace(self) -> None:
        target = self._runtime.trace_path
        if not target or self.path is None:
            return
        try:  # whole runs under a lock: answers of two sessions never interleave
            with self._runtime.trace_lock, open(target, "a", encoding="utf-8") as out:
                out.write(self.path.read_text(encoding="utf-8"))
        except OSError:
            log.exception("cannot append to the trace file %r", target)

    def reports(self, timeout: float = 5.0) -> tuple[str | None, str | None, str | None]:
        """(trace, html, md) paths of the finished recording; ``None`` for what is missing."""
        self._closed.wait(timeout)
        if self.path is None or not self.path.exists():
            return None, None, None
        try:
            meta, pairs = read_trace(self.path)
            events = [event for _, event in pairs]
            self.run = (meta, events)
            html = self.path.with_name(self.path.stem.replace("trace", "report") + ".html")
            md = html.with_suffix(".md")
            html.write_text(export_events(meta, events, "html"), encoding="utf-8")
            md.write_text(export_events(meta, events, "md"), encoding="utf-8")
        except Exception:  # noqa: BLE001 - the trace alone is still worth offering
            log.exception("cannot write the reports for this answer")
            return str(self.path), None, None
        return str(self.path), str(html), str(md)


def interruptible_sleep(cancel: threading.Event) -> Callable[[float], None]:
    return lambda seconds: cancel.wait(max(0.0, seconds)) and None
