"""One browser session's downloads: the folder of the last answer's files and the whole
conversation's, and whether the browser shows their buttons.

One folder per answer (the previous answer's files go); the whole-conversation files are
rewritten into it after every answer. Its writes and its deletion are serialised, so a tab
closed mid-write neither deletes the folder under the write nor leaves a file behind.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import Callable

from agent.api import Conversation

from .conversation_export import ConversationExport


class Downloads:
    """The export folder and download-button state of one session."""

    def __init__(self, record: Conversation, *, max_runs: int, leave_out: Callable[[str], bool]) -> None:
        # The record's finished answers (up to the turns the model remembers), for one download;
        # ``leave_out`` names shown answers that are no answers (the demo's note), by question.
        self.conversation = ConversationExport(record=record, leave_out=leave_out, max_runs=max_runs)
        self.shown = False  # the browser shows the last answer's download buttons
        self.conversation_shown = False  # ... and the whole conversation's
        self._dir: str | None = None
        # Held while the folder is written or deleted: a tab closed mid-write must not delete the
        # folder under the write (or see a file land in it after its listing, leaving it behind).
        self._export_lock = threading.Lock()

    @property
    def export_folder(self) -> Path | None:
        return Path(self._dir) if self._dir is not None else None

    def export_dir(self) -> Path:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="deepsearch-")
        return Path(self._dir)

    def close(self) -> None:
        """The session is gone: its files go, after any write in progress."""
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
