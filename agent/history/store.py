"""The saved history: one SQLite database (``history.sqlite3``) in the data folder, the store of record.

Each browser is an *owner*: the SHA-256 of a random secret the browser keeps, so the database
never holds the secret itself and nobody reads another browser's conversations (every query
names its owner; the operator's CLI passes ``owner=None``). A conversation is a tree of turns;
each turn is the conversation record's ``Turn`` (``agent/records``: question, meta, the run's
events, parent link) as pydantic JSON, with the times of its events (``timed.TimedTurn``), so
nothing is ever parsed out of rendered HTML; any trace version becomes turns through
``read_trace`` (``timed.turn_from_run``).

Every write is one ``BEGIN IMMEDIATE`` transaction in WAL mode: a process killed mid-write
loses that write only, and two writers (two tabs, two app processes) wait for each other
(``busy_timeout``) instead of losing one. A database that is damaged or was written by a newer
schema is moved aside, never overwritten (``open_store``). Deleting really deletes:
``secure_delete`` zeroes the freed pages, and the WAL is checkpointed and truncated after it.
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ..events import Done
from .errors import HistoryFull, HistoryNotFound
from ..records.timed import SPANS, TURN, TimedTurn
from .saved import Saved, Summary, clean_title

SCHEMA_VERSION = 1
DB_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 15000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    bytes INTEGER NOT NULL DEFAULT 0,
    active TEXT,
    share_hash TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations(owner, updated DESC);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    parent TEXT,
    fork_at INTEGER,
    created REAL NOT NULL,
    search TEXT NOT NULL,
    turn TEXT NOT NULL,
    times TEXT NOT NULL,
    PRIMARY KEY (conversation, id),
    UNIQUE (conversation, seq)
);
"""


def new_conversation_id() -> str:
    """72 random bits, URL-safe, never beginning with "-": the operator names a conversation as a
    command-line argument (``python -m agent.history export ID``), where argparse reads a word
    beginning with "-" as an option (a random id did so about one time in 64)."""
    return "c" + secrets.token_urlsafe(9)


class HistoryStore:
    """The open database. Thread-safe: one connection, used under a lock (SQLite serialises
    writers across processes itself)."""

    def __init__(self, path: Path, *, max_conversations: int, max_bytes: int, notice: str | None = None) -> None:
        self.path = path
        self.max_conversations = max_conversations
        self.max_bytes = max_bytes
        self.notice = notice  # what happened at opening (a damaged database moved aside), for people
        self._lock = threading.Lock()
        self._db = connect(path)
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- reading --------------------------------------------------------

    def list(self, owner: str | None, *, query: str = "", limit: int | None = None) -> list[Summary]:
        """``owner``'s conversations, newest first; ``query`` keeps those whose title, questions
        or answers contain it (ignoring case)."""
        where, args = self._owned(owner)
        needle = _fold(query)
        if needle:
            where += (" AND (instr(fold(c.title), ?) OR EXISTS (SELECT 1 FROM turns s "
                      "WHERE s.conversation = c.id AND instr(s.search, ?)))")
            args += [needle, needle]
        sql = (f"SELECT c.id, c.title, c.created, c.updated, c.bytes, c.share_hash IS NOT NULL, c.owner, "
               f"(SELECT count(*) FROM turns t WHERE t.conversation = c.id) FROM conversations c "
               f"WHERE {where} ORDER BY c.updated DESC, c.rowid DESC")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [Summary(id=r[0], title=r[1], created=r[2], updated=r[3], bytes=r[4], shared=bool(r[5]),
                        owner=r[6], turns=r[7]) for r in rows]

    def load(self, owner: str | None, conversation: str) -> Saved:
        where, args = self._owned(owner)
        with self._lock:
            head = self._db.execute(
                f"SELECT c.id, c.title, c.created, c.updated, c.bytes, c.share_hash IS NOT NULL, c.owner, c.active "
                f"FROM conversations c WHERE c.id = ? AND {where}", [conversation, *args]).fetchone()
            if head is None:
                raise HistoryNotFound(f"no saved conversation {conversation!r}; `list` shows the ids")
            rows = self._db.execute("SELECT seq, fork_at, turn, times FROM turns WHERE conversation = ? "
                                    "ORDER BY seq", [conversation]).fetchall()
        turns: dict[str, TimedTurn] = {}
        problems = []
        for seq, fork_at, turn, times in rows:
            try:
                timed = TimedTurn(turn=TURN.validate_json(turn), times=SPANS.validate_json(times), fork_at=fork_at)
                if len(timed.times) != len(timed.turn.events):
                    raise ValueError(f"{len(timed.times)} times for {len(timed.turn.events)} events")
            except ValueError as exc:  # pydantic's ValidationError is one
                problems.append(f"turn {seq + 1} cannot be read ({_first_line(exc)}); it is left out")
                continue
            turns[timed.turn.id] = timed
        turns = _reachable(turns, problems)
        active = head[7] if head[7] in turns else next(reversed(turns), None)
        summary = Summary(id=head[0], title=head[1], created=head[2], updated=head[3], bytes=head[4],
                          shared=bool(head[5]), owner=head[6], turns=len(rows))
        return Saved(summary=summary, turns=turns, head=active, problems=problems)

    def by_share_token(self, token: str) -> Saved:
        """The conversation a share link names (read-only; revoked or unknown: ``HistoryNotFound``)."""
        with self._lock:
            row = self._db.execute("SELECT id FROM conversations WHERE share_hash = ?",
                                   [_token_hash(token)]).fetchone()
        if row is None:
            raise HistoryNotFound("this share link does not exist or was revoked")
        return self.load(None, row[0])

    # -- writing --------------------------------------------------------

    def add_turn(self, owner: str, conversation: str | None, timed: TimedTurn) -> str:
        """Save one turn (its ``parent`` says which turn it follows; one sharing a parent with
        another is a branch) and show its branch; returns the conversation's id.

        ``conversation=None`` starts a new conversation titled by the question. Raises
        ``HistoryFull`` at a bound, ``HistoryNotFound`` when the conversation was deleted.
        """
        turn = timed.turn
        data, times = TURN.dump_json(turn).decode(), SPANS.dump_json(timed.times).decode()
        size = len(data.encode("utf-8")) + len(times)
        if size > self.max_bytes:
            raise HistoryFull(f"this answer is too large to save ({size:,} bytes; a conversation may hold "
                              f"{self.max_bytes:,}); it stays on screen but is not in the history")
        done = turn.done
        search = _fold(f"{turn.question}\n{done.answer if done is not None else ''}")
        now = time.time()
        with self._write() as db:
            if conversation is None:
                conversation = self._create(db, owner, turn.question, now)
            row = db.execute("SELECT bytes FROM conversations WHERE id = ? AND owner = ?",
                             [conversation, owner]).fetchone()
            if row is None:
                raise HistoryNotFound(f"no saved conversation {conversation!r} for this browser (deleted?)")
            if row[0] + size > self.max_bytes:
                raise HistoryFull(f"this conversation has reached the history's size limit "
                                  f"({self.max_bytes / 1024 / 1024:g} MB); start a new chat to keep saving")
            seq = db.execute("SELECT coalesce(max(seq), -1) + 1 FROM turns WHERE conversation = ?",
                             [conversation]).fetchone()[0]
            db.execute("INSERT INTO turns (conversation, id, seq, parent, fork_at, created, search, turn, "
                       "times) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [conversation, turn.id, seq, turn.parent, timed.fork_at, now, search, data, times])
            db.execute("UPDATE conversations SET updated = ?, bytes = bytes + ?, active = ? WHERE id = ?",
                       [now, size, turn.id, conversation])
        return conversation

    def replace_done(self, owner: str, conversation: str, turn: str, done: Done) -> None:
        """The saved turn's ``done`` replaced by ``done`` (the same answer checked again by the
        model, ``agent.claims.model_check``): reopening shows the new verdicts. The event keeps its
        place and its time."""
        with self._write() as db:
            row = db.execute("SELECT t.turn FROM turns t JOIN conversations c ON c.id = t.conversation "
                             "WHERE t.conversation = ? AND t.id = ? AND c.owner = ?",
                             [conversation, turn, owner]).fetchone()
            if row is None:
                raise HistoryNotFound(f"no turn {turn!r} in conversation {conversation!r} for this browser")
            saved = TURN.validate_json(row[0])
            at = max((i for i, e in enumerate(saved.events) if isinstance(e, Done)), default=None)
            if at is None:
                raise HistoryNotFound(f"turn {turn!r} of conversation {conversation!r} has no answer to replace")
            saved.events[at] = done
            data = TURN.dump_json(saved).decode()
            db.execute("UPDATE turns SET turn = ? WHERE conversation = ? AND id = ?", [data, conversation, turn])
            db.execute("UPDATE conversations SET bytes = bytes + ? WHERE id = ?",
                       [len(data.encode("utf-8")) - len(row[0].encode("utf-8")), conversation])

    def set_active(self, owner: str | None, conversation: str, turn: str) -> None:
        """Show the branch that ends at ``turn`` when the conversation is opened next."""
        where, args = self._owned(owner)
        with self._write() as db:
            found = db.execute(f"UPDATE conversations SET active = ? WHERE id = ? AND {where.replace('c.', '')} "
                               "AND EXISTS (SELECT 1 FROM turns WHERE id = ? AND conversation = ?)",
                               [turn, conversation, *args, turn, conversation]).rowcount
        if not found:
            raise HistoryNotFound(f"no turn {turn!r} in conversation {conversation!r}")

    def rename(self, owner: str | None, conversation: str, title: str) -> str:
        where, args = self._owned(owner)
        title = clean_title(title)
        with self._write() as db:
            found = db.execute(f"UPDATE conversations SET title = ? WHERE id = ? AND {where.replace('c.', '')}",
                               [title, conversation, *args]).rowcount
        if not found:
            raise HistoryNotFound(f"no saved conversation {conversation!r}")
        return title

    def delete(self, owner: str | None, conversation: str) -> None:
        """Delete a conversation for good: its rows go, their pages are zeroed (``secure_delete``)
        and the WAL, which still holds the old pages, is checkpointed and truncated."""
        where, args = self._owned(owner)
        with self._write() as db:
            found = db.execute(f"DELETE FROM conversations WHERE id = ? AND {where.replace('c.', '')}",
                               [conversation, *args]).rowcount
        if not found:
            raise HistoryNotFound(f"no saved conversation {conversation!r}")
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def share(self, owner: str, conversation: str) -> str:
        """A new share token (256 bits) for ``conversation``; any earlier link stops working."""
        token = secrets.token_urlsafe(32)
        with self._write() as db:
            found = db.execute("UPDATE conversations SET share_hash = ? WHERE id = ? AND owner = ?",
                               [_token_hash(token), conversation, owner]).rowcount
        if not found:
            raise HistoryNotFound(f"no saved conversation {conversation!r}")
        return token

    def revoke(self, owner: str | None, conversation: str) -> None:
        where, args = self._owned(owner)
        with self._write() as db:
            db.execute(f"UPDATE conversations SET share_hash = NULL WHERE id = ? AND {where.replace('c.', '')}",
                       [conversation, *args])

    # -- helpers --------------------------------------------------------

    def _create(self, db: sqlite3.Connection, owner: str, question: str, now: float) -> str:
        count = db.execute("SELECT count(*) FROM conversations WHERE owner = ?", [owner]).fetchone()[0]
        if count >= self.max_conversations:
            raise HistoryFull(f"the history is full ({self.max_conversations:,} conversations are saved for "
                              "this browser); delete some to save new ones")
        conversation = new_conversation_id()
        db.execute("INSERT INTO conversations (id, owner, title, created, updated) VALUES (?, ?, ?, ?, ?)",
                   [conversation, owner, clean_title(question), now, now])
        return conversation

    @staticmethod
    def _owned(owner: str | None) -> tuple[str, builtins.list[Any]]:  # ``list`` is a method here
        return ("1", []) if owner is None else ("c.owner = ?", [owner])

    def _write(self) -> "_Transaction":
        return _Transaction(self._db, self._lock)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the store's lock; any exception rolls back."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return self._db

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        finally:
            self._lock.release()


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a crash loses no committed write's integrity
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA secure_delete = ON")
    db.create_function("fold", 1, _fold, deterministic=True)  # Unicode case folding, as the search column
    return db


def _reachable(turns: dict[str, TimedTurn], problems: list[str]) -> dict[str, TimedTurn]:
    """The turns whose every ancestor could be read (a branch under an unreadable turn cannot be shown)."""
    kept: dict[str, TimedTurn] = {}
    for key, timed in turns.items():  # in the order asked: a parent comes before its children
        parent = timed.turn.parent
        if parent is None or parent in kept:
            kept[key] = timed
    if len(kept) < len(turns):
        problems.append(f"{len(turns) - len(kept)} later turn(s) follow an unreadable one; they are left out")
    return kept


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _fold(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _token_hash(token: str) -> str:
    return hashlib.sha256(str(token).encode("utf-8")).hexdigest()
