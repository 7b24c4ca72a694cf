"""Search providers behind one protocol, chained for retry and failover."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..config import Settings, SettingsError
from ..registry import load, provider_spec
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
    """The provider chain the settings ask for (``agent.registry``: each provider's factory).

    ``auto`` is Tavily when a key is configured, then DuckDuckGo as failover;
    without a key it is DuckDuckGo alone. ``local`` searches the document index
    (plus ``own_indexes``, a visitor's uploads), ``retriever`` a /retrieve server.
    Provider modules import lazily so a fixture run never loads network clients.
    """
    factory = load(provider_spec(settings.provider).factory)
    providers: list[SearchProvider] = factory(settings=settings, indexes=own_indexes)
    return SearchChain(providers, backoff_s=settings.search_retry_backoff_s)


def build_documents(settings: Settings, *, own_indexes: Sequence[DocumentIndex] = ()) -> SearchChain | None:
    """The ``search_documents`` tool's chain beside a web provider: the operator's index
    (``index_dir``, shared read-only) and ``own_indexes``; ``None`` when there is nothing
    to search or the main provider already searches documents."""
    if provider_spec(settings.provider).searches_documents:
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


# The built-in providers' factories (agent/registry.py names them): settings -> providers in order.

def auto_providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    return [_tavily(settings), _duckduckgo(settings)] if settings.has_tavily_key else [_duckduckgo(settings)]


def tavily_providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    return [_tavily(settings)]


def duckduckgo_providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    return [_duckduckgo(settings)]


def local_providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    return [_local(settings, indexes)]


def upload_providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    """``uploads``: only this browser session's own documents, neither the web nor the operator's
    shared index; a search before any upload is a search error the model is told about."""
    from .local import LocalProvider

    return [LocalProvider(indexes, content_chars=settings.result_chars, name="uploads",
                          when_empty="no documents have been uploaded yet: there is nothing to search")]


def retriever_providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    from .retriever import RetrieverProvider

    return [RetrieverProvider(url=settings.retriever_url or "", timeout_s=settings.search_timeout_s,
                              content_chars=settings.result_chars)]


def fixture_providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    from .fixture import FixtureProvider

    if not settings.search_fixture:
        raise SettingsError("provider 'fixture' needs a search fixture file (--search-fixture FILE)")
    return [FixtureProvider.from_file(settings.search_fixture, content_chars=settings.result_chars)]


def _tavily(settings: Settings) -> SearchProvider:
    from .tavily import TavilyProvider

    return TavilyProvider(api_key=settings.tavily_api_key, timeout_s=settings.search_timeout_s,
                          content_chars=settings.result_chars)


def _duckduckgo(settings: Settings) -> SearchProvider:
    from .duckduckgo import DuckDuckGoProvider

    return DuckDuckGoProvider(timeout_s=settings.search_timeout_s, content_chars=settings.result_chars,
                              min_interval_s=settings.ddg_min_interval_s)
