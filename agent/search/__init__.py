"""Search providers behind one protocol, chained for retry and failover."""

from __future__ import annotations

from ..config import Settings
from .base import SearchError, SearchProvider, SearchResult
from .chain import AllProvidersFailed, ChainAnswer, SearchChain
from .sources import Source, SourceRegistry

__all__ = [
    "AllProvidersFailed", "ChainAnswer", "SearchChain", "SearchError", "SearchProvider",
    "SearchResult", "Source", "SourceRegistry", "build_search",
]


def build_search(settings: Settings) -> SearchChain:
    """The provider chain the settings ask for.

    ``auto`` is Tavily when a key is configured, then DuckDuckGo as failover;
    without a key it is DuckDuckGo alone. Provider modules import lazily so a
    fixture run never loads network clients.
    """
    chars = settings.result_chars
    match settings.provider:
        case "fixture":
            from .fixture import FixtureProvider

            if not settings.search_fixture:
                raise ValueError("provider 'fixture' needs a search fixture file (--search-fixture FILE)")
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


def _tavily(settings: Settings) -> SearchProvider:
    from .tavily import TavilyProvider

    return TavilyProvider(api_key=settings.tavily_api_key, timeout_s=settings.search_timeout_s,
                          content_chars=settings.result_chars)


def _duckduckgo(settings: Settings) -> SearchProvider:
    from .duckduckgo import DuckDuckGoProvider

    return DuckDuckGoProvider(timeout_s=settings.search_timeout_s, content_chars=settings.result_chars,
                              min_interval_s=settings.ddg_min_interval_s)
