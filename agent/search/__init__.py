"""Search providers behind one protocol, chained for retry and failover."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..config import Settings, SettingsError
from .base import SearchError, SearchProvider, SearchResult
from .chain import AllProvidersFailed, ChainAnswer, SearchChain
from .sources import Source, SourceRegistry

if TYPE_CHECKING:
    from ..index import DocumentIndex

__all__ = [
    "AllProvidersFailed", "ChainAnswer", "SearchChain", "SearchError", "SearchProvider",
    "SearchResult", "Source", "SourceRegistry", "build_documents", "build_search", "documents_about",
]


def build_search(settings: Settings, *, own_indexes: Sequence[DocumentIndex] = ()) -> SearchChain:
    """The provider chain the settings ask for.

    ``auto`` is Tavily when a key is configured, then DuckDuckGo as failover;
    without a key it is DuckDuckGo alone. ``local`` searches the document index
    (plus ``own_indexes``, a visitor's uploads), ``retriever`` a /retrieve server.
    Provider modules import lazily so a fixture run never loads network clients.
    """
    chars = settings.result_chars
    match settings.provider:
        case "local":
            providers = [_local(settings, own_indexes)]
        case "retriever":
            from .retriever import RetrieverProvider

            providers = [RetrieverProvider(url=settings.retriever_url or "", timeout_s=settings.search_timeout_s,
                                           content_chars=chars)]
        case "fixture":
            from .fixture import FixtureProvider

            if not settings.search_fixture:
                raise SettingsError("provider 'fixture' needs a search fixture file (--search-fixture FILE)")
            providers: list[SearchProvider] = [
                FixtureProvider.from_file(settings.search_fixture, content_chars=chars)
            ]
        case "tavily":
            providers = [_tavily(settings)]
        case "duckduckgo":
            providers = [_duckduckgo(settings)]
        case "auto":
            providers = [_tavily(settings), _duckduckgo(settings)] if settings.has_tavily_key \
                else [_duckduckgo(settings)]
    return SearchChain(providers, backoff_s=settings.search_retry_backoff_s)


def build_documents(settings: Settings, *, own_indexes: Sequence[DocumentIndex] = ()) -> SearchChain | None:
    """The ``search_documents`` tool's chain beside a web provider: the operator's index
    (``index_dir``, shared read-only) and ``own_indexes``; ``None`` when there is nothing
    to search or the main provider already searches documents."""
    if settings.provider in ("local", "retriever"):
        return None
    if not settings.index_dir and not own_indexes:
        return None
    return SearchChain([_local(settings, own_indexes)], backoff_s=settings.search_retry_backoff_s)


def documents_about(chain: SearchChain) -> str:
    """What a chain of document providers holds, for the system prompt."""
    parts = [describe() for p in chain.providers if (describe := getattr(p, "describe", None))]
    return "; ".join(parts) or "a collection of text passages"


def _local(settings: Settings, own_indexes: Sequence[DocumentIndex]) -> SearchProvider:
    from ..index import DocumentIndex, IndexUnavailable
    from .local import LocalProvider

    indexes = list(own_indexes)
    if settings.index_dir:
        try:
            # The operator's index is shared by every visitor, so nobody may write to it.
            indexes.insert(0, DocumentIndex(settings.index_dir, read_only=True))
        except IndexUnavailable as exc:
            raise SettingsError(str(exc)) from None
    return LocalProvider(indexes, content_chars=settings.result_chars)


def _tavily(settings: Settings) -> SearchProvider:
    from .tavily import TavilyProvider

    return TavilyProvider(api_key=settings.tavily_api_key, timeout_s=settings.search_timeout_s,
                          content_chars=settings.result_chars)


def _duckduckgo(settings: Settings) -> SearchProvider:
    from .duckduckgo import DuckDuckGoProvider

    return DuckDuckGoProvider(timeout_s=settings.search_timeout_s, content_chars=settings.result_chars,
                              min_interval_s=settings.ddg_min_interval_s)
