"""A provider that answers from a JSON file: ``{query: [{"title", "url", "content"}]}``.

A value ``{"error": "message"}`` fails like a provider outage; an unknown query
returns no results. Used by tests, demos and the CLI's ``--search-fixture``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import UsageError
from ..files import lenient_key, read_json_file
from ..config import Settings, SettingsError
from .base import SearchError, SearchProvider, SearchResult, normalise

if TYPE_CHECKING:
    from ..index import DocumentIndex


class FixtureError(UsageError):
    """The fixture file is missing or malformed; the message names the file."""


class FixtureProvider:
    name = "fixture"

    def __init__(self, *, table: dict[str, Any], content_chars: int) -> None:
        self._table = {lenient_key(q): v for q, v in table.items()}
        self._content_chars = content_chars

    @classmethod
    def from_file(cls, path: str | Path, *, content_chars: int) -> "FixtureProvider":
        table = read_json_file(path, what="search fixture", error=FixtureError)
        if not isinstance(table, dict):
            raise FixtureError(
                f"search fixture {str(path)!r} must be a JSON object {{query: [results]}}, "
                f"got {type(table).__name__}"
            )
        return cls(table=table, content_chars=content_chars)

    def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        entry = self._table.get(lenient_key(query), [])
        if isinstance(entry, dict) and "error" in entry:
            raise SearchError(str(entry["error"]), provider=self.name, retryable=False)
        if not isinstance(entry, list):
            raise SearchError(f"fixture entry for {query!r} is not a list", provider=self.name)
        results = []
        for item in entry[:max_results]:
            if isinstance(item, dict):
                results.append(normalise(item.get("title"), item.get("url"), item.get("content"),
                                         content_chars=self._content_chars))
        return results


# The registry's factory (agent/registry.py: provider "fixture").

def providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    if not settings.search_fixture:
        raise SettingsError("provider 'fixture' needs a search fixture file (--search-fixture FILE)")
    return [FixtureProvider.from_file(settings.search_fixture, content_chars=settings.result_chars)]
