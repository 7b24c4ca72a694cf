"""A fetched page's main text: HTML through trafilatura, PDF through the index's reader.

trafilatura keeps the article and drops navigation, cookie banners, related links,
comments and footers (bench/extraction.py measures it on pages written for the project).
Elements a reader never sees (``hidden``, ``display:none``: where pages hide instructions
for models) are removed first, by the same rule the document index uses. The bytes are
decoded by what they are, not only by what they claim: a page labelled ISO-8859-1 that
is valid UTF-8 is read as UTF-8, and a page whose label fails is guessed by
charset-normalizer. The text is then cleaned exactly like a search snippet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..search.base import clean_text
from .errors import ReadFailed
from .fetch import Fetched

# Text bigger than this is cut: about 2.5M tokens, more than any context holds.
MAX_TEXT_CHARS = 10_000_000
# trafilatura's time grows faster than the page (a 1 MB table of 50k cells took 20 s, a 5 MB one
# minutes), and no deadline can stop it. Articles are far smaller (at most 1,709 elements in the
# 181 real pages of bench/data/extraction_real's benchmark), so a page with more elements than
# this is read by the document index's linear rules instead (dropped nav, header, footer, aside).
MAX_ELEMENTS = 30_000
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
              (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_DECLARED = re.compile(rb"""<meta[^>]*charset=["']?([\w.:-]+)""", re.I)
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


@dataclass(frozen=True, kw_only=True)
class Extracted:
    """The main text of a page, and where each PDF page starts in it (offset, page number)."""

    title: str
    text: str
    pages: tuple[tuple[int, int], ...] = ()

    def page_at(self, offset: int) -> int | None:
        found = None
        for start, number in self.pages:
            if start > offset:
                break
            found = number
        return found


def extract(page: Fetched) -> Extracted:
    """The main text of ``page``; raises ``ReadFailed`` when there is none."""
    body = page.body
    if body.startswith(b"%PDF-") or page.content_type == "application/pdf":
        return _pdf(body, page.url)
    if page.content_type == "application/octet-stream" or (_looks_binary(body) and not _wide_text(body, page.charset)):
        raise ReadFailed(f"not a page (binary data labelled {page.content_type or 'with no type'})")
    text = decode(body, page.charset)
    if page.content_type in ("text/plain", "text/markdown", "text/x-markdown"):
        return _finish(_first_line(text), text)
    return _html(text)


def decode(body: bytes, declared: str | None) -> str:
    """``body`` as text: UTF-8 when it is valid UTF-8 (whatever the label), else the declared
    charset when it decodes cleanly, else charset-normalizer's best guess."""
    for bom, codec in _WIDE_BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace")
    if declared and _wide_text(body, declared):  # its zero bytes would pass for UTF-8
        return body.decode(declared, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    meta = _DECLARED.search(body[:4096])
    for label in (declared, meta.group(1).decode("ascii", "replace") if meta else None):
        if label and label.replace("-", "").lower() not in ("utf8",):
            try:
                return body.decode(label)
            except (LookupError, UnicodeDecodeError):
                continue
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    return body.decode(best.encoding if best else "cp1252", errors="replace")


def _wide_text(body: bytes, declared: str | None) -> bool:
    """UTF-16 or UTF-32 text, whose zero bytes are no sign of binary data: it starts with their
    byte order mark, or is declared so, decodes, and has the zero bytes such text has (a UTF-8
    page mislabelled UTF-16 has none, and is read as UTF-8)."""
    if any(body.startswith(bom) for bom, _ in _WIDE_BOMS):
        return True
    label = (declared or "").replace("-", "").replace("_", "").lower()
    head = body[:8192]
    if not label.startswith(("utf16", "utf32")) or head.count(0) < len(head) // 5:
        return False
    try:
        head[:len(head) - len(head) % 4].decode(declared or "", errors="strict")
    except (LookupError, UnicodeDecodeError):
        return False
    return True


def _looks_binary(body: bytes) -> bool:
    head = body[:8192]
    return bool(head) and len(_BINARY.findall(head)) > len(head) // 100


def _html(text: str) -> Extracted:
    import lxml.etree
    import lxml.html
    import trafilatura

    from ..index.readers import is_hidden, visible_text

    try:
        root = lxml.html.document_fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", text[:MAX_TEXT_CHARS]))
    except (lxml.etree.ParserError, ValueError):
        raise ReadFailed("empty after extraction (no HTML could be parsed)") from None
    title_el = root.find(".//title")
    title = " ".join((title_el.text_content() if title_el is not None else "").split())
    if sum(1 for _ in root.iter()) > MAX_ELEMENTS:
        return _finish(title, visible_text(root))
    for el in [el for el in root.iter() if is_hidden(el)]:
        el.drop_tree()
    main = trafilatura.extract(root, include_comments=False, include_tables=True, output_format="txt",
                               with_metadata=False)
    return _finish(title, main or "")


def _pdf(body: bytes, url: str) -> Extracted:
    from ..index.readers import UnreadableFile, pdf_sections

    name = Path(url.split("?", 1)[0]).name or "document.pdf"
    try:
        title, sections, _skipped = pdf_sections(body, name, Path(name).stem)
    except UnreadableFile as exc:
        raise ReadFailed(f"not a readable PDF ({str(exc).removeprefix(name + ': ')})") from None
    parts, pages, at = [], [], 0
    for section in sections:
        cleaned = clean_text(section.text, limit=MAX_TEXT_CHARS)
        if not cleaned:
            continue
        pages.append((at, section.page or 1))
        parts.append(cleaned)
        at += len(cleaned) + 2
    text = "\n\n".join(parts)
    if not text:
        raise ReadFailed("empty after extraction (a scanned PDF without text)")
    return Extracted(title=clean_text(title, limit=300), text=text, pages=tuple(pages))


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()[:300]
    return ""


def _finish(title: str, text: str) -> Extracted:
    cleaned = clean_text(text, limit=MAX_TEXT_CHARS)
    if not cleaned:
        raise ReadFailed("empty after extraction")
    return Extracted(title=clean_text(title, limit=300), text=cleaned)
