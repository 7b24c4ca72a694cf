"""Links that open a page at a passage: URL text fragments (``#:~:text=start,end``).

Chromium-based browsers and Safari scroll to the first match of the fragment and highlight
it; other browsers open the page as before. The fragment names the passage's first and last
few words (percent-encoded, with ``-``, ``,`` and ``&`` escaped as the syntax requires), so a
long passage still matches where the page's markup splits it.
"""

from __future__ import annotations

from urllib.parse import quote

from .safe_url import safe_http_url

_EDGE_WORDS = 6


def _encode(text: str) -> str:
    return quote(text, safe="").replace("-", "%2D")


def fragment_url(url: str, passage: str) -> str | None:
    """``url`` opened at ``passage``; None when ``url`` may not become a link. A URL that
    already has a fragment keeps it (the text directive goes after ``:~:``)."""
    safe = safe_http_url(url)
    if safe is None:
        return None
    words = passage.split()
    if not words:
        return safe
    if len(words) <= 2 * _EDGE_WORDS:
        directive = _encode(" ".join(words))
    else:
        directive = f"{_encode(' '.join(words[:_EDGE_WORDS]))},{_encode(' '.join(words[-_EDGE_WORDS:]))}"
    base, _, fragment = safe.partition("#")
    return f"{base}#{fragment.split(':~:', 1)[0]}:~:text={directive}"
