"""The on-disk index: SQLite stores the documents and passages, tantivy ranks them by BM25.

Why two engines (bench/index_bench.py measures them against bm25s; figures in
bench/RESULTS.md): SQLite (standard library) is the store of record: documents
with the SHA-256 of their bytes, passages with file, title, page and heading,
transactions, a write lock shared by every process, safe concurrent readers.
Its FTS5 ranking was too slow on large indexes (31.9 ms of CPU a query at 200k
passages, 4.8x bm25s), because FTS5 scores every matching row. tantivy
(ranking.py) answers it in 0.3 ms (0.21x bm25s) with block-max WAND, adds
incrementally, and opens from disk without a load step, which bm25s cannot (no
incremental add, a full load per process).

A document is keyed by what added it (an absolute path from the CLI, a file
name for a browser upload) and remembered with the SHA-256 of its bytes, so
re-adding an unchanged file changes nothing and a changed one replaces its
passages.

How the two stay in step is ``in_step.py``'s (the write's two commits, the reader's checks).

SQLite runs in WAL mode, set by the first writer and kept in the file: readers
(the /retrieve server, every browser session, ``search``) read the last commit
while a writer holds the write lock, instead of waiting on it past the busy
timeout. WAL needs an ``-shm`` file beside the database, which a read-only
connection creates when missing; where it cannot (a read-only mount, another
account's folder while no writer has it open), the index is read as an
immutable snapshot, with a warning line, and later adds are seen on restart.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

from . import tables
from .connect import busy, open_for_reading, open_for_writing, write_failure
from .in_step import DB_NAME, InStep
from .in_step import RANKING_DIR as RANKING_DIR
from .ranking import RankedRow, Ranking, RankingBroken, informative_terms, terms_of
from .readers import UnreadableFile, read_file
from .records import AddOutcome, DocumentInfo, Hit, IndexBusy, IndexStats, IndexUnavailable
from .tables import Change

MAX_QUERY_TERMS = 32
# A write waits this long for SQLite's write lock at a time, and retries until WRITE_WAIT_S.
BUSY_TIMEOUT_S = 5.0
WRITE_WAIT_S = 60.0

log = logging.getLogger(__name__)

class DocumentIndex(InStep):
    """One index directory. Thread-safe: one connection and one ranking behind a lock."""

    def __init__(self, directory: str | Path, *, read_only: bool = False, create: bool = True) -> None:
        self.directory = Path(directory)
        self.read_only = read_only
        db = self.directory / DB_NAME
        if not db.exists() and (read_only or not create):
            raise IndexUnavailable(f"no index in {str(self.directory)!r}; create one with "
                                   f"`python -m agent.index add FILES --index {self.directory}`")
        try:
            if read_only:
                self._db = open_for_reading(db)
            else:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._db = open_for_writing(db, busy_timeout_s=BUSY_TIMEOUT_S, wait_s=WRITE_WAIT_S)
            self._db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            if isinstance(exc, sqlite3.OperationalError) and busy(exc):
                raise IndexBusy(write_failure(str(self.directory), exc, wait_s=WRITE_WAIT_S)) from None
            raise IndexUnavailable(f"cannot open the index in {str(self.directory)!r}: {exc}") from None
        self._lock = threading.Lock()
        self._ranking: Ranking | None = None
        self._seen: int | None = None  # the SQLite version self._ranking was checked against
        self._labels_at: tuple[int, dict[str, str]] | None = None  # (version, tables.labels)
        if not read_only:
            try:
                with self._lock:
                    self._ranking_for_search()  # a writer repairs a missing or stale ranking at once
            except (sqlite3.Error, RankingBroken) as exc:
                self._db.close()
                raise IndexUnavailable(f"cannot check the ranking of the index in {str(self.directory)!r}: "
                                       f"{exc}") from None

    def close(self) -> None:
        with self._lock:
            self._ranking = None  # frees tantivy's files before a caller deletes the folder
            self._db.close()

    def __enter__(self) -> "DocumentIndex":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def add_bytes(self, data: bytes, *, key: str, name: str) -> AddOutcome:
        """Index ``data`` as the document ``key`` (shown as ``name``). The file is read and split
        before anything is written, and written in one transaction: a failure leaves the index
        as it was."""
        self._check_writable()
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            known = self._db.execute("SELECT sha256, id FROM documents WHERE key = ?", (key,)).fetchone()
        if known is not None and known[0] == digest:
            return AddOutcome(status="unchanged", name=name, passages=self._count(known[1]))
        try:
            read = read_file(Path(name), data, name=name)
        except UnreadableFile as exc:
            return AddOutcome(status="skipped", name=name, reason=str(exc))
        self._write(lambda: tables.replace_document(self._db, key=key, name=name, digest=digest,
                                                           size=len(data), read=read))
        return AddOutcome(status="updated" if known else "added", name=name, passages=len(read.passages),
                          skipped_part=read.skipped)

    def add_file(self, path: str | Path) -> AddOutcome:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            return AddOutcome(status="skipped", name=path.name,
                              reason=f"{path}: cannot be read ({exc.strerror or exc})")
        return self.add_bytes(data, key=str(path.resolve()), name=path.name)

    def remove(self, key: str) -> int:
        """Drop the document ``key``; returns how many passages went (0: it was not indexed)."""
        self._check_writable()
        return self._write(lambda: tables.delete_document(self._db, key))

    def search(self, query: str, *, k: int = 5) -> list[Hit]:
        """The ``k`` best passages for ``query`` by BM25. Any text is a valid query: its words
        are looked up as terms, never parsed, so operators in it mean nothing."""
        terms = terms_of(query)[:MAX_QUERY_TERMS]
        if not terms or k < 1:
            return []
        with self._lock:
            try:
                ranked = self._ranked(terms, k)
            except RankingBroken as exc:
                log.warning("%s; opening it again", exc)
                self._ranking, self._seen = None, None
                try:
                    ranked = self._ranked(terms, k)
                except RankingBroken as again:
                    raise IndexUnavailable(f"{again}; rebuild it with `python -m agent.index add FILE "
                                           f"--index {self.directory}`") from None
            rows = tables.passages_by_id(self._db, [r.row for r in ranked], label=self._labels())
        return [Hit(pid=p.pid, file=p.file, title=p.title, text=p.text, score=round(r.score, 4),
                    page=p.page, heading=p.heading) for r in ranked if (p := rows.get(r.row))]

    def document_pages(self, file: str) -> list[tuple[int | None, str]]:
        """The whole document ``file`` (as a search names it) as (page, passage text) in order,
        so a reader can select from all of it; [] when no single document has that name."""
        with self._lock:
            return tables.document_pages(self._db, file, label=self._labels())

    def query_terms(self, query: str) -> list[str]:
        """The words ``search`` matches ``query`` on: stemmed, each once, found in the index,
        without those in half the passages or more (see ``ranking.informative_terms``)."""
        terms = terms_of(query)[:MAX_QUERY_TERMS]
        with self._lock:
            return informative_terms(self._ranking_for_search(), terms) if terms else []

    def _labels(self) -> dict[str, str]:
        """Names for documents that share a file name, computed once per SQLite version (as
        checked by the last search), not per query. Call with the lock held."""
        if self._seen is None:
            return tables.labels(self._db)
        if self._labels_at is None or self._labels_at[0] != self._seen:
            self._labels_at = (self._seen, tables.labels(self._db))
        return self._labels_at[1]

    def _ranked(self, terms: list[str], k: int) -> list[RankedRow]:
        ranking = self._ranking_for_search()
        kept = informative_terms(ranking, terms)
        return ranking.search(kept, k=k) if kept else []

    def documents(self) -> list[DocumentInfo]:
        sql = ("SELECT d.key, d.name, d.kind, d.title, count(p.id) FROM documents AS d "
               "LEFT JOIN passages AS p ON p.doc_id = d.id GROUP BY d.id ORDER BY d.added")
        with self._lock:
            rows = self._db.execute(sql).fetchall()
        return [DocumentInfo(key=r[0], name=r[1], kind=r[2], title=r[3], passages=r[4]) for r in rows]

    def stats(self) -> IndexStats:
        """Counts and size on disk. The size is the index's own files as a later reader finds them:
        a writer first copies its WAL back into the database (as closing would), and SQLite's
        shared-memory file holds no data, so ``add`` and a later ``stats`` report one size."""
        with self._lock:
            docs = self._db.execute("SELECT count(*) FROM documents").fetchone()[0]
            passages = tables.passage_count(self._db)
            if not self.read_only:
                try:
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error as exc:  # a reader mid-read keeps the WAL: counted as it is
                    log.debug("the WAL of %r is counted as it is: %s", str(self.directory), exc)
        files = [f for f in (*self.directory.glob(DB_NAME + "*"), *self._ranking_dir.rglob("*"))
                 if not f.name.endswith("-shm")]
        size = sum(f.stat().st_size for f in files if f.is_file())
        return IndexStats(documents=docs, passages=passages, bytes_on_disk=size)

    def _count(self, doc_id: int) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM passages WHERE doc_id = ?", (doc_id,)).fetchone()[0]

    # ---------------------------------------------------------------- writes

    def _write(self, change: Callable[[], Change | None]) -> int:
        """One write, retried while another process holds the write lock (another ``add``, a
        reader's long transaction) for up to WRITE_WAIT_S; any failure is one
        ``IndexUnavailable`` that says what to do, with the index as it was before."""
        deadline = time.monotonic() + WRITE_WAIT_S
        pause = 0.05
        while True:
            with self._lock:
                try:
                    return self._write_locked(change)
                except sqlite3.OperationalError as exc:
                    if not busy(exc):
                        raise IndexUnavailable(self._write_failure(exc)) from None
                    if time.monotonic() + pause > deadline:
                        raise IndexBusy(self._write_failure(exc)) from None
                except (RankingBroken, sqlite3.Error, OSError, ValueError) as exc:
                    raise IndexUnavailable(self._write_failure(exc)) from None
            time.sleep(pause)  # outside the lock: this process's readers go on meanwhile
            pause = min(2 * pause, 1.0)

    def _write_failure(self, exc: BaseException) -> str:
        return write_failure(str(self.directory), exc, wait_s=WRITE_WAIT_S)

    def _check_writable(self) -> None:
        if self.read_only:
            raise IndexUnavailable(f"the index in {str(self.directory)!r} is shared read-only; "
                                   f"documents cannot be added or removed here")
