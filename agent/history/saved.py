"""What the history store hands out: a conversation's line in the list (``Summary``), a saved
conversation with its turns and shown branch (``Saved``), and the owner a browser's secret
stands for."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from ..records.conversation import Conversation as Record
from ..records.timed import TimedTurn
from ..records.trace import Meta, TimedEvent
from ..text.control import visible_line
from .errors import HistoryError

MAX_TITLE = 200


def owner_key(secret: str) -> str:
    """The owner a browser's secret stands for: its hash (the database never holds the secret)."""
    if not isinstance(secret, str) or len(secret) < 16:
        raise HistoryError(f"a browser secret must be a string of at least 16 characters, got {secret!r}")
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def clean_title(text: str) -> str:
    """A title on one line, without control or format characters, at most ``MAX_TITLE`` long."""
    title = visible_line(text)
    return (title[:MAX_TITLE - 1] + "…" if len(title) > MAX_TITLE else title) or "Untitled"


@dataclass(frozen=True, kw_only=True)
class Summary:
    """One line of the history list."""

    id: str
    title: str
    created: float
    updated: float
    turns: int
    bytes: int
    shared: bool
    owner: str = ""


@dataclass(frozen=True, kw_only=True)
class Saved:
    """A saved conversation: its line in the list, its turns (the record's, with their times) in
    the order they were asked, and the branch it shows (``head``)."""

    summary: Summary
    turns: dict[str, TimedTurn]
    head: str | None
    problems: list[str] = field(default_factory=list)  # turns that could not be read, by number

    @property
    def record(self) -> Record:
        """The conversation record (every branch kept), as the chat and the model's memory read it."""
        return Record(turns={k: t.turn for k, t in self.turns.items()}, head=self.head, keep_branches=True)

    def path(self) -> list[TimedTurn]:
        """The turns of the shown branch, oldest first."""
        return [self.turns[t.id] for t in self.record.path()]

    def branches(self) -> list[tuple[int, int]]:
        """Per turn of the shown branch: its place among the branches at that point (from 1) and
        how many there are; ``(1, 1)`` where there is no other."""
        record = self.record
        places = []
        for turn in record.path():
            siblings = [t.id for t in record.siblings(turn.id)]
            places.append((siblings.index(turn.id) + 1, len(siblings)))
        return places

    def runs(self) -> list[tuple[Meta, list[TimedEvent]]]:
        """The shown branch's answers as ``(meta, timed events)``: a trace's runs, for reports."""
        return [(t.meta, t.timed()) for t in self.path() if t.turn.kind == "answer" and t.turn.finished]
