"""Retry with backoff, then fail over to the next provider.

Every search goes through a chain, even a chain of one, so retry and failover
behave the same whichever provider is configured.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Sequence

from ..config import encodable
from ..errors import AllProvidersFailed, SearchCancelled, SearchError, UsageError
from .base import SearchProvider, SearchResult


@dataclass(frozen=True)
class ChainAnswer:
    provider: str
    results: list[SearchResult]


class SearchChain:
    def __init__(self, providers: Sequence[SearchProvider], *, backoff_s: float) -> None:
        if not providers:
            raise UsageError("a search chain needs at least one provider")
        self.providers = list(providers)
        self._backoff_s = backoff_s

    @property
    def name(self) -> str:
        return "+".join(p.name for p in self.providers)

    def search(self, query: str, *, max_results: int, cancel: threading.Event | None = None) -> ChainAnswer:
        cancel = cancel or threading.Event()
        query = encodable(query)  # no provider, log or event can write a lone surrogate
        failures: list[str] = []
        for provider in self.providers:
            for attempt in (1, 2):
                try:
                    return ChainAnswer(provider.name, provider.search(query, max_results=max_results))
                except SearchError as exc:
                    reason = str(exc)
                    if not exc.retryable or attempt == 2:
                        failures.append(f"{provider.name}: {reason}")
                        break
                # Retryable (timeout, 429, 5xx): one retry after a short backoff.
                # Waiting on the cancel event keeps Stop responsive meanwhile.
                if cancel.wait(self._backoff_s):
                    raise SearchCancelled(f"search for {query!r} cancelled")
        raise AllProvidersFailed("; ".join(failures))
