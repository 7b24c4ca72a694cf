"""The saved history beside the chat: the list, open, rename, delete, search, Share.

A browser is known by a random secret kept in its local storage (``gr.BrowserState``, encrypted
with a key kept in the data folder, so it still reads after the app restarts); the store holds
only its hash (``agent.history``). After each finished answer its recording is saved as a turn of
the open conversation. Opening a conversation rebuilds the chat from the saved record with the
same ``AnswerView`` the live chat uses (so panels, citation numbers, cards and stats are the
same) and gives the model back its memory (``record.memory``), so a follow-up continues it.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.api import (HistoryConfig, HistoryError, HistoryStore, HistoryUnavailable, Saved, open_store, owner_key,
                       player_html, turn_from_run)

from .branches import TurnViews, path_messages

log = logging.getLogger(__name__)

KEY_FILE = "browser-state.key"
GROUPS = ("Today", "Previous 7 days", "Older")
LIST_LIMIT = 200  # entries shown; search finds the rest


@dataclass
class SavedHistory:
    """The store shared by every session, or why there is none (``off``)."""

    store: HistoryStore | None
    off: str | None = None
    key: str | None = None  # encrypts the browser's secret in its local storage
    share_links: bool = False

    @classmethod
    def open(cls, config: HistoryConfig) -> "SavedHistory":
        try:
            store = open_store(config)
        except HistoryUnavailable as exc:
            log.warning("history is off: %s", exc)
            return cls(store=None, off=str(exc))
        return cls(store=store, key=_browser_key(config.data_dir), share_links=config.share_links)

    def status(self) -> str:
        if self.store is None:
            return f"History is off: {self.off}."
        return self.store.notice and f"⚠ {self.store.notice}." or ""

    def owner(self, secret: Any) -> str | None:
        try:
            return owner_key(secret) if self.store is not None and isinstance(secret, str) else None
        except HistoryError:
            return None

    def keep(self, owner: str, session: Any) -> str | None:
        """Save the finished answers waiting in ``session.to_save`` (``ui.session.Unsaved``), oldest
        first, into the session's conversation, each under the same turn id and parent as the
        chat's record; a message for the person when one could not be saved (a bound reached)."""
        if self.store is None or session is None:
            return None
        while session.to_save:
            unsaved = session.to_save.pop(0)
            live = unsaved.turn
            turn = turn_from_run(unsaved.meta, unsaved.timed, parent=_saved_ancestor(session, live), kind=live.kind)
            turn.turn.id = live.id
            # A branch made by Continue from here keeps where it came from (``Turn.fork_of``).
            turn.turn.fork_of, turn.turn.fork_at = live.fork_of, live.fork_at
            turn.fork_at = live.fork_at
            try:
                session.saved_id = self.store.add_turn(owner, session.saved_id, turn)
            except HistoryError as exc:
                return str(exc)
            except OSError:
                log.exception("cannot save this answer to the history")
                continue
            session.saved_turns.add(live.id)
        return None

    def show(self, owner: str, session: Any) -> str | None:
        """The branch the chat shows is the one the saved conversation opens on (its newest saved
        turn: a stopped answer at its end is not saved); a message when that could not be kept."""
        head = session.record.head
        if head is not None and head not in session.saved_turns:
            head = _saved_ancestor(session, session.record.turns[head])
        if self.store is None or head is None:
            return None
        try:
            self.store.set_active(owner, session.saved_id, head)
        except HistoryError as exc:
            return str(exc)
        return None


def _saved_ancestor(session: Any, live: Any) -> str | None:
    """The nearest turn before ``live`` that is saved: a stopped answer or a replay is not, and
    a turn saved under it would hang from a parent the history does not have."""
    turns, parent = session.record.turns, live.parent
    while parent is not None and parent not in session.saved_turns:
        parent = turns[parent].parent if parent in turns else None
    return parent


def _browser_key(folder: Path) -> str | None:
    """The BrowserState key, made once per data folder (0600): a per-process key would make
    every browser's secret unreadable after a restart."""
    path = folder / KEY_FILE
    try:
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
        return path.read_text(encoding="utf-8").strip() or None
    except FileExistsError:  # another process made it first
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        log.exception("cannot keep the browser-state key in %s", folder)
        return None


def group_of(updated: float, now: float | None = None) -> str:
    now = time.time() if now is None else now
    today = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
    if updated >= today:
        return GROUPS[0]
    return GROUPS[1] if updated >= today - 7 * 86400 else GROUPS[2]


def chat_messages(saved: Saved, *, max_searches: int, secrets: tuple[str, ...] = (),
                  views: TurnViews | None = None) -> list[Any]:
    """The chat of the shown branch, as the live chat drew it: one ``AnswerView`` per turn fed
    with the saved events, on a clock that reads their recorded times (``ui/branches.py``);
    ``views`` keeps how each turn was drawn, for switching branches later."""
    views = views if views is not None else TurnViews()
    views.timed = dict(saved.turns)
    record = saved.record
    return path_messages(record, views, record.path(), max_searches=max_searches, secrets=secrets)


def player_file(saved: Saved) -> str | None:
    """The share player of ``saved`` (every branch; it plays the one shown by default), written
    to a fresh temporary file."""
    if not saved.path():
        return None
    folder = Path(tempfile.mkdtemp(prefix="deepsearch-share-"))
    path = folder / "deepsearch-conversation-player.html"
    path.write_text(player_html(saved.summary.title, list(saved.turns.values()), head=saved.head), encoding="utf-8")
    return str(path)


