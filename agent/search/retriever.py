"""A provider for any Search-R1-compatible ``POST /retrieve`` server (``--provider retriever``).

Search-R1's own e5/FAISS server over a 21M-passage Wikipedia, or ours
(``python -m agent.index serve``): this is how a corpus larger than one
machine is served. Passages are document sources: no URL, the server's
``file``/``page`` keys when it sends them, else the passage title.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..index.retrieve import RetrieveFormatError, hits_of_response
from .base import SearchError, SearchResult, document_result


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
        try:
            response = httpx.post(self._endpoint, json=body, timeout=self._timeout_s)
        except httpx.TimeoutException:
            raise SearchError(f"the retriever at {self._endpoint} timed out after {self._timeout_s:g} s",
                              provider=self.name, retryable=True) from None
        except httpx.HTTPError as exc:
            raise SearchError(f"cannot reach the retriever at {self._endpoint} ({type(exc).__name__})",
                              provider=self.name, retryable=True) from None
        if response.status_code != 200:
            raise SearchError(f"the retriever at {self._endpoint} answered HTTP {response.status_code}",
                              provider=self.name,
                              retryable=response.status_code == 429 or response.status_code >= 500)
        try:
            data: Any = response.json()
            (hits,) = hits_of_response(data, query_count=1)
        except (ValueError, RetrieveFormatError) as exc:
            raise SearchError(f"the retriever at {self._endpoint} sent an unexpected answer: {exc}",
                              provider=self.name) from None
        return [document_result(title=h.title, file=h.file, page=h.page, content=h.text,
                                content_chars=self._content_chars) for h in hits[:max_results]]
