"""One browser session, split by job: the conversation (its ``ChatSession``, whose record is the
only memory of the chat, and the saved conversation it is), the running answer (``control``,
``ui/run_control.py``), the downloads (``downloads``, ``ui/downloads.py``) and the uploaded
documents (``documents``, ``ui/documents.py``). ``UISession.open`` is the one way a session starts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agent.api import ChatSession, Conversation, Event, Settings, Turn, offers_model_check

from .branches import TurnViews
from .documents import DocumentShelf
from .downloads import Downloads
from .run_control import RunControl
from .runtime import Runtime


@dataclass(frozen=True)
class Unsaved:
    """A finished answer the history has not saved yet: its recording (the meta line and the
    timed events, read back when it ended) and its turn in the record. Read then because the next
    answer deletes the file (``Downloads.new_export_dir``), and it can start before the history's
    save, which follows the answer as a separate event (Regenerate clicked as an answer ends)."""

    meta: dict[str, Any]
    timed: list[tuple[float, Event]]
    turn: Turn


class UISession:
    """One browser session: its conversation, its running answer, its downloads, its uploads."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.chat = ChatSession(settings=runtime.settings, backend=runtime.backend)
        # Every branch stays in the record (Regenerate, an edit, Continue from here): the chat
        # shows one and switches between them (ui/branches.py).
        self.chat.record.keep_branches = True
        # How each turn of the record is drawn; a finished answer offers the model check where
        # the backend does (whatever the check setting: an answer without claims offers nothing).
        self.views = TurnViews(offers_check=offers_model_check(replace(runtime.settings, check_claims="lexical")))
        self.control = RunControl(runtime.pacer)
        self.downloads = Downloads(self.chat.record, leave_out=runtime.is_demo_note,
                                   max_runs=runtime.settings.max_history_turns)
        self.documents = DocumentShelf()  # this visitor's uploads; deleted when the session ends
        self.last_meter = ""
        # The saved conversation this chat is (ui/saved.py), and the finished answers waiting to be
        # saved, oldest first (more than one when the next ended before the history's save ran).
        self.saved_id: str | None = None
        self.to_save: list[Unsaved] = []
        self.saved_turns: set[str] = set()  # the record's turns that are in the history
        # The last answer that streamed here, finished, for the model check on request
        # (ui/model_check.py): its view, its turn in the record and its trace; ``checking`` while
        # the check runs.
        self.last_view: Any = None
        self.last_turn: Turn | None = None
        self.last_trace: Path | None = None
        self.checking = False
        # The chat a finished check redraws (ui/model_check.ModelCheck.redraw); whether a check
        # has begun and is not settled yet, and whether an answer was asked for meanwhile (the
        # check's end then leaves Ask and Stop to that answer).
        self.check_chat: list[Any] | None = None
        self.check_pending = False
        self.check_overtaken = False
        # Stop ended the check: Stop's own follow-up gave Ask back, so the check's ``settle`` must
        # not flip Ask and Stop again (its reply could land after a check clicked again at once).
        self.check_stopped = False

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

    def answered(self, view: Any = None, turn: Turn | None = None, trace: Path | None = None) -> None:
        """``view`` is the answer shown last (None: none that the model check may change)."""
        self.last_view, self.last_turn, self.last_trace = view, turn if view is not None else None, trace

    def adopt(self, record: Conversation) -> None:
        """A saved conversation's record becomes this chat's: the model remembers it, the
        downloads export it."""
        self.chat.record = self.downloads.conversation.record = record

    def close(self) -> None:
        """The browser session is gone (Gradio deleted its state): end its answer, drop its files
        and its uploaded documents."""
        self.control.stop_for_good()
        self.answered()
        self.documents.close()
        self.chat.close_reader()
        self.downloads.close()
