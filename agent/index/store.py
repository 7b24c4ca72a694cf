"""The on-disk index: one SQLite file with an FTS5 full-text table, ranked by BM25.

Why SQLite FTS5 (bench/index_bench.py measures it against bm25s): it is in the
standard library, persistent without a load step, incremental (a file's
passages are replaced in one transaction, so a failed add never loses what was
already indexed), and safe to read from many threads and processes at once.

A document is keyed by what added it (an absolute path from the CLI, a file
name for a browser upload) and remembered with the SHA-256 of its bytes, so
re-adding an unchanged file changes nothing and a changed one replaces its
passages.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .readers import ReadFile, UnreadableFile, read_file

DB_NAME = "index.sqlite3"
MAX_QUERY_TERMS = 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents(
    id INTEGER PRIMARY KEY,
    key TEXT UNIQUE NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    added REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS passages(
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    pid TEXT NOT NULL,
    title TEXT NOT NULL,
    heading TEXT,
    page INTEGER,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    title, heading, text, content='passages', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS passages_ai AFTER INSERT ON passages BEGIN
    INSERT INTO passages_fts(rowid, title, heading, text)
    VALUES (new.id, new.title, new.heading, new.text);
END;
CREATE TRIGGER IF NOT EXISTS passages_ad AFTER DELETE ON passages BEGIN
    INSERT INTO passages_fts(passages_fts, rowid, title, heading, text)
    VALUES ('delete', old.id, old.title, old.heading, old.text);
END;
"""

_TERM = re.compile(r"\w+", re.UNICODE)


class IndexUnavailable(RuntimeError):
    """The index cannot be opened or written; the message names the directory and the fix."""


@dataclass(frozen=True, kw_only=True)
class AddOutcome:
    """What ``add`` did with one file; ``message`` is the line printed for it."""

    status: Literal["added", "updated", "unchanged", "skipped"]
    name: str
    passages: int = 0
    reason: str | None = None

    @property
    def message(self) -> str:
        if self.status == "skipped":
            return f"skipped {self.reason}"
        return f"{self.status} {self.name} ({self.passages} passages)"


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


class DocumentIndex:
    """One index directory. Thread-safe: one connection behind a lock."""

    def __init__(self, directory: str | Path, *, read_only: bool = False, create: bool = True) -> None:
        self.directory = Path(directory)
        self.read_only = read_only
        db = self.directory / DB_NAME
        if not db.exists() and (read_only or not create):
            raise IndexUnavailable(f"no index in {str(self.directory)!r}; create one with "
                                   f"`python -m agent.index add FILES --index {self.directory}`")
        try:
            if read_only:
                self._db = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True,
                                           check_same_thread=False, timeout=5.0)
            else:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(db, check_same_thread=False, timeout=5.0)
                self._db.executescript(_SCHEMA)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.passages_vocab "
                             "USING fts5vocab(main, 'passages_fts', 'row')")
            self._db.execute("SELECT count(*) FROM documents").fetchone()
        except sqlite3.Error as exc:
            raise IndexUnavailable(f"cannot open the index in {str(self.directory)!r}: {exc}") from None
        self._lock = threading.Lock()
        self._writes = 0  # this connection's commits: another process's show in PRAGMA data_version
        self._count_cache: tuple[tuple[int, int], int] | None = None

    def close(self) -> None:
        with self._lock:
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
        self._replace(key, name, digest, len(data), read)
        return AddOutcome(status="updated" if known else "added", name=name, passages=len(read.passages))

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
        with self._lock, self._db:
            row = self._db.execute("SELECT id FROM documents WHERE key = ?", (key,)).fetchone()
            if row is None:
                return 0
            gone = self._db.execute("DELETE FROM passages WHERE doc_id = ?", (row[0],)).rowcount
            self._db.execute("DELETE FROM documents WHERE id = ?", (row[0],))
            self._writes += 1
            return gone

    def search(self, query: str, *, k: int = 5) -> list[Hit]:
        """The ``k`` best passages for ``query`` by BM25. Any text is a valid query: words are
        quoted, so FTS5 operators in it mean nothing."""
        terms = list(dict.fromkeys(_TERM.findall(query.casefold())))[:MAX_QUERY_TERMS]
        if not terms or k < 1:
            return []
        # The inner query alone is FTS5's ranked fast path; passages are joined to its k rows only.
        sql = ("SELECT p.pid, d.name, p.title, p.text, f.rank, p.page, p.heading FROM "
               "(SELECT rowid, rank FROM passages_fts WHERE passages_fts MATCH ? ORDER BY rank LIMIT ?) AS f "
               "JOIN passages AS p ON p.id = f.rowid JOIN documents AS d ON d.id = p.doc_id ORDER BY f.rank")
        with self._lock:
            match = " OR ".join(f'"{t}"' for t in self._informative(terms))
            rows = self._db.execute(sql, (match, k)).fetchall()
        return [Hit(pid=r[0], file=r[1], title=r[2], text=r[3], score=round(-r[4], 4), page=r[5],
                    heading=r[6]) for r in rows]

    def _informative(self, terms: list[str]) -> list[str]:
        """``terms`` without those in half the passages or more, or the rarest one if all are.

        FTS5's bm25() gives such a term an IDF of 1e-6 (its log((N - n + 0.5) / (n + 0.5)) is
        not positive), so it cannot change the ranking, yet scoring it means scoring half the
        index. A term is looked up as written: an inflected word that Porter stemming would
        change is simply kept. Call with the lock held.
        """
        total = self._passage_count()
        counts = {t: (row[0] if (row := self._db.execute(
            "SELECT doc FROM temp.passages_vocab WHERE term = ?", (t,)).fetchone()) else 0) for t in terms}
        kept = [t for t in terms if 2 * counts[t] < total]
        return kept or [min(terms, key=counts.__getitem__)]

    def _passage_count(self) -> int:
        """Passages in the index, counted again only after a write (ours or another process's)."""
        version = (self._db.execute("PRAGMA data_version").fetchone()[0], self._writes)
        if self._count_cache is None or self._count_cache[0] != version:
            self._count_cache = (version, self._db.execute("SELECT count(*) FROM passages").fetchone()[0])
        return self._count_cache[1]

    def documents(self) -> list[DocumentInfo]:
        sql = ("SELECT d.key, d.name, d.kind, d.title, count(p.id) FROM documents AS d "
               "LEFT JOIN passages AS p ON p.doc_id = d.id GROUP BY d.id ORDER BY d.added")
        with self._lock:
            rows = self._db.execute(sql).fetchall()
        return [DocumentInfo(key=r[0], name=r[1], kind=r[2], title=r[3], passages=r[4]) for r in rows]

    def stats(self) -> IndexStats:
        with self._lock:
            docs = self._db.execute("SELECT count(*) FROM documents").fetchone()[0]
            passages = self._db.execute("SELECT count(*) FROM passages").fetchone()[0]
        size = sum(f.stat().st_size for f in self.directory.glob(DB_NAME + "*"))
        return IndexStats(documents=docs, passages=passages, bytes_on_disk=size)

    def _count(self, doc_id: int) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM passages WHERE doc_id = ?", (doc_id,)).fetchone()[0]

    def _replace(self, key: str, name: str, digest: str, size: int, read: ReadFile) -> None:
        with self._lock, self._db:
            old = self._db.execute("SELECT id FROM documents WHERE key = ?", (key,)).fetchone()
            if old is not None:
                self._db.execute("DELETE FROM passages WHERE doc_id = ?", (old[0],))
                self._db.execute("DELETE FROM documents WHERE id = ?", (old[0],))
            doc_id = self._db.execute(
                "INSERT INTO documents(key, name, kind, title, sha256, bytes, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, name, read.kind, read.title, digest, size, time.time())).lastrowid
            self._db.executemany(
                "INSERT INTO passages(doc_id, pid, title, heading, page, text) VALUES (?, ?, ?, ?, ?, ?)",
                ((doc_id, p.pid, p.title, p.heading, p.page, p.text) for p in read.passages))
            self._writes += 1

    def _check_writable(self) -> None:
        if self.read_only:
            raise IndexUnavailable(f"the index in {str(self.directory)!r} is shared read-only; "
                                   f"documents cannot be added or removed here")

