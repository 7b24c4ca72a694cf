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

# C0/C1 controls, DEL, whitespace other than a plain space (which renderers percent-encode),
# line/paragraph separators and bidi controls (LRM, RLM, ALM, LRE..RLO, LRI..PDI).
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u00a0\u061c\u1680\u180e\u2000-\u200f\u2028-\u202f"
                           r"\u205f-\u206f\u3000\ufeff\\\"'<>`]")
_BIDI_OR_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


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
    return _BIDI_OR_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", str(url))


def is_http_url(url: object) -> bool:
    """Whether ``url`` may reach the model and the browser (see ``safe_http_url``)."""
    return safe_http_url(url) is not None
