"""Citations and untrusted text as safe Markdown.

Everything that came from the web (titles, URLs, queries) is escaped here so
it renders as text: no HTML, no Markdown links, no LaTeX. Only http(s) URLs
ever become links. ``[n]`` in an answer becomes a link to source *n*; a number
with no such source is struck through and marked ``n?`` so a made-up
citation is visible.
"""

from __future__ import annotations

import re
from typing import Mapping
from urllib.parse import quote, urlsplit

from agent.events import SourceRef

_CITATION = re.compile(r"\[(\d{1,4}(?:\s*,\s*\d{1,4})*)\](?!\()")
# Fenced code blocks (closed or still streaming) and inline code spans are left alone.
_CODE = re.compile(r"```[\s\S]*?(?:```|\Z)|`[^`\n]*`")
_MD_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$\"'])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_URL_SAFE = ":/?#[]@!$&*+,;=%-._~"


def escape_text(text: str, *, limit: int = 300) -> str:
    """Untrusted single-line text as Markdown that renders as exactly that text."""
    flat = " ".join(_CONTROL.sub(" ", str(text)).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCT.sub(r"\\\1", flat)


def safe_url(url: str) -> str | None:
    """An http(s) URL made safe inside a Markdown link target, or ``None``."""
    text = str(url or "").strip()
    if _CONTROL.search(text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return quote(text, safe=_URL_SAFE)


def domain(url: str) -> str:
    try:
        host = urlsplit(str(url).strip()).hostname or ""
    except ValueError:
        host = ""
    return host.removeprefix("www.")


def link(text_md: str, url: str) -> str:
    """``[text](url)`` for an http(s) URL, else the text alone."""
    target = safe_url(url)
    return f"[{text_md}]({target})" if target else text_md


def link_citations(answer: str, sources: Mapping[int, SourceRef]) -> str:
    """The answer with each ``[n]`` / ``[n, m]`` linked to its source."""
    if "[" not in answer:
        return answer
    out, pos = [], 0
    for code in _CODE.finditer(answer):
        out.append(_link_segment(answer[pos:code.start()], sources))
        out.append(code.group(0))
        pos = code.end()
    out.append(_link_segment(answer[pos:], sources))
    return "".join(out)


def _link_segment(text: str, sources: Mapping[int, SourceRef]) -> str:
    def one(n: int) -> str:
        source = sources.get(n)
        target = safe_url(source.url) if source is not None else None
        return f"[{n}]({target})" if target else f"~~{n}?~~"

    def replace(match: re.Match[str]) -> str:
        numbers = [int(p) for p in match.group(1).split(",")]
        if len(numbers) == 1:
            source = sources.get(numbers[0])
            target = safe_url(source.url) if source is not None else None
            return f"[\\[{numbers[0]}\\]]({target})" if target else f"~~\\[{numbers[0]}?\\]~~"
        return "\\[" + ", ".join(one(n) for n in numbers) + "\\]"

    return _CITATION.sub(replace, text)


_LINKED_ONE = re.compile(r"\[\\\[(\d+)\\\]\]\([^)\s]*\)")
_LINKED_PART = re.compile(r"\[(\d+)\]\([^)\s]*\)|~~(\d+)\?~~")
_MISSING_ONE = re.compile(r"~~\\\[(\d+)\?\\\]~~")
_GROUP = re.compile(r"\\\[((?:\[\d+\]\([^)\s]*\)|~~\d+\?~~)(?:, (?:\[\d+\]\([^)\s]*\)|~~\d+\?~~))*)\\\]")


def unlink_citations(markdown: str) -> str:
    """Inverse of ``link_citations`` (for history rebuilt from the chat)."""
    text = _LINKED_ONE.sub(r"[\1]", markdown)
    text = _MISSING_ONE.sub(r"[\1]", text)
    return _GROUP.sub(
        lambda m: "[" + ", ".join(a or b for a, b in _LINKED_PART.findall(m.group(1))) + "]", text
    )


_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
_IMAGE = re.compile(r"!\[")
_MD_LINK = re.compile(r"\[([^\[\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")


def neutralise(text: str) -> str:
    """Model Markdown made safe to show, outside code: raw HTML shows as text, images
    become plain text (no tracking pixels), and only http(s) links stay links."""
    out, pos = [], 0
    for code in _CODE.finditer(text):
        out.append(_neutralise_segment(text[pos:code.start()]))
        out.append(code.group(0))
        pos = code.end()
    out.append(_neutralise_segment(text[pos:]))
    return "".join(out)


def _neutralise_segment(text: str) -> str:
    if "<" in text:
        text = _TAG_OPEN.sub("&lt;", text)
    if "![" in text:
        text = _IMAGE.sub("!\\[", text)
    if "](" in text:
        text = _MD_LINK.sub(lambda m: m.group(0) if safe_url(m.group(2)) else m.group(1), text)
    return text
