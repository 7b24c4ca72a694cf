"""The SQLite store of record: its tables, and the statements the index runs on them.

``meta`` holds two counters: ``version``, raised by every write, which the
ranking records to show which state it matches (store.py), and
``next_passage``, the next passage row id, so that ids only grow: a ranking
one write ahead can then name a passage that is gone, never another one.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import PurePath
from typing import Iterator

from .passages import Passage
from .ranking import body_of
from .readers import ReadFile

SCHEMA = """
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
CREATE INDEX IF NOT EXISTS documents_name ON documents(name);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- An index made when FTS5 ranked (before tantivy) starts at version 1, so that no ranking matches it.
INSERT OR IGNORE INTO meta VALUES ('version', EXISTS(SELECT 1 FROM passages));
INSERT OR IGNORE INTO meta VALUES ('next_passage', (SELECT coalesce(max(id), 0) + 1 FROM passages));
DROP TRIGGER IF EXISTS passages_ai;
DROP TRIGGER IF EXISTS passages_ad;
DROP TABLE IF EXISTS passages_fts;
"""


@dataclass(frozen=True, kw_only=True)
class Change:
    """One write's rows: documents whose passages went, passages that came (row, doc, passage),
    and what the caller is told (passages removed)."""

    removed_docs: list[int]
    added: list[tuple[int, int, Passage]]
    result: int = 0

    def ranking_rows(self) -> Iterator[tuple[int, int, str]]:
        """The added passages as the ranking indexes them: (row id, document id, body)."""
        return ((row, doc, body_of(p.title, p.heading, p.text)) for row, doc, p in self.added)


def version(db: sqlite3.Connection) -> int | None:
    """The write count; None for an index made before tantivy ranked, opened read-only."""
    try:
        return db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise


def set_version(db: sqlite3.Connection, value: int) -> None:
    db.execute("UPDATE meta SET value = ? WHERE key = 'version'", (value,))


def passage_count(db: sqlite3.Connection) -> int:
    return db.execute("SELECT count(*) FROM passages").fetchone()[0]


def replace_document(db: sqlite3.Connection, *, key: str, name: str, digest: str, size: int,
                     read: ReadFile) -> Change:
    """Store ``read`` as the document ``key``, dropping what that key held before."""
    old = db.execute("SELECT id FROM documents WHERE key = ?", (key,)).fetchone()
    removed = [old[0]] if old is not None else []
    if old is not None:
        db.execute("DELETE FROM passages WHERE doc_id = ?", (old[0],))
        db.execute("DELETE FROM documents WHERE id = ?", (old[0],))
    doc_id = db.execute(
        "INSERT INTO documents(key, name, kind, title, sha256, bytes, added) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (key, name, read.kind, read.title, digest, size, time.time())).lastrowid
    assert doc_id is not None, "sqlite3 sets lastrowid after every INSERT"
    first = db.execute("SELECT value FROM meta WHERE key = 'next_passage'").fetchone()[0]
    rows = [(first + i, doc_id, p) for i, p in enumerate(read.passages)]
    db.executemany(
        "INSERT INTO passages(id, doc_id, pid, title, heading, page, text) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ((row, doc, p.pid, p.title, p.heading, p.page, p.text) for row, doc, p in rows))
    db.execute("UPDATE meta SET value = ? WHERE key = 'next_passage'", (first + len(rows),))
    return Change(removed_docs=removed, added=rows)


def delete_document(db: sqlite3.Connection, key: str) -> Change | None:
    row = db.execute("SELECT id FROM documents WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    gone = db.execute("DELETE FROM passages WHERE doc_id = ?", (row[0],)).rowcount
    db.execute("DELETE FROM documents WHERE id = ?", (row[0],))
    return Change(removed_docs=[row[0]], added=[], result=gone)


def ranking_rows(db: sqlite3.Connection) -> Iterator[tuple[int, int, str]]:
    """Every passage as the ranking indexes it: (row id, document id, body)."""
    for row, doc, title, heading, text in db.execute("SELECT id, doc_id, title, heading, text FROM passages"):
        yield row, doc, body_of(title, heading, text)


@dataclass(frozen=True, kw_only=True)
class StoredPassage:
    pid: str
    file: str
    title: str
    text: str
    page: int | None
    heading: str | None


def passages_by_id(db: sqlite3.Connection, ids: list[int], *, label: dict[str, str]) -> dict[int, StoredPassage]:
    """row id -> the passage, for the ids that still exist. ``file`` and ``pid`` name the
    document by its ``label`` (``labels``) when it has one, so that two ``notes.txt`` in
    different folders give ``a/notes.txt#1`` and ``b/notes.txt#1``."""
    if not ids:
        return {}
    sql = ("SELECT p.id, p.pid, d.key, d.name, d.kind, p.title, p.text, p.page, p.heading FROM passages AS p "
           f"JOIN documents AS d ON d.id = p.doc_id WHERE p.id IN ({','.join('?' * len(ids))})")
    found = {}
    for row, pid, key, name, kind, title, text, page, heading in db.execute(sql, ids):
        file = label.get(key, name)
        # A corpus row keeps its corpus's own id: Search-R1's tools may key by it.
        if kind != "jsonl" and pid.startswith(f"{name}#"):
            pid = file + pid[len(name):]
        found[row] = StoredPassage(pid=pid, file=file, title=title, text=text, page=page, heading=heading)
    return found


def document_pages(db: sqlite3.Connection, file: str, *, label: dict[str, str]) -> list[tuple[int | None, str]]:
    """(page, text) of every passage of the document people see as ``file`` (its label or its
    name), in order; [] when there is no such document. A corpus (.jsonl) is no document to read."""
    keys = [key for key, shown in label.items() if shown == file]
    if not keys:
        keys = [key for (key,) in db.execute("SELECT key FROM documents WHERE name = ? AND kind != 'jsonl'", (file,))
                if key not in label]
    if len(keys) != 1:
        return []
    sql = ("SELECT p.page, p.text FROM passages AS p JOIN documents AS d ON d.id = p.doc_id "
           "WHERE d.key = ? AND d.kind != 'jsonl' ORDER BY p.id")
    return [(page, text) for page, text in db.execute(sql, (keys[0],))]


def labels(db: sqlite3.Connection) -> dict[str, str]:
    """key -> the shortest end of its path that no other document of the same name shares, for
    the documents whose name is not unique in the index."""
    sql = ("SELECT name, key FROM documents WHERE name IN "
           "(SELECT name FROM documents GROUP BY name HAVING count(*) > 1)")
    by_name: dict[str, list[str]] = {}
    for name, key in db.execute(sql):
        by_name.setdefault(name, []).append(key)
    found: dict[str, str] = {}
    for keys in by_name.values():
        parts = {key: PurePath(key).parts for key in keys}
        ends = {key: key for key in keys}
        for depth in range(2, max(map(len, parts.values())) + 1):
            shorter = {key: "/".join(p[-depth:]) for key, p in parts.items()}
            if len(set(shorter.values())) == len(shorter):
                ends = shorter
                break
        found.update(ends)
    return found
