"""A provider that searches document indexes on this machine (``--provider local``,
and the ``search_documents`` tool).

Several indexes can be searched as one: an operator's shared index and a
visitor's own uploads. Their BM25 scores are merged as they are, which ranks
well enough for a handful of passages.
"""

from __future__ import annotations

import sqlite3
from typing import Sequence

from ..config import Settings, SettingsError
from ..index import DocumentIndex, IndexUnavailable
from ..text.counts import counted
from .base import SearchError, SearchProvider, SearchResult, document_result


MAX_NAMED = 10  # document names the system prompt lists


class LocalProvider:
    def __init__(self, indexes: Sequence[DocumentIndex], *, content_chars: int, name: str = "local",
                 when_empty: str | None = None) -> None:
        self._indexes = list(indexes)
        self._content_chars = content_chars
        self.name = name
        # Without any index: a search error saying this (the model is told), rather than no results.
        self._when_empty = when_empty

    def describe(self) -> str:
        """E.g. "3 documents (report.pdf, notes.md, page.html), 120 passages"."""
        docs = [d for index in self._indexes for d in index.documents()]
        names = ", ".join(d.name for d in docs[:MAX_NAMED])
        more = f" and {len(docs) - MAX_NAMED} more" if len(docs) > MAX_NAMED else ""
        passages = sum(d.passages for d in docs)
        if not docs:
            return "no documents yet"
        return f"{counted(len(docs), 'document')} ({names}{more}), {counted(passages, 'passage')}"

    def document_pages(self, file: str) -> list[tuple[int | None, str]]:
        """(page, text) of the whole document ``file``, from the first index that holds it."""
        for index in self._indexes:
            try:
                found = index.document_pages(file)
            except (sqlite3.Error, IndexUnavailable):
                continue
            if found:
                return found
        return []

    def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        if not self._indexes and self._when_empty:
            raise SearchError(self._when_empty, provider=self.name)
        hits = []
        for index in self._indexes:
            try:
                hits.extend(index.search(query, k=max_results))
            except (sqlite3.Error, IndexUnavailable) as exc:
                raise SearchError(f"the document index in {str(index.directory)!r} failed: {exc}",
                                  provider=self.name) from None
        hits.sort(key=lambda h: h.score, reverse=True)
        return [document_result(title=h.title, file=h.file, page=h.page, content=h.text,
                                content_chars=self._content_chars) for h in hits[:max_results]]


# The registry's factories (agent/registry.py: providers "local" and "uploads").

def providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    return [provider(settings, indexes)]


def upload_providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    """``uploads``: only this browser session's own documents, neither the web nor the operator's
    shared index; a search before any upload is a search error the model is told about."""
    return [LocalProvider(indexes, content_chars=settings.result_chars, name="uploads",
                          when_empty="no documents have been uploaded yet: there is nothing to search")]


def provider(settings: Settings, own_indexes: Sequence[DocumentIndex]) -> LocalProvider:
    """The operator's index (``index_dir``, shared read-only) and ``own_indexes``, searched as one."""
    indexes = list(own_indexes)
    if settings.index_dir:
        try:
            # The operator's index is shared by every visitor, so nobody may write to it.
            indexes.insert(0, DocumentIndex(settings.index_dir, read_only=True))
        except IndexUnavailable as exc:
            raise SettingsError(str(exc)) from None
    return LocalProvider(indexes, content_chars=settings.result_chars)
