"""A PDF's text, page by page, within bounds that hold for any file.

A PDF is a program for drawing pages, not text: a few kilobytes can describe a
page tree whose nodes share their kids (a tree of 13 KB listing 666,000 pages)
or pages that all draw one compressed stream, and reading it all once took
100 s of CPU and 745 MB of memory for one 13 KB upload. So the text taken from
one file is bounded like a text file's: at most ``MAX_TEXT_CHARS`` characters
(what the largest text file an upload may be gives), ``MAX_PAGES`` pages and
``MAX_CONTENT_BYTES`` of decoded page content (drawing operators cost parsing
time even when they hold no text). What lies past a bound is skipped, and the
note says so. The page tree is walked here, not by pypdf, which would first
build an object for every page the tree names.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Iterator

from ..errors import DocumentIndexError
from .passages import Section

MAX_TEXT_CHARS = 20_000_000  # ui/documents.py's upload limit (20 MB) of plain text gives no more
MAX_PAGES = 10_000
# Parsing runs at a few hundred KB of drawing instructions a second: 10 MB is a book's worth of text pages.
MAX_CONTENT_BYTES = 10_000_000
# Attributes a page takes from the page-tree nodes above it when it has none of its own (PDF 32000 7.7.3.4).
_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
_MAX_DEPTH = 100


class PdfProblem(DocumentIndexError, ValueError):
    """The PDF cannot be read; the message says why in words."""


@dataclass(frozen=True, kw_only=True)
class PdfText:
    title: str | None
    sections: list[Section]
    skipped: str | None = None  # what was left out past a bound, in words


def read_pdf(data: bytes) -> PdfText:
    """The text of ``data`` per page, within the module's bounds. Raises ``PdfProblem`` for an
    encrypted PDF; pypdf's own errors for a damaged one (the caller words those)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise PdfProblem("the PDF is encrypted with a password; save an unencrypted copy to index it")
    sections: list[Section] = []
    chars = content = 0
    skipped: str | None = None
    walk = _PageWalk(reader)
    for number, page in enumerate(walk, start=1):
        if number > MAX_PAGES:
            skipped = f"pages after {MAX_PAGES:,} were skipped (at most {MAX_PAGES:,} pages are read from one PDF)"
            break
        content += _content_size(page)
        if content > MAX_CONTENT_BYTES:
            skipped = (f"pages {number:,} and after were skipped: their drawing instructions exceed "
                       f"{MAX_CONTENT_BYTES // 1_000_000} MB, the most read from one PDF")
            break
        text = page.extract_text() or ""
        if chars + len(text) > MAX_TEXT_CHARS:
            sections.append(Section(text=text[:MAX_TEXT_CHARS - chars], page=number))
            skipped = (f"the text after {MAX_TEXT_CHARS // 1_000_000} million characters was skipped "
                       f"(from page {number:,} on; at most that much is read from one file)")
            break
        chars += len(text)
        sections.append(Section(text=text, page=number))
    if walk.cut and skipped is None:
        skipped = (f"the pages its page tree lists after page {len(sections):,} were skipped: the tree has "
                   f"more than {walk.max_nodes:,} nodes")
    meta_title = reader.metadata.title if reader.metadata else None
    title = meta_title.strip() if isinstance(meta_title, str) and meta_title.strip() else None
    return PdfText(title=title, sections=sections, skipped=skipped)


def _content_size(page: Any) -> int:
    contents = page.get_contents()
    return len(contents.get_data()) if contents is not None else 0


class _PageWalk:
    """The leaf pages in order, each as a ``PageObject`` with its inherited attributes, built one
    at a time. Visits at most ``max_nodes`` tree nodes; ``cut`` says whether any were left."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.max_nodes = 2 * MAX_PAGES
        self.cut = False

    def __iter__(self) -> Iterator[Any]:
        from pypdf import PageObject
        from pypdf.generic import DictionaryObject, IndirectObject, NameObject

        stack: list[tuple[Any, dict[str, Any], int]] = [(self.reader.trailer["/Root"].get_object()["/Pages"], {}, 0)]
        visited = 0
        while stack:
            if visited == self.max_nodes:
                self.cut = True
                return
            ref, inherited, depth = stack.pop()
            visited += 1
            node = ref.get_object()
            if not isinstance(node, DictionaryObject) or depth > _MAX_DEPTH:
                continue
            kids = node.get("/Kids")
            if node.get("/Type") == "/Pages" or kids is not None:
                passed: dict[str, Any] = {**inherited, **{NameObject(k): node[k] for k in _INHERITED if k in node}}
                listed = list(kids.get_object() if kids is not None else [])[:self.max_nodes]
                stack.extend((kid, passed, depth + 1) for kid in reversed(listed))
                continue
            page = PageObject(self.reader, ref if isinstance(ref, IndirectObject) else None)
            page.update(node)
            for key, value in inherited.items():
                if key not in page:
                    page[key] = value
            yield page
