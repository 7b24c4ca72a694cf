"""The Documents panel: a visitor's own files, searchable in their browser session only.

Each browser session that uploads gets a private index in a folder of its own,
never visible to another visitor, and deleted when the session ends (the tab
closes, or Gradio drops the session's state). An operator's ``--index`` is a
different thing: shared read-only by everyone, listed here but never changed.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from agent.api import DocumentIndex, IndexUnavailable, counted

from .citations import escape_text

log = logging.getLogger(__name__)

UPLOAD_TYPES = [".pdf", ".txt", ".md", ".html", ".htm"]
MAX_DOCUMENTS = 20
MAX_FILE_MB = 20
KIND_NAMES = "PDF, text, Markdown and HTML"


class DocumentShelf:
    """One browser session's uploaded documents. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._folder: Path | None = None
        self._index: DocumentIndex | None = None
        self.closed = False

    @property
    def indexes(self) -> list[DocumentIndex]:
        return [self._index] if self._index is not None else []

    def add(self, paths: list[str]) -> list[str]:
        """Index uploaded files; one message per file a person should read."""
        messages: list[str] = []
        with self._lock:
            if self.closed:
                return ["This session has ended; reload the page to upload documents."]
            for path in paths:
                messages.append(self._add_one(Path(path)))
        return messages

    def _add_one(self, path: Path) -> str:
        name = path.name
        if path.suffix.lower() not in UPLOAD_TYPES:
            return f"✗ {name}: only {KIND_NAMES} files can be added ({', '.join(UPLOAD_TYPES)})."
        size = path.stat().st_size if path.exists() else 0
        if size > MAX_FILE_MB * 1_000_000:
            return f"✗ {name} is {size / 1e6:.1f} MB; the limit is {MAX_FILE_MB} MB per file."
        index = self._open()
        known = {d.key for d in index.documents()}
        if name not in known and len(known) >= MAX_DOCUMENTS:
            return f"✗ {name}: at most {MAX_DOCUMENTS} documents per session; remove one first."
        try:
            outcome = index.add_bytes(path.read_bytes(), key=name, name=name)
        except IndexUnavailable as exc:  # locked by another writer past the wait, a full disk
            log.warning("adding %r failed: %s", name, exc)
            # The message names a server folder: the log has it, the visitor gets the gist.
            return f"✗ {name} could not be added: the document store is busy or out of space; try again in a moment."
        except OSError:
            return f"✗ {name} could not be read; try uploading it again."
        if outcome.status == "skipped":
            # The reason names the file already ("x.pdf: the PDF is encrypted ...").
            return f"✗ {outcome.reason}"
        line = f"✓ {outcome.status} {name} ({counted(outcome.passages, 'passage')})"
        return f"{line}; {outcome.skipped_part}" if outcome.skipped_part else line

    def remove(self, name: str) -> str:
        with self._lock:
            if self._index is None or not name:
                return "Choose a document to remove."
            gone = self._index.remove(name)
        return f"Removed {name} ({counted(gone, 'passage')})." if gone else f"{name} is not in your documents."

    def rows(self) -> list[list[Any]]:
        """[file, kind, passages] per uploaded document, oldest first."""
        with self._lock:
            docs = self._index.documents() if self._index is not None else []
        return [[d.name, d.kind, d.passages] for d in docs]

    def close(self) -> None:
        """Delete this session's documents: the index and its folder."""
        with self._lock:
            self.closed = True
            if self._index is not None:
                self._index.close()
                self._index = None
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None

    @property
    def folder(self) -> Path | None:
        return self._folder

    def _open(self) -> DocumentIndex:
        if self._index is None:
            self._folder = Path(tempfile.mkdtemp(prefix="deepsearch-docs-"))
            self._index = DocumentIndex(self._folder)
        return self._index


def shared_summary(index_dir: str | None) -> str:
    """One line about the operator's shared index, if there is one."""
    if not index_dir:
        return ""
    try:
        with DocumentIndex(index_dir, read_only=True) as shared:
            stats = shared.stats()
    except IndexUnavailable:
        log.warning("the shared index %r cannot be opened", index_dir)
        return "The shared document index is unavailable."
    return (f"Also searched, for everyone: a shared index of {counted(stats.documents, 'document')} "
            f"({counted(stats.passages, 'passage')}), read-only.")


def status_text(messages: list[str]) -> str:
    return "  \n".join(escape_text(m, limit=400) for m in messages)
