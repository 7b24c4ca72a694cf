"""What the document index gives back: outcomes of adds, hits, listings, and its one error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import DocumentIndexError
from ..text.counts import counted


class IndexUnavailable(DocumentIndexError, RuntimeError):
    """The index cannot be opened or written; the message names the directory and the fix."""


class IndexBusy(IndexUnavailable):
    """Another process held the index's write lock past the wait: try again later."""


@dataclass(frozen=True, kw_only=True)
class AddOutcome:
    """What ``add`` did with one file; ``message`` is the line printed for it."""

    status: Literal["added", "updated", "unchanged", "skipped"]
    name: str
    passages: int = 0
    reason: str | None = None
    # Part of the file left out past a bound on what one file may give (a PDF's pages), in words.
    skipped_part: str | None = None

    @property
    def message(self) -> str:
        if self.status == "skipped":
            return f"skipped {self.reason}"
        line = f"{self.status} {self.name} ({counted(self.passages, 'passage')})"
        return f"{line}; {self.skipped_part}" if self.skipped_part else line


@dataclass(frozen=True, kw_only=True)
class Hit:
    """A passage that matched a query, with where it came from."""

    pid: str
    file: str
    title: str
    text: str
    score: float
    page: int | None = None
    heading: str | None = None


@dataclass(frozen=True, kw_only=True)
class DocumentInfo:
    key: str
    name: str
    kind: str
    title: str
    passages: int


@dataclass(frozen=True, kw_only=True)
class IndexStats:
    documents: int
    passages: int
    bytes_on_disk: int
