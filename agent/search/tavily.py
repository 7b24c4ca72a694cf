"""Tavily web search, with every failure mapped to a ``SearchError``.

``tavily-python`` (0.8.x) talks to the API through a ``requests.Session``. It turns
401/403/429/400 into its own exception types, catches ``requests`` timeouts and
re-raises them as ``tavily.errors.TimeoutError``, and leaves every other status
(5xx included) to ``response.raise_for_status()``, i.e. ``requests.HTTPError``.
Connection failures escape as plain ``requests`` exceptions.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Sequence

import requests
from tavily import TavilyClient
from tavily.errors import (
    BadRequestError,
    ForbiddenError,
    InvalidAPIKeyError,
    MissingAPIKeyError,
    UsageLimitExceededError,
)
from tavily.errors import TimeoutError as TavilyTimeoutError

from agent.search.base import SearchError, SearchProvider, SearchResult, clean_text, results_from_items

from ..config import Settings

if TYPE_CHECKING:
    from ..index import DocumentIndex

log = logging.getLogger(__name__)

# The API caps both of these; asking for more is a 400, not more results.
_MAX_TIMEOUT_S = 120.0
_MAX_RESULTS = 20

_FALLBACK = "or use --provider duckduckgo"


class TavilyProvider:
    name = "tavily"

    def __init__(self, *, api_key: str | None, timeout_s: float, content_chars: int) -> None:
        self._api_key = (api_key or "").strip() or None
        self._timeout_s = min(float(timeout_s), _MAX_TIMEOUT_S)
        self._content_chars = content_chars
        # Built lazily: without a key TavilyClient would silently run keyless
        # (rate-limited, unattributed), so search() refuses before it exists.
        self._client: TavilyClient | None = None

    def __repr__(self) -> str:  # never show the key
        return f"TavilyProvider(timeout_s={self._timeout_s!r}, content_chars={self._content_chars!r})"

    def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        if self._api_key is None:
            raise self._error(
                f"Tavily needs TAVILY_API_KEY; set it in .env or the environment, {_FALLBACK}",
                retryable=False,
            )
        if not query.strip():
            raise self._error("The search query is empty; search for something specific", retryable=False)
        limit = max(1, min(max_results, _MAX_RESULTS))
        try:
            response = self._get_client().search(
                query,
                search_depth="basic",
                max_results=limit,
                include_answer=False,
                timeout=self._timeout_s,
            )
        except (InvalidAPIKeyError, MissingAPIKeyError, ForbiddenError):
            # `from None`: the original exception text comes from the server and
            # is not ours to vouch for; it must not drag the key into a traceback.
            raise self._error(
                "Tavily rejected the API key (or the plan does not allow this search); "
                f"check TAVILY_API_KEY and your Tavily plan, {_FALLBACK}",
                retryable=False,
            ) from None
        except UsageLimitExceededError:  # TavilyKeylessLimitError is a subclass
            raise self._rate_limited() from None
        except BadRequestError as exc:
            # The server's reason (e.g. "query too long") tells the model how to
            # rephrase, so keep it, scrubbed of the key just in case.
            reason = self._scrub(clean_text(str(exc), limit=200))
            detail = f": {reason}" if reason else ""
            raise self._error(
                f"Tavily refused the query as invalid{detail}; rephrase or shorten it",
                retryable=False,
            ) from None
        except TavilyTimeoutError:
            raise self._timed_out() from None
        except requests.HTTPError as exc:
            raise self._http_status_error(exc) from None
        except requests.Timeout:  # ConnectTimeout escapes tavily's own Timeout catch
            raise self._timed_out() from None
        except requests.ConnectionError:
            raise self._error(
                f"Could not reach Tavily; check the network connection, {_FALLBACK}",
                retryable=True,
            ) from None
        except requests.RequestException:  # includes a 200 whose body is not JSON
            raise self._error(
                f"Tavily sent a response that could not be read; try again later, {_FALLBACK}",
                retryable=True,
            ) from None
        except Exception:  # noqa: BLE001 - last resort: keep the contract, hide the text
            log.warning("Tavily search failed unexpectedly", exc_info=True)
            raise self._error(
                f"Tavily search failed unexpectedly; try again, {_FALLBACK}", retryable=False
            ) from None
        return self._results(response, limit=limit)

    def _get_client(self) -> TavilyClient:
        if self._client is None:
            self._client = TavilyClient(api_key=self._api_key)
        return self._client

    def _results(self, response: Any, *, limit: int) -> list[SearchResult]:
        raw = response.get("results") if isinstance(response, dict) else None
        return results_from_items(raw, title="title", url="url", content="content",
                                  content_chars=self._content_chars, limit=limit)

    def _http_status_error(self, exc: requests.HTTPError) -> SearchError:
        status = exc.response.status_code if exc.response is not None else None
        if status == 429:
            return self._rate_limited()
        if status is not None and status >= 500:
            return self._error(
                f"Tavily had a server error (HTTP {status}); try again shortly, {_FALLBACK}",
                retryable=True,
            )
        shown = f"HTTP {status}" if status is not None else "an HTTP error"
        return self._error(f"Tavily answered with {shown}; {_FALLBACK}", retryable=False)

    def _rate_limited(self) -> SearchError:
        return self._error(
            f"Tavily rate limited the search (or the plan's usage limit is reached); "
            f"wait a moment and retry, {_FALLBACK}",
            retryable=True,
        )

    def _timed_out(self) -> SearchError:
        return self._error(
            f"Tavily did not answer within {self._timeout_s:g} s; try again, {_FALLBACK}",
            retryable=True,
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _error(self, message: str, *, retryable: bool) -> SearchError:
        return SearchError(message, provider=self.name, retryable=retryable)


# The registry's factory (agent/registry.py: provider "tavily"), and the one "auto" builds first.

def providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    return [provider(settings)]


def provider(settings: Settings) -> TavilyProvider:
    return TavilyProvider(api_key=settings.tavily_api_key, timeout_s=settings.search_timeout_s,
                          content_chars=settings.result_chars)
