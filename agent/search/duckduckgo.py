"""DuckDuckGo (and friends) via ``ddgs``: keyless, so paced to avoid blocks.

``ddgs`` (9.x) fans a query out to several engines over its own ``primp`` client.
It signals "nothing found" by raising ``DDGSException("No results found.")`` when
every engine came back empty without an error; when an engine failed, the last
engine error is raised instead (``TimeoutException`` if it mentions a timeout).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ddgs import DDGS
from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

from agent.search.base import SearchError, SearchProvider, SearchResult, results_from_items

from ..config import Settings

if TYPE_CHECKING:
    from ..index import DocumentIndex

log = logging.getLogger(__name__)

# Exactly what ddgs raises when the engines answered but had nothing (ddgs.py,
# DDGS._search_sync). Matched loosely in case punctuation changes.
_NO_RESULTS = "no results found"

_FALLBACK = "or use --provider tavily"

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class _Pacer:
    """Spaces calls at least ``min_interval_s`` apart, start to start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: float | None = None

    def wait_turn(self, *, min_interval_s: float, clock: Clock, sleep: Sleep) -> None:
        # The lock is held while sleeping on purpose: concurrent callers queue
        # up and leave one interval apart instead of all waking together.
        with self._lock:
            if self._last is not None and min_interval_s > 0:
                # Capped so a clock that jumped (or a different clock) can
                # never stall a search for longer than one interval.
                remaining = min(self._last + min_interval_s - clock(), min_interval_s)
                if remaining > 0:
                    sleep(remaining)
            self._last = clock()


# Process-wide on purpose: DuckDuckGo rate-limits this machine's IP, not one
# provider object, and the UI builds a provider per request. One shared pacer is
# the only way concurrent chats stay under the limit together.
_PACER = _Pacer()


class DuckDuckGoProvider:
    name = "duckduckgo"

    def __init__(
        self,
        *,
        timeout_s: float,
        content_chars: int,
        min_interval_s: float,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._timeout_s = float(timeout_s)
        self._content_chars = content_chars
        self._min_interval_s = max(0.0, float(min_interval_s))
        self._clock = clock
        self._sleep = sleep

    def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        if not query.strip():
            raise self._error("The search query is empty; search for something specific", retryable=False)
        limit = max(1, max_results)
        _PACER.wait_turn(min_interval_s=self._min_interval_s, clock=self._clock, sleep=self._sleep)
        try:
            # ddgs annotates ``timeout: int`` but hands it to primp.Client, whose ``timeout`` is a float.
            raw = DDGS(timeout=self._timeout_s).text(  # type: ignore[arg-type]
                query, max_results=limit, backend="auto")
        except RatelimitException:
            raise self._error(
                f"DuckDuckGo rate limited the search; wait a few seconds and retry, {_FALLBACK}",
                retryable=True,
            ) from None
        except TimeoutException:
            raise self._error(
                f"DuckDuckGo did not answer within {self._timeout_s:g} s; try again, {_FALLBACK}",
                retryable=True,
            ) from None
        except DDGSException as exc:
            if _NO_RESULTS in str(exc).lower():
                return []
            raise self._error(
                "DuckDuckGo search failed (the engines may be blocking this machine or be "
                f"unreachable); try again later, {_FALLBACK}",
                retryable=False,
            ) from None
        except Exception:  # noqa: BLE001 - last resort: keep the contract, hide the text
            log.warning("DuckDuckGo search failed unexpectedly", exc_info=True)
            raise self._error(
                f"DuckDuckGo search failed unexpectedly; try again, {_FALLBACK}", retryable=False
            ) from None
        return self._results(raw, limit=limit)

    def _results(self, raw: Any, *, limit: int) -> list[SearchResult]:
        return results_from_items(raw, title="title", url="href", content="body",
                                  content_chars=self._content_chars, limit=limit)

    def _error(self, message: str, *, retryable: bool) -> SearchError:
        return SearchError(message, provider=self.name, retryable=retryable)


# The registry's factory (agent/registry.py: provider "duckduckgo"), and "auto"'s failover.

def providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    return [provider(settings)]


def provider(settings: Settings) -> DuckDuckGoProvider:
    return DuckDuckGoProvider(timeout_s=settings.search_timeout_s, content_chars=settings.result_chars,
                              min_interval_s=settings.ddg_min_interval_s)
