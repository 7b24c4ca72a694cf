"""Opening the history database: the data folder made, a damaged or newer database moved aside.

A database that SQLite cannot read, whose ``quick_check`` fails, or whose schema is newer than
this app's (a later version wrote it) is never overwritten: it is renamed with its ``-wal`` and
``-shm`` files to ``history.sqlite3.damaged-STAMP`` (or ``.newer-STAMP``), a fresh one is
started, and ``HistoryStore.notice`` says so. Two processes opening the same folder at once
take a lock file first, so the second never moves aside the database the first just made.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterator

from .config import HistoryConfig
from .errors import HistoryUnavailable
from .store import DB_NAME, SCHEMA_VERSION, HistoryStore

log = logging.getLogger(__name__)

LOCK_NAME = "history.lock"


def open_store(config: HistoryConfig) -> HistoryStore:
    """The store in ``config.data_dir``; ``HistoryUnavailable`` (with the reason) when history is
    off or the folder cannot be written. Nothing is created when ``config.enabled`` is false."""
    if not config.enabled:
        raise HistoryUnavailable("history is turned off (--no-history / DEEPSEARCH_HISTORY=0)")
    folder = config.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryUnavailable(f"the data folder {str(folder)!r} cannot be created "
                                 f"({exc.strerror or exc}); set DEEPSEARCH_DATA_DIR to a writable folder") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise HistoryUnavailable(f"the data folder {str(folder)!r} is read-only; "
                                 "set DEEPSEARCH_DATA_DIR to a writable folder")
    path = folder / DB_NAME
    try:
        with _folder_lock(folder):
            notice = _move_aside_if_unusable(path)
            store = HistoryStore(path, max_conversations=config.max_conversations, max_bytes=config.max_bytes,
                                 notice=notice)
    except (OSError, sqlite3.Error) as exc:
        raise HistoryUnavailable(f"the history database in {str(folder)!r} cannot be opened ({exc})") from None
    if notice:
        log.warning("%s", notice)
    return store


def _move_aside_if_unusable(path: Path) -> str | None:
    """Why the database at ``path`` was moved aside, or None when it is fine (or new)."""
    if not path.exists():
        return None
    reason = _unusable(path)
    if reason is None:
        return None
    kind, why = reason
    target = path.with_name(f"{path.name}.{kind}-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, Path(f"{target}{suffix}"))
    return (f"the history database was {why}; it was moved aside to {target.name} (nothing in it was "
            "changed) and a new, empty history was started")


def _unusable(path: Path) -> tuple[str, str] | None:
    try:  # read-only: checking must not change a single byte of a file that may be moved aside
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=15)
    except sqlite3.DatabaseError as exc:
        return "damaged", f"unreadable ({exc})"
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            return "newer", (f"written by a newer version of this app (schema {version}; this one reads "
                             f"up to {SCHEMA_VERSION})")
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            return "damaged", f"damaged ({check})"
        return None
    except sqlite3.DatabaseError as exc:
        return "damaged", f"unreadable ({exc})"
    finally:
        db.close()


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``history.lock`` while the database is checked and opened (POSIX;
    elsewhere SQLite's own locking is all there is)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(folder / LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
