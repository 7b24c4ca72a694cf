"""The model's answer, a Markdown text, made safe for a report (markdown-it-py, CommonMark).

One rule, as in the chat: raw HTML shows as text, images never load (no
tracking pixels), and only http(s) URLs become links, whatever the Markdown
form (inline, reference-style, autolink). ``[n]`` citations are handed to the
caller's ``cite`` function outside code.
"""

from __future__ import annotations

import html
import re
from typing import Any, Callable, Iterable

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

from .citations import CITATION, without_link_targets
from .markdown_code import outside_code
from .safe_url import safe_http_url

Cite = Callable[[re.Match[str]], str]


class _Markdown(MarkdownIt):
    """CommonMark with tables and strikethrough; ``strict`` is the renderer, else the checker."""

    def __init__(self, *, strict: bool) -> None:
        # The checker sees raw HTML as HTML, to refuse it; the renderer shows it as text.
        super().__init__("commonmark", {"html": not strict})
        self.enable(["table", "strikethrough"])
        if strict:
            self.disable("image")  # ![alt](url) reads as "!" and a link, which the URL rule then judges
        self._strict = strict

    def validateLink(self, url: str) -> bool:
        # The checker must see every link a renderer might make.
        return safe_http_url(url) is not None if self._strict else True


_STRICT, _CHECKER = _Markdown(strict=True), _Markdown(strict=False)


# Render rules are bound to the renderer, hence the unused ``renderer`` argument.
def _render_text(renderer: Any, tokens: list[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    return CITATION.sub(env["cite"], escapeHtml(tokens[idx].content))


def _render_link_open(renderer: Any, tokens: list[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer")
    return renderer.renderToken(tokens, idx, options, env)


_STRICT.add_render_rule("text", _render_text)
_STRICT.add_render_rule("link_open", _render_link_open)


def answer_html(text: str, cite: Cite) -> str:
    """The answer as HTML: headings, lists, tables, emphasis, code, safe links, linked citations."""
    return _STRICT.render(outside_code(text, without_link_targets), {"cite": cite})


# --------------------------------------------------------------------------- Markdown out


_IMAGE = re.compile(r"!\[")
_REF_DEFINITION = re.compile(r"^( {0,3})\[(?=[^\]\n]+\]:)", re.M)
# A destination may hold one level of balanced parentheses, as CommonMark allows: (javascript:f(1)).
_INLINE_LINK = re.compile(r"\[([^\[\]\n]*)\]\(\s*<?((?:[^()\s>]|\([^()\s]*\))*)>?(?:\s+\"[^\"]*\")?\s*\)")
_BRACKET = re.compile(r"[\[\]]")


def answer_markdown(text: str, cite: Cite) -> str:
    """The answer as Markdown under the same rule: raw HTML shown as text, images and
    non-http(s) links reduced to their text, reference definitions shown as text; code,
    quotes and ``&`` stay as written. The result is parsed back and, should any HTML or unsafe
    link survive, every ``<``, ``>``, ``&`` and bracket outside citations is escaped."""
    # A "[1]" inside code is code, as the chat shows it: no citation link in a code span.
    out = outside_code(text, lambda part: CITATION.sub(cite, defang_markdown(part.replace("<", "&lt;"))))
    if _is_safe(out):
        return out
    escaped = html.escape(text, quote=False)
    out = CITATION.sub(cite, _outside_citations(escaped, lambda part: _BRACKET.sub(r"\\\g<0>", part)))
    return out if _is_safe(out) else _BRACKET.sub(r"\\\g<0>", escaped)


def defang_markdown(text: str) -> str:
    """The one Markdown defanger the chat and the reports share, for text outside code: images
    and reference definitions shown as text, an inline link kept only for an http(s) target
    (``[y](javascript:f(1))`` becomes ``y``, parentheses and all), a citation's own link target
    dropped (``[3](url)`` -> ``[3]``). Raw HTML and autolinks are each caller's: both escape ``<``."""
    return _defang(without_link_targets(text))


def _defang(text: str) -> str:
    text = _IMAGE.sub(r"!\\[", text)
    text = _REF_DEFINITION.sub(r"\1\\[", text)
    return _INLINE_LINK.sub(lambda m: m.group(0) if safe_http_url(m.group(2)) else m.group(1), text)


def _outside_citations(text: str, change: Callable[[str], str]) -> str:
    out, pos = [], 0
    for match in CITATION.finditer(text):
        out += [change(text[pos:match.start()]), match.group(0)]
        pos = match.end()
    return "".join(out) + change(text[pos:])


def _is_safe(markdown: str) -> bool:
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
