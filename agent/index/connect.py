"""Opening the index's SQLite database, and what its failures say to a person: a writer's
connection (retried while another process holds the write lock), a reader's (an immutable
snapshot where WAL's shared memory cannot be created), a busy lock, a full disk."""

from __future__ import annotations

import errno
import logging
import sqlite3
import time
from pathlib import Path

from . import tables

# What SQLite says when a read-only connection cannot create the WAL's -shm file.
_NO_SHARED_MEMORY = {"SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN", "SQLITE_READONLY_CANTINIT"}

# How long a reader waits for a writer's lock (an index still in the rollback journal; WAL readers
# never wait) before the query fails as busy: the retriever server then answers 503.
READ_BUSY_TIMEOUT_S = 5.0

log = logging.getLogger(__name__)


def open_for_writing(db: Path, *, busy_timeout_s: float, wait_s: float) -> sqlite3.Connection:
    """A connection that writes ``db``, its schema in place; while another process holds the
    write lock, retried for ``wait_s`` (then SQLite's busy error is raised)."""
    connection = sqlite3.connect(db, check_same_thread=False, timeout=busy_timeout_s)
    deadline = time.monotonic() + wait_s
    pause = 0.05
    while True:
        try:
            # Readers never wait on a writer (see the module docstring); set once, kept in the file.
            connection.execute("PRAGMA journal_mode = WAL")
            connection.executescript(tables.SCHEMA)
            return connection
        except sqlite3.OperationalError as exc:
            if not busy(exc) or time.monotonic() + pause > deadline:
                connection.close()
                raise
        time.sleep(pause)
        pause = min(2 * pause, 1.0)


def open_for_reading(db: Path) -> sqlite3.Connection:
    """A read-only connection to ``db``; as an immutable snapshot when this account cannot
    create the WAL's shared-memory file next to it (a read-only mount, another account's folder
    while no writer has it open)."""
    uri = f"{db.resolve().as_uri()}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=READ_BUSY_TIMEOUT_S)
    try:
        connection.execute("SELECT count(*) FROM documents").fetchone()
        return connection
    except sqlite3.OperationalError as exc:
        connection.close()
        if getattr(exc, "sqlite_errorname", "") not in _NO_SHARED_MEMORY:
            raise
    log.warning("the index in %r is in a folder this account cannot write, so it is read as it is "
                "now: documents added later are seen after a restart", str(db.parent))
    connection = sqlite3.connect(f"{uri}&immutable=1", uri=True, check_same_thread=False)
    connection.execute("SELECT count(*) FROM documents").fetchone()
    return connection


def busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED") or "locked" in str(exc)


def disk_full(exc: BaseException) -> bool:
    return (getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or getattr(exc, "errno", None) == errno.ENOSPC
            or "disk is full" in str(exc) or "No space left" in str(exc))



def write_failure(where: str, exc: BaseException, *, wait_s: float) -> str:
    """What a write to the index in ``where`` that failed with ``exc`` says: why, and what to do."""
    if isinstance(exc, sqlite3.OperationalError) and busy(exc):
        return (f"the index in {where!r} stayed locked by another process (another add, or a long "
                f"read) for {wait_s:g} s; nothing was changed: try again when it has finished")
    if disk_full(exc):
        return (f"the disk holding the index in {where!r} is full; nothing was changed: free some "
                "space and add again")
    return f"the index in {where!r} could not be written ({exc}); nothing was changed"
