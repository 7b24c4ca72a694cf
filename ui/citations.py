"""Citations and untrusted text as safe Markdown.

Everything that came from the web (titles, URLs, queries) is escaped here so
it renders as text: no HTML, no Markdown links, no LaTeX. Only http(s) URLs
ever become links. ``[n]`` in an answer becomes a chip linking to source *n*;
a number with no such source is a quiet ``n?`` mark, so a made-up citation is
visible without shouting.
"""

from __future__ import annotations

import html
import re
import secrets
from typing import Mapping
from urllib.parse import quote, urlsplit

from agent.api import (SourceRef, document_passages, fragment_url, one_line, passage_page_label, renumber,
                       safe_http_url, safe_markdown)
from agent.api import document_place as engine_document_place

_MD_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$\"'])")
_URL_SAFE = ":/?#[]@!$&*+,;=%-._~"


def escape_text(text: str, *, limit: int = 300) -> str:
    """Untrusted single-line text as Markdown that renders as exactly that text."""
    flat = one_line(text)
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCT.sub(r"\\\1", flat)


def safe_url(url: str) -> str | None:
    """A URL that passes the engine's one URL rule, percent-encoded for a Markdown link target."""
    text = safe_http_url(url)
    return quote(text, safe=_URL_SAFE) if text is not None else None


def domain(url: str) -> str:
    """The host a person is shown for a linkable URL; empty for any other."""
    text = safe_http_url(url)
    return (urlsplit(text).hostname or "").removeprefix("www.") if text is not None else ""


def new_answer_scope() -> str:
    """A fresh scope for the anchors of one answer's passages.

    Every answer numbers its sources from 1, so the passage of source 1 needs the answer's own
    name in its id, or a chip would open another answer's passage. Random rather than the
    answer's place in the chat: a place changes (regenerate, edit, New chat, a replay added
    after) while the text already on screen keeps the ids it was given.
    """
    return f"a{secrets.token_hex(4)}"


def passage_anchor(source_id: int, scope: str) -> str:
    """The id of a document source's passage in one answer's Sources panel, which its [n] links to."""
    if not _SCOPE.fullmatch(scope):
        raise ValueError(f"an answer's anchor scope must be a letter then letters, digits or '-', got {scope!r}")
    return f"passage-{scope}-{source_id}"


_SCOPE = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,39}")


def citation_target(source: SourceRef | None, scope: str) -> str | None:
    """Where ``[n]`` leads: the page of a web source, the passage of a document (it has no URL)
    in the answer whose anchors are named by ``scope``."""
    if source is None:
        return None
    if source.kind == "document":
        return f"#{passage_anchor(source.id, scope)}"
    if source.passages:  # opens the page at the passage the model read (a URL text fragment)
        return fragment_url(source.url, source.passages[0].text) or safe_url(source.url)
    return safe_url(source.url)


def document_place(source: SourceRef) -> str:
    """Where a document source is, as plain text: "report.pdf, page 3" (read whole: the pages of
    the passages the model read)."""
    place = engine_document_place(source)
    return place if source.file else "document" + place


def preview(source: SourceRef) -> str:
    """The passage a chip or card previews: the first the model read of the source, or a
    document's search passage; "" for a web page that was not read (its snippet is no quote)."""
    if source.kind == "document":
        return one_line(document_passages(source)[0].text)[:400]
    return one_line(source.passages[0].text)[:400] if source.passages else ""


def document_passage(source: SourceRef, number: int, scope: str) -> str:
    """A cited document in the Sources panel, numbered as people see it: file and page, and
    behind a click the passages the model read of it (read whole), else its search passage.

    Raw HTML (``<details>``) so the passages open in place; every piece of document text in
    it is HTML-escaped, and Gradio's sanitizer still runs over the result.
    """
    summary = html.escape(f"{number}. {source.title} · {document_place(source)}", quote=False)
    quotes = "".join(f'<blockquote class="doc-passage">{_page_label(passage_page_label(source, p))}'
                     f'{html.escape(one_line(p.text), quote=False)}</blockquote>' for p in document_passages(source))
    return (f'\n<details class="passage" id="{passage_anchor(source.id, scope)}"><summary>{summary}</summary>'
            f'{quotes}</details>\n')


def _page_label(label: str) -> str:
    return f'<span class="doc-page">{html.escape(label)}: </span>' if label else ""


def link(text_md: str, url: str) -> str:
    """``[text](url)`` for an http(s) URL, else the text alone."""
    target = safe_url(url)
    return f"[{text_md}]({target})" if target else text_md


def link_citations(answer: str, sources: Mapping[int, SourceRef], numbers: Mapping[int, int], *,
                   scope: str) -> str:
    """The answer with each ``[n]``, ``[n, m]`` or ``[n](url)`` outside code as citation chips.

    ``sources`` are keyed by the model's handles and ``numbers`` give the number a person sees
    (``agent.api.display_numbering``). A chip links to its source (never to the URL the model
    wrote) and its ``title`` names the source's title and domain, for a hover or a screen
    reader. A handle with no number becomes a quiet ``n?`` mark with the model's number. A
    document's chip links to its passage in the answer named by ``scope``.
    """
    return renumber(answer, numbers, lambda group: "".join(
        chip(c.number, sources.get(c.handle), scope) if c.number is not None else chip(c.handle, None, scope)
        for c in group))


def chip(n: int, source: SourceRef | None, scope: str) -> str:
    """One citation numbered ``n`` as inline HTML. The chat's sanitiser strips ``aria-label`` but
    keeps ``class`` and ``title``: a screen reader gets the source's name from visually hidden text
    in the chip ("Source 1: title, domain"), a hover from ``title``."""
    target = citation_target(source, scope)
    if source is None or target is None:
        return (f'<span class="cite cite-missing" title="No source {n} in this answer">'
                f'{hidden("Citation ")}{n}?{hidden(": no such source")}</span>')
    where = document_place(source) if source.kind == "document" else domain(source.url)
    name = one_line(source.title or "")[:160] or where
    passage = preview(source)
    label = attribute(f"{n}. {name} · {where}" + (f"\n“{passage}”" if passage else ""))
    spoken = f": {name}, {where}" if where and where != name else f": {name}"
    return (f'<a class="cite" href="{attribute(target)}" title="{label}">'
            f'{hidden("Source ")}{n}{hidden(spoken)}</a>')


def hidden(text: str) -> str:
    """Text for screen readers only (the ``sr-only`` class in assets/style.css)."""
    return f'<span class="sr-only">{attribute(text)}</span>'


def attribute(text: str) -> str:
    """Text for a double-quoted HTML attribute inside Markdown: nothing in it is markup,
    Markdown (``|`` would split a table row), or LaTeX."""
    return html.escape(text, quote=True).translate(_ATTRIBUTE)


_ATTRIBUTE = str.maketrans({c: f"&#{ord(c)};" for c in "\\`*_{}[]()#+-!|~$"})


def neutralise(text: str) -> str:
    """Model Markdown made safe to show: the engine's one Markdown defanger, the reports' too
    (``agent.api.safe_markdown``: raw HTML and autolinks as text, images as text, only http(s)
    links). Citations stay ``[n]``, for ``link_citations``; a citation ``[3](url)`` keeps only
    ``[3]``, which is linked to its own source."""
    return safe_markdown(text)
