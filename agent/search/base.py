"""The protocol every search provider implements, and result normalisation."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..errors import SearchError as SearchError  # re-exported: the provider protocol names it
from ..text.control import WEB_TEXT_UNSAFE
from ..text.safe_url import is_http_url

SourceKind = Literal["web", "document"]


@dataclass(frozen=True, kw_only=True)
class SearchResult:
    """A web page (``url``) or a passage of a document (``file`` and ``page``, no URL)."""

    title: str
    url: str
    content: str
    kind: SourceKind = "web"
    file: str | None = None
    page: int | None = None


class SearchProvider(Protocol):
    name: str

    def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        """Results for ``query``; raises ``SearchError`` on any failure."""
        ...


_CONTROL = WEB_TEXT_UNSAFE
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(value: object, *, limit: int) -> str:
    """Text from the web made safe to handle: str, no control chars, trimmed.

    Bytes are decoded leniently, so binary junk in a result degrades to
    replacement characters instead of crashing anything downstream.
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", text)).strip()
    if len(text) > limit:
        cut = text[:limit]
        space = cut.rfind(" ")
        text = (cut[:space] if space > limit * 0.8 else cut).rstrip() + " …"
    return text


def normalise(title: object, url: object, content: object, *, content_chars: int) -> SearchResult:
    return SearchResult(
        title=clean_text(title, limit=300) or "(untitled)",
        url=clean_text(url, limit=2000),
        content=clean_text(content, limit=content_chars),
    )


def document_result(*, title: object, file: object, page: int | None, content: object,
                    content_chars: int) -> SearchResult:
    """A passage of a document, cleaned like web text: it is just as untrusted."""
    name = clean_text(file, limit=300) or "(unnamed document)"
    return SearchResult(title=clean_text(title, limit=300) or name, url="", kind="document",
                        file=name, page=page, content=clean_text(content, limit=content_chars))


def results_from_items(raw: Any, *, title: str, url: str, content: str, content_chars: int,
                       limit: int) -> list[SearchResult]:
    """Normalised http(s) results from a provider's list of dicts, named by its own keys."""
    if not isinstance(raw, list):
        return []
    results: list[SearchResult] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        result = normalise(item.get(title), item.get(url), item.get(content), content_chars=content_chars)
        if is_http_url(result.url):
            results.append(result)
        if len(results) >= limit:
            break
    return results
