"""The one rule for URLs from a model, the web or a trace: which may become a link.

Every renderer (the UI, the HTML report, the Markdown report) and the search
layer ask ``safe_http_url``; each then escapes for its own syntax. A URL is
linkable only when it is http(s) with a host and nothing in it can make the
host a person reads differ from the host a browser opens:

* no control characters or whitespace but a plain space (``javascript:`` hidden behind ``\\t``);
* no backslash: browsers read ``http://evil.example\\@good.example`` as host
  ``evil.example`` while Python's ``urlsplit`` reads ``good.example``;
* no user info (``http://good.example@evil.example`` shows one host, opens another);
* no bidirectional-text controls (a right-to-left override displays the URL reversed);
* no quote or angle bracket, which would end an attribute or a Markdown link early.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .control import LINK_URL_UNSAFE, SHOWN_URL_UNSAFE

# Controls, whitespace other than a plain space (which renderers percent-encode), separators and
# bidi controls (control.py), and the characters that end or escape an attribute or a Markdown link.
_UNSAFE_CHARS = re.compile(LINK_URL_UNSAFE.pattern[:-1] + r"\\\"'<>`]")


def safe_http_url(url: object) -> str | None:
    """``url`` (stripped) when it may become a link, else ``None``."""
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text or _UNSAFE_CHARS.search(text):
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    return text


def visible_url(url: object) -> str:
    """A URL shown as text: controls and bidi overrides made visible as ``\\u202e`` escapes,
    so what a person reads is what the text holds."""
    return SHOWN_URL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(url))


def is_http_url(url: object) -> bool:
    """Whether ``url`` may reach the model and the browser (see ``safe_http_url``)."""
    return safe_http_url(url) is not None
