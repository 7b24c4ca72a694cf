"""Search providers behind one protocol, chained for retry and failover."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..config import Settings
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
    """The provider chain the settings ask for (``agent.registry``: each provider's factory, in
    the provider's own module: ``auto``, ``tavily``, ``local``...). ``own_indexes`` are a
    visitor's uploads. Provider modules import lazily so a fixture run never loads network clients.
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
    from .local import provider

    return SearchChain([provider(settings, own_indexes)], backoff_s=settings.search_retry_backoff_s)


def documents_about(chain: SearchChain) -> str:
    """What a chain of document providers holds, for the system prompt."""
    parts = [describe() for p in chain.providers if (describe := getattr(p, "describe", None))]
    return "; ".join(parts) or "a collection of text passages"
