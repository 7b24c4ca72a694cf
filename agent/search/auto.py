"""Provider "auto": Tavily when a key is configured, then DuckDuckGo as failover; DuckDuckGo alone
without a key (the Tavily client is then never imported)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..config import Settings
from .base import SearchProvider

if TYPE_CHECKING:
    from ..index import DocumentIndex


def providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    from . import duckduckgo

    if not settings.has_tavily_key:
        return [duckduckgo.provider(settings)]
    from . import tavily

    return [tavily.provider(settings), duckduckgo.provider(settings)]
