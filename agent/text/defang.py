"""The one Markdown defanger: the model's Markdown made safe to show, for the chat and the reports.

The rule, in every renderer: raw HTML shows as text, images never load (no tracking pixels),
and only http(s) URLs become links, whatever the Markdown form (inline, reference-style,
autolink, raw HTML). Code stays as written (``outside_code`` says where it is).

Two layers. ``defang_markdown`` rewrites text outside code with local, line-independent
escapes, so a construct spanning lines or nested brackets cannot slip past it: ``<`` before
anything but a space is ``&lt;`` (no tag, comment or autolink can open), ``![`` is ``!\\[``,
a ``]`` that would close a link to anything but an http(s) URL is escaped, and so is the ``[``
of a reference definition. ``safe_markdown`` then parses the result as CommonMark and, should any HTML, image
or other link survive (a fence this module takes for code that CommonMark does not), shows
the whole text with every ``<``, ``&`` and bracket outside citations escaped.
"""

from __future__ import annotations

import html
import re
from typing import Callable, Iterable

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .citations import CITATION, without_link_targets
from .markdown_code import outside_code
from .safe_url import safe_http_url

Cite = Callable[[re.Match[str]], str]

# CommonMark opens a tag, comment, declaration or autolink only with a non-space right after "<".
_TAG_OPEN = re.compile(r"<(?=\S)")
_IMAGE = re.compile(r"!\[")
# A reference definition's label, at a line's start after any quote or list markers (definitions
# count inside quotes and lists too); the label may run over lines and hold escaped brackets.
_REF_DEFINITION = re.compile(r"^((?:[ \t]*(?:>|(?:[-+*]|\d{1,9}[.)])(?=[ \t]|$)))*[ \t]*)"
                             r"\[(?=(?:[^\[\]\\]|\\.)+\]:)", re.M)
# A destination may hold one level of balanced parentheses, as CommonMark allows: (javascript:f(1)).
# An angle-bracket destination never links here: its "<" was escaped first.
_DESTINATION = r"\s*<?((?:[^()\s>]|\([^()\s]*\))*)"
_INLINE_LINK = re.compile(r"\[([^\[\]\n]*)\]\(" + _DESTINATION + r">?(?:\s+\"[^\"]*\")?\s*\)")
# What is left after the simple links: any "](" (its link text may hold brackets, code or line
# breaks).
_LINK_CLOSE = re.compile(r"\]\(" + _DESTINATION)
_BRACKET = re.compile(r"[\[\]]")


def defang_markdown(text: str) -> str:
    """Text outside code made safe (see the module's rule): raw HTML and autolinks as text,
    images and reference definitions as text, an inline link kept only for an http(s) target
    (``[y](javascript:f(1))`` becomes ``y``, parentheses and all), a citation's own link target
    dropped (``[3](url)`` -> ``[3]``, which the caller links to its source)."""
    text = without_link_targets(_TAG_OPEN.sub("&lt;", text))
    text = _IMAGE.sub(r"!\\[", text)
    text = _REF_DEFINITION.sub(r"\1\\[", text)
    text = _INLINE_LINK.sub(lambda m: m.group(0) if safe_http_url(m.group(2)) else m.group(1), text)
    text = _LINK_CLOSE.sub(lambda m: m.group(0) if _keeps(text, m) else "\\" + m.group(0), text)
    return _LABEL_END.sub(lambda m: m.group(0) if _escaped(text, m.end() - 1) else m.group(0)[:-1] + "\\]", text)


# The first "]" of a line with no "[" before it, followed by ":": it may end a definition's label
# begun on an earlier line, which the chat, rendering a streamed answer a few lines at a time,
# defangs apart from this one.
_LABEL_END = re.compile(r"^(?:[^\[\]\n]|\\.)*\](?=:)", re.M)


def _keeps(text: str, close: re.Match[str]) -> bool:
    """A ``]`` stays as written when it is already escaped or closes a link to an http(s) URL."""
    return _escaped(text, close.start()) or safe_http_url(close.group(1)) is not None


def _escaped(text: str, pos: int) -> bool:
    """Whether ``text[pos]`` follows an odd number of backslashes."""
    back = pos
    while back > 0 and text[back - 1] == "\\":
        back -= 1
    return (pos - back) % 2 == 1


def safe_markdown(text: str, cite: Cite | None = None) -> str:
    """``text`` as Markdown under the one rule, ``[n]`` citations outside code handed to ``cite``
    (None: left as written, for a caller that links them itself); checked as CommonMark reads it."""
    def cited(part: str) -> str:
        return CITATION.sub(cite, part) if cite is not None else part

    out = outside_code(text, lambda part: cited(defang_markdown(part)))
    # Without "[" and "<" there is no link, image, autolink or HTML to look for (the common case
    # of a streamed line, which the chat renders on every update).
    if ("[" not in out and "<" not in out) or is_safe_markdown(out):
        return out
    escaped = html.escape(text, quote=False)
    out = cited(_outside_citations(escaped, lambda part: _BRACKET.sub(r"\\\g<0>", part)))
    return out if is_safe_markdown(out) else _BRACKET.sub(r"\\\g<0>", escaped)


def _outside_citations(text: str, change: Callable[[str], str]) -> str:
    out, pos = [], 0
    for match in CITATION.finditer(text):
        out += [change(text[pos:match.start()]), match.group(0)]
        pos = match.end()
    return "".join(out) + change(text[pos:])


class _Checker(MarkdownIt):
    """CommonMark as the chat's renderer reads it, raw HTML included, every link seen."""

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": True})
        self.enable(["table", "strikethrough"])

    def validateLink(self, url: str) -> bool:
        return True


_CHECKER = _Checker()


def is_safe_markdown(markdown: str) -> bool:
    """No HTML, no image and only http(s) links, as a CommonMark renderer would read ``markdown``."""
    return all(_token_safe(t) for t in _walk(_CHECKER.parse(markdown)))


def _token_safe(token: Token) -> bool:
    if token.type in ("image", "html_inline", "html_block"):
        return False
    if token.type == "link_open":
        return safe_http_url(str(token.attrGet("href") or "")) is not None
    return True


def _walk(tokens: Iterable[Token]) -> Iterable[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)
