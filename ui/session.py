"""One browser session: its ChatSession, the running question, its exports.

Each session gets its own ``ChatSession`` (source numbering, and the conversation's record,
the only memory of the chat), created by ``UISession.open`` when the tab first asks or
uploads. Stop sets the question's ``threading.Event`` (the
backend checks it every token); the handler's ``finally`` sets it too, so a
closed generator (Stop, a closed tab) always ends generation for real.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from agent.api import ChatSession, Conversation, DeepSearchError, Event, Settings, Turn

from .conversation_export import ConversationExport
from .documents import DocumentShelf
from .pump import EventPump
from .recording import Recorder
from .runtime import Runtime


BEGIN_WAIT_S = 15.0  # how long a new question waits for the session's stopped run to end


class SessionBusy(DeepSearchError, RuntimeError):
    """The session's previous answer is still running; the message says to ask again."""


class UISession:
    """One browser session: its ChatSession, the running question, its exports."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.chat = ChatSession(settings=runtime.settings, backend=runtime.backend)
        self.documents = DocumentShelf()  # this visitor's uploads; deleted when the session ends
        self.cancel: threading.Event | None = None
        self.pump: threading.Thread | None = None
        # Clear while a handler is streaming this session's answer: Stop waits for it to end, so
        # the stopped frame is the last the browser gets (no late frame from the cancelled run).
        self.handler_idle = threading.Event()
        self.handler_idle.set()
        self.lock = threading.Lock()
        self.last_meter = ""
        # The record's finished answers (up to the turns the model remembers), for one download.
        self.conversation = ConversationExport(record=self.chat.record, leave_out=runtime.is_demo_note,
                                               max_runs=runtime.settings.max_history_turns)
        self.downloads_shown = False  # the browser shows this session's download buttons
        self.conversation_shown = False  # ... and its whole-conversation ones
        # The saved conversation this chat is (ui/saved.py), and the answer that just finished
        # (its trace, for the times of its events, and its turn in the record), waiting to be saved.
        self.saved_id: str | None = None
        self.to_save: tuple[Path, Turn] | None = None
        self.saved_turns: set[str] = set()  # the record's turns that are in the history
        # The last answer that streamed here, finished, for the model check on request
        # (ui/model_check.py): its view, its turn in the record and its trace; ``checking`` while
        # the check runs.
        self.last_view: Any = None
        self.last_turn: Turn | None = None
        self.last_trace: Path | None = None
        self.checking = False
        self._dir: str | None = None
        # Held while the folder is written or deleted: a tab closed mid-write must not delete the
        # folder under the write (or see a file land in it after its listing, leaving it behind).
        self._export_lock = threading.Lock()

    @classmethod
    def open(cls, runtime: Runtime, session_hash: str | None) -> "UISession":
        """The one way a browser session starts (a question, a replay or an upload): registered in
        the runtime, so a closed tab or a stopping app deletes its files."""
        session = cls(runtime)
        runtime.sessions.add(session_hash, session)
        return session

    @property
    def record(self) -> Conversation:
        """The conversation's record: what the chat shows and the model remembers."""
        return self.chat.record

    def __deepcopy__(self, memo: dict) -> "UISession":
        # Gradio deep-copies what a handler returns into a gr.State (its documented contract: a
        # State value must be deepcopyable); a session holds a lock and the shared backend.
        return self

    def configure(self, settings: Settings) -> None:
        """Per-question settings; the search chain is rebuilt only when the provider changes."""
        if settings.provider != self.chat.settings.provider or settings.read != self.chat.settings.read:
            self.chat.rebuild_search(settings)  # the page reader too: reading may have been off
        self.chat.settings = settings

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

    def answered(self, view: Any = None, turn: Turn | None = None, trace: Path | None = None) -> None:
        """``view`` is the answer shown last (None: none that the model check may change)."""
        self.last_view, self.last_turn, self.last_trace = view, turn if view is not None else None, trace

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

    @property
    def export_folder(self) -> Path | None:
        return Path(self._dir) if self._dir is not None else None

    def wait_idle(self, timeout: float = 15.0) -> bool:
        """Wait for this session's engine to end; False when it still runs after ``timeout``."""
        pump = self.pump
        if pump is not None and pump.is_alive():
            pump.join(timeout)
        return pump is None or not pump.is_alive()

    def stream(self, events: Iterator[Event], cancel: threading.Event, *,
               interval: float | None = None, recorder: Recorder | None = None,
               clean_errors: tuple[type[BaseException], ...] = ()) -> Iterator[list[Event]]:
        """Batches of this session's answer, pumped on their own thread (``ui.pump``), at most
        one per ``interval`` (default: the runtime's pacer, longer while many answers stream)."""
        pacer = self.runtime.pacer
        pump = EventPump(events=events, cancel=cancel, sink=recorder, clean_errors=clean_errors,
                         interval=pacer.interval if interval is None else (lambda: interval)).start()
        self.pump = pump.thread
        with pacer.streaming():
            yield from pump.batches()

    # -- exports -----------------------------------------------------------

    def export_dir(self) -> Path:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="deepsearch-")
        return Path(self._dir)

    def close(self) -> None:
        """The browser session is gone (Gradio deleted its state): end its answer, drop its files
        and its uploaded documents."""
        with self.lock:
            if self.cancel is not None:
                self.cancel.set()
        self.answered()
        self.documents.close()
        self.chat.close_reader()
        with self._export_lock:
            self._drop_export_dir()

    def new_export_dir(self) -> Path:
        """A fresh folder per answer (the previous answer's files go)."""
        with self._export_lock:
            self._drop_export_dir()
            return self.export_dir()

    def write_conversation(self) -> tuple[str | None, str | None]:
        """The whole-conversation downloads, rewritten into this answer's folder; (None, None)
        when the session closed meanwhile (no folder is made again for a closed tab)."""
        with self._export_lock:
            folder = self.export_folder
            return self.conversation.write(folder) if folder is not None else (None, None)

    def _drop_export_dir(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def interruptible_sleep(cancel: threading.Event) -> Callable[[float], None]:
    return lambda seconds: cancel.wait(max(0.0, seconds)) and None
