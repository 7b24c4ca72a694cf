"""The model's answer, a Markdown text, made safe for a report (markdown-it-py, CommonMark).

One rule, as in the chat (``defang``): raw HTML shows as text, images never load (no
tracking pixels), and only http(s) URLs become links, whatever the Markdown
form (inline, reference-style, autolink). ``[n]`` citations are handed to the
caller's ``cite`` function outside code.
"""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

from .citations import CITATION
from .defang import Cite, safe_markdown
from .safe_url import safe_http_url


class _Renderer(MarkdownIt):
    """CommonMark with tables and strikethrough, rendering the defanged answer; raw HTML, images and
    links to anything but http(s) stay off here too, should the defanger ever miss one."""

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": False})
        self.enable(["table", "strikethrough"])
        self.disable("image")

    def validateLink(self, url: str) -> bool:
        return safe_http_url(url) is not None


_STRICT = _Renderer()


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
    return _STRICT.render(safe_markdown(text), {"cite": cite})


# --------------------------------------------------------------------------- Markdown out


def answer_markdown(text: str, cite: Cite) -> str:
    """The answer as Markdown under the same rule (``defang.safe_markdown``, the chat's too):
    raw HTML shown as text, images and non-http(s) links reduced to their text, reference
    definitions shown as text; code, quotes and ``&`` stay as written."""
    return safe_markdown(text, cite)
