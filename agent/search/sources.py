"""The source registry: one global numbering per conversation.

The same page keeps its number across searches and questions, so a citation
[3] always means the same source. URLs are compared after normalisation
(scheme and host case, ``www.``, fragments, tracking parameters, trailing
slash). Only http(s) URLs are accepted: anything else could become a
``javascript:`` link in the browser.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..events import SourceRef
from ..text.safe_url import is_http_url
from .base import SearchResult, SourceKind

_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "ref_src")


@dataclass(frozen=True, kw_only=True)
class Source:
    id: int
    title: str
    url: str
    content: str
    kind: SourceKind = "web"
    file: str | None = None
    page: int | None = None

    def ref(self, *, snippet: bool = False) -> SourceRef:
        """The source as events carry it; with ``snippet`` a web page keeps the text its search
        returned (``done.sources``: what its claims are checked against when it was not read)."""
        if self.kind == "document":
            # The passage travels with the reference: a document has no page to open elsewhere.
            return SourceRef(id=self.id, title=self.title, url="", kind="document", file=self.file,
                             page=self.page, text=self.content)
        return SourceRef(id=self.id, title=self.title, url=self.url,
                         snippet=(self.content or None) if snippet else None)


def registrable(result: SearchResult) -> bool:
    """Only http(s) pages and document passages get numbers: anything else could become a
    ``javascript:`` link in the browser."""
    return result.kind == "document" or is_http_url(result.url)


def _key(kind: str, url: str, file: str | None, page: int | None, text: str | None) -> str:
    if kind == "document":
        return f"doc:{file}\x00{page}\x00{text}"
    return normalise_url(url)


def normalise_url(url: str) -> str:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
               if not k.lower().startswith(_TRACKING))
    )
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("https", host, path, query, ""))


class SourceRegistry:
    """Numbers sources from 1; thread-safe because searches may run off-thread."""

    def __init__(self) -> None:
        self._by_key: dict[str, Source] = {}
        self._ordered: list[Source] = []
        self._lock = threading.Lock()

    def register(self, result: SearchResult) -> Source | None:
        """The numbered source for ``result``; ``None`` for a web result without an http(s) URL."""
        if not registrable(result):
            return None
        key = _key(result.kind, result.url, result.file, result.page, result.content)
        with self._lock:
            known = self._by_key.get(key)
            if known is not None and (known.content or not result.content):
                return known
            if known is not None:  # its text was let go after an earlier answer: take it again
                fresh = replace(known, content=result.content)
                self._by_key[key] = self._ordered[known.id - 1] = fresh
                return fresh
            source = Source(id=len(self._ordered) + 1, title=result.title, url=result.url.strip(),
                            content=result.content, kind=result.kind, file=result.file, page=result.page)
            self._by_key[key] = source
            self._ordered.append(source)
            return source

    def adopt(self, refs: Iterable[SourceRef]) -> None:
        """Take over numbers given elsewhere (a GPU worker), keeping ids as they are."""
        with self._lock:
            for ref in refs:
                key = _key(ref.kind, ref.url, ref.file, ref.page, ref.text)
                if key in self._by_key or ref.id != len(self._ordered) + 1:
                    continue
                source = Source(id=ref.id, title=ref.title, url=ref.url, content=ref.text or "",
                                kind=ref.kind, file=ref.file, page=ref.page)
                self._by_key[key] = source
                self._ordered.append(source)

    def forget_content(self) -> None:
        """Keep every source's number, title and URL, drop its text (a finished answer's
        sources cost a session ~200 bytes each, not the up-to-``result_chars`` of text)."""
        with self._lock:
            self._ordered = [replace(s, content="") for s in self._ordered]
            self._by_key = {key: self._ordered[s.id - 1] for key, s in self._by_key.items()}

    def all(self) -> list[Source]:
        with self._lock:
            return list(self._ordered)
