"""A provider for any Search-R1-compatible ``POST /retrieve`` server (``--provider retriever``).

Search-R1's own e5/FAISS server over a 21M-passage Wikipedia, or ours
(``python -m agent.index serve``): this is how a corpus larger than one
machine is served. Passages are document sources: no URL, the server's
``file``/``page`` keys when it sends them, else the passage title.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Coroutine, Sequence

import httpx

from ..index.retrieve import RetrieveFormatError, hits_of_response
from ..config import Settings
from .base import SearchError, SearchProvider, SearchResult, document_result

if TYPE_CHECKING:
    from ..index import DocumentIndex

# One query's passages are kilobytes; a server that sends more is broken or hostile, and the whole
# answer would be held in memory.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024


def retrieve_endpoint(url: str) -> str:
    """``URL`` as given, or with ``/retrieve`` appended when it names only the server."""
    url = url.strip().rstrip("/")
    return url if url.endswith("/retrieve") else f"{url}/retrieve"


class RetrieverProvider:
    name = "retriever"

    def __init__(self, *, url: str, timeout_s: float, content_chars: int) -> None:
        self._endpoint = retrieve_endpoint(url)
        self._timeout_s = timeout_s
        self._content_chars = content_chars

    def describe(self) -> str:
        return "the passages of a retrieval server's corpus"

    def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        body = {"queries": [query], "topk": max_results, "return_scores": True}
        raw = self._post(body)
        try:
            data: Any = json.loads(raw)
            (hits,) = hits_of_response(data, query_count=1)
        # RecursionError: absurd nesting; OverflowError: a number no float holds (a score of 10**400).
        except (ValueError, RecursionError, OverflowError, RetrieveFormatError) as exc:
            raise SearchError(f"the retriever at {self._endpoint} sent an unexpected answer: "
                              f"{type(exc).__name__}: {str(exc)[:300]}", provider=self.name) from None
        return [document_result(title=h.title, file=h.file, page=h.page, content=h.text,
                                content_chars=self._content_chars) for h in hits[:max_results]]

    def _post(self, body: dict[str, Any]) -> bytes:
        """The answer's bytes: at most MAX_RESPONSE_BYTES, all within the timeout: connecting,
        the headers and the body together (httpx's timeouts are per read, so a server that
        trickles its headers or its answer a byte at a time would never trip them)."""
        try:
            return _run(asyncio.wait_for(self._exchange(body), timeout=self._timeout_s))
        except (TimeoutError, httpx.TimeoutException):
            raise SearchError(f"the retriever at {self._endpoint} timed out after {self._timeout_s:g} s",
                              provider=self.name, retryable=True) from None
        except httpx.HTTPError as exc:
            raise SearchError(f"cannot reach the retriever at {self._endpoint} ({type(exc).__name__})",
                              provider=self.name, retryable=True) from None

    async def _exchange(self, body: dict[str, Any]) -> bytes:
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            async with client.stream("POST", self._endpoint, json=body) as response:
                if response.status_code != 200:
                    raise SearchError(f"the retriever at {self._endpoint} answered HTTP {response.status_code}",
                                      provider=self.name,
                                      retryable=response.status_code == 429 or response.status_code >= 500)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise SearchError(f"the retriever at {self._endpoint} sent an answer larger than "
                                          f"{MAX_RESPONSE_BYTES} bytes for one query", provider=self.name)
                    chunks.append(chunk)
                return b"".join(chunks)


def _run(exchange: Coroutine[Any, Any, bytes]) -> bytes:
    """``exchange`` to its end on an event loop of its own: in a thread of its own when this one
    already runs a loop (asyncio.run refuses to nest)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(exchange)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, exchange).result()


# The registry's factory (agent/registry.py: provider "retriever").

def providers(*, settings: Settings, indexes: Sequence[DocumentIndex] = ()) -> list[SearchProvider]:
    return [RetrieverProvider(url=settings.retriever_url or "", timeout_s=settings.search_timeout_s,
                              content_chars=settings.result_chars)]
