"""Pages from a JSON file instead of the web (``--page-fixture FILE``): tests, demos, offline runs.

``{url: html}``; a value may also be ``{"status": 404}``, ``{"error": "timed out"}`` or
``{"content_type": "application/pdf", "body_base64": "..."}``. URLs are matched as the
source registry matches them (scheme, ``www.``, tracking parameters, trailing slash);
a URL the file does not hold fails like a page that is not there. Nothing is fetched.
"""

from __future__ import annotations

import base64
import binascii
import threading
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..files import read_json_file
from ..search.sources import normalise_url
from .errors import ReadCancelled, ReadFailed
from .fetch import Fetched, _content_type


class PageFixtureError(UsageError):
    """The page fixture file is missing or malformed; the message names the file and the entry."""


class FixturePages:
    """A fetcher over a ``{url: page}`` table."""

    def __init__(self, table: dict[str, Any], *, origin: str = "page fixture") -> None:
        self._pages: dict[str, Any] = {}
        for url, value in table.items():
            _check(url, value, origin)
            self._pages[normalise_url(url)] = value

    @classmethod
    def from_file(cls, path: str | Path) -> "FixturePages":
        table = read_json_file(path, what="page fixture", error=PageFixtureError)
        if not isinstance(table, dict):
            raise PageFixtureError(f"page fixture {str(path)!r} must be a JSON object {{url: html}}, "
                                   f"got {type(table).__name__}")
        return cls(table, origin=f"page fixture {str(path)!r}")

    def __contains__(self, url: str) -> bool:
        return normalise_url(url) in self._pages

    def fetch(self, url: str, *, cancel: threading.Event) -> Fetched:
        if cancel.is_set():
            raise ReadCancelled(url)
        value = self._pages.get(normalise_url(url))
        if value is None:
            raise ReadFailed("HTTP 404 (not in the page fixture)")
        if isinstance(value, str):
            return Fetched(url=url, content_type="text/html", charset="utf-8", body=value.encode("utf-8"))
        if "error" in value:
            raise ReadFailed(str(value["error"]))
        if "status" in value:
            raise ReadFailed(f"HTTP {value['status']}")
        media, charset = _content_type(str(value.get("content_type", "text/html")))
        if "body_base64" in value:
            body = base64.b64decode(value["body_base64"])
        else:
            body = str(value.get("body", "")).encode(charset or "utf-8", errors="replace")
        return Fetched(url=url, content_type=media, charset=charset, body=body)


def _check(url: Any, value: Any, origin: str) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, dict) or not ({"status", "error", "body_base64", "body"} & set(value)):
        raise PageFixtureError(f"{origin}: the entry for {url!r} must be HTML text, {{\"status\": 404}}, "
                               f"{{\"error\": \"...\"}} or {{\"content_type\": ..., \"body_base64\": ...}}; "
                               f"got {value!r:.80}")
    if "status" in value and (isinstance(value["status"], bool) or not isinstance(value["status"], int)):
        raise PageFixtureError(f"{origin}: 'status' for {url!r} must be a whole number, got {value['status']!r}")
    if "body_base64" in value:
        try:
            base64.b64decode(str(value["body_base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise PageFixtureError(f"{origin}: 'body_base64' for {url!r} is not valid base64") from None
