"""The ranking index: tantivy's BM25 over the passages that SQLite stores.

It holds, per passage, only what ranking needs: the passage's row id in
SQLite (``row``), its document's id (``doc``, so a document's passages go in
one delete), its words (``body``: title, heading and text, not stored) and
``passage`` = 1, whose document frequency counts the passages the way a word's
does (deleted ones included until tantivy merges them away).
One more document, the marker (``row`` 0), carries the version of the SQLite
store that the ranking matches; it is replaced in the same tantivy commit as
the passages, so the two can be compared at any time (see store.py for the
rule that keeps them in step). It also carries ``LAYOUT``, how the words were
cut: a ranking of another layout (or without one: before CJK text was cut into
bigrams, cjk.py) cannot be read and is rebuilt like a damaged one.

Everything here can be rebuilt from SQLite, so a missing or damaged ranking
directory is never a loss: the store rebuilds it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import tantivy

from ..config import encodable
from ..errors import DocumentIndexError
from .cjk import passage_grams, query_grams

TOKENIZER = "passage"
LAYOUT = 2  # raised whenever the words a passage is indexed under change
MAX_TERM_CHARS = 40
MARKER_ROW = 0
_WRITER_HEAP = 64_000_000  # tantivy's arena per indexing thread, allocated as it fills
_BIG_WRITE = 5_000  # passages from which a write indexes on more than one thread
_MAX_THREADS = 4
_META_FILES = ("meta.json", ".managed.json")
_META_LOCK = ".tantivy-meta.lock"


class RankingBroken(DocumentIndexError, RuntimeError):
    """The ranking directory cannot be opened or read; the store rebuilds it from SQLite."""


@dataclass(frozen=True, kw_only=True)
class RankedRow:
    row: int
    score: float


def _analyzer() -> tantivy.TextAnalyzer:
    """Words as SQLite FTS5's ``porter unicode61 remove_diacritics 2`` cut them: letters and
    digits of any script, lower case, accents folded, English stemming (Snowball's Porter2)."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(MAX_TERM_CHARS))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .filter(tantivy.Filter.stemmer("english"))
            .build())


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("row", indexed=True, fast=True)
    builder.add_integer_field("doc", indexed=True)
    builder.add_integer_field("version", fast=True)
    builder.add_integer_field("layout", fast=True)
    builder.add_integer_field("passage", indexed=True)
    # Term frequencies are all BM25 needs; positions (phrase queries) would only cost space.
    builder.add_text_field("body", tokenizer_name=TOKENIZER, index_option="freq")
    return builder.build()


SCHEMA = _schema()
ANALYZER = _analyzer()


def terms_of(query: str) -> list[str]:
    """The query's words as indexed, each once, in order. Any text is a valid query: nothing in
    it is parsed as an operator."""
    return list(dict.fromkeys(ANALYZER.analyze(query_grams(encodable(query)))))


def informative_terms(ranking: "Ranking", terms: list[str]) -> list[str]:
    """``terms`` found in the ranking, without those in half the passages or more, or the rarest
    one if all are.

    Such a word (``the``, or ``common`` in a folder of notes that all say it) barely moves
    BM25's order, yet matching it would pull in half the index: a query of ``common okapi``
    should find the okapi, not every note. Robertson's IDF, which FTS5 used, gives it no
    weight at all; tantivy's gives it a little, so it is left out here.
    """
    freqs, total = ranking.doc_freqs(terms)
    counts = {t: n for t, n in freqs.items() if n}
    kept = [t for t in counts if 2 * counts[t] < total]
    return kept or ([min(counts, key=counts.__getitem__)] if counts else [])


def body_of(title: str, heading: str | None, text: str) -> str:
    return passage_grams(encodable(f"{title}\n{heading or ''}\n{text}"))


class Ranking:
    """One tantivy index, on disk (``path``) or in memory (``path=None``). Not thread-safe:
    the store calls it under its lock."""

    def __init__(self, path: Path | None, *, create: bool) -> None:
        self.path = path
        try:
            if path is None:
                self._index = tantivy.Index(SCHEMA)
            elif create:
                path.mkdir(parents=True, exist_ok=True)
                self._index = tantivy.Index(SCHEMA, path=str(path), reuse=True)
            elif not tantivy.Index.exists(str(path)):
                raise RankingBroken(f"no ranking index in {str(path)!r}")
            else:
                self._index = tantivy.Index.open(str(path))
            self._index.register_tokenizer(TOKENIZER, _analyzer())
            # Readers reload when SQLite's version moves, not on tantivy's own file watcher.
            self._index.config_reader(reload_policy="manual")
            self.version = self._read_version()
        except ValueError as exc:
            raise RankingBroken(f"the ranking index in {str(path)!r} cannot be read: {exc}") from None

    def reload(self) -> None:
        try:
            self._index.reload()
            self.version = self._read_version()
        except ValueError as exc:
            raise RankingBroken(f"the ranking index in {str(self.path)!r} cannot be read: {exc}") from None

    def _read_version(self) -> int:
        """The SQLite version this ranking matches; a ranking never written matches version 0,
        a store never written."""
        searcher = self._index.searcher()
        searcher.doc_freq("passage", 1)  # raises for a ranking of another schema: it is rebuilt
        found = searcher.search(tantivy.Query.term_query(SCHEMA, "row", MARKER_ROW), 1, count=False).hits
        if not found:
            return 0
        address = found[0][1]
        (layout,) = searcher.fast_field_values("layout", [address])
        if layout != LAYOUT:
            raise RankingBroken(f"the ranking index in {str(self.path)!r} cuts words by layout {layout!r}, "
                                f"not {LAYOUT}")
        (value,) = searcher.fast_field_values("version", [address])
        return int(value or 0)

    def search(self, terms: list[str], *, k: int) -> list[RankedRow]:
        """The ``k`` best passages for ``terms`` (any of them), by tantivy's BM25."""
        subqueries = [(tantivy.Occur.Should, tantivy.Query.term_query(SCHEMA, "body", t, index_option="freq"))
                      for t in terms]
        try:
            searcher = self._index.searcher()
            hits = searcher.search(tantivy.Query.boolean_query(subqueries), k, count=False).hits
            rows = searcher.fast_field_values("row", [address for _score, address in hits])
        except ValueError as exc:
            raise RankingBroken(f"the ranking index in {str(self.path)!r} failed a search: {exc}") from None
        return [RankedRow(row=int(row), score=float(score)) for (score, _a), row in zip(hits, rows)
                if row is not None]

    def doc_freqs(self, terms: list[str]) -> tuple[dict[str, int], int]:
        """(passages holding each term, all passages), both counting deleted passages until
        tantivy merges them away, so that a file replaced many times does not make its words
        look common."""
        try:
            searcher = self._index.searcher()
            return {t: searcher.doc_freq("body", t) for t in terms}, searcher.doc_freq("passage", 1)
        except ValueError as exc:
            raise RankingBroken(f"the ranking index in {str(self.path)!r} failed a lookup: {exc}") from None

    def share(self, *, like: Path) -> None:
        """Let whoever may read ``like`` (the SQLite file) read this ranking too.

        tantivy writes its meta files owner-only and its readers lock ``.tantivy-meta.lock``
        for writing, so a reader of another account (a server reading an index that an operator
        built) needs both opened up; without it that reader ranks in memory, with a line saying so.
        """
        if self.path is None:
            return
        try:
            mode = like.stat().st_mode & 0o666
            for name in _META_FILES:
                os.chmod(self.path / name, mode)
            os.chmod(self.path / _META_LOCK, mode | (mode & 0o444) >> 1)
        except OSError:
            return  # not this account's files to change: the index's owner shares them

    def write(self, *, passages: int) -> "RankingWrite":
        threads = min(_MAX_THREADS, os.cpu_count() or 1) if passages >= _BIG_WRITE else 1
        try:
            writer = self._index.writer(heap_size=_WRITER_HEAP * threads, num_threads=threads)
        except ValueError as exc:
            raise RankingBroken(f"the ranking index in {str(self.path)!r} cannot be written: {exc}") from None
        return RankingWrite(self, writer)


class RankingWrite:
    """One batch of changes, visible to readers only once ``commit`` returns. Used as a context
    manager: leaving it without a commit discards the batch and frees the writer's lock."""

    def __init__(self, ranking: Ranking, writer: tantivy.IndexWriter) -> None:
        self._ranking = ranking
        self._writer: tantivy.IndexWriter | None = writer

    def __enter__(self) -> "RankingWrite":
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._writer is not None:
            self._writer.rollback()
            self._release()

    def delete_document(self, doc_id: int) -> None:
        self._active().delete_documents_by_term("doc", doc_id)

    def delete_everything(self) -> None:
        self._active().delete_all_documents()

    def add(self, rows: Iterable[tuple[int, int, str]]) -> None:
        """``rows``: (passage row id, document id, body text)."""
        writer = self._active()
        for row, doc, body in rows:
            writer.add_document(tantivy.Document(row=row, doc=doc, passage=1, body=body))

    def commit(self, version: int) -> None:
        """Make the batch visible, marked as matching the SQLite store's ``version``."""
        writer = self._active()
        writer.delete_documents_by_term("row", MARKER_ROW)
        writer.add_document(tantivy.Document(row=MARKER_ROW, version=version, layout=LAYOUT))
        try:
            writer.commit()
        except ValueError as exc:
            raise RankingBroken(f"the ranking index in {str(self._ranking.path)!r} "
                                f"could not commit: {exc}") from None
        self._release()
        self._ranking.reload()

    def _active(self) -> tantivy.IndexWriter:
        if self._writer is None:
            raise RuntimeError("this ranking write has ended; start another with Ranking.write()")
        return self._writer

    def _release(self) -> None:
        writer, self._writer = self._active(), None
        # Lets background merges finish and frees the directory's writer lock for the next write.
        writer.wait_merging_threads()
