"""Reading a file into passages: .txt, .md, .html, .pdf and Search-R1 corpus .jsonl.

Every failure a file can cause (unknown type, binary junk, a broken or
encrypted PDF, a corpus with no valid row) is an ``UnreadableFile`` whose
message names the file and the reason, so ``add`` can print one clear line and
go on with the next file.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import DocumentIndexError
from ..text.control import C0_BUT_WHITESPACE, chars
from .passages import Passage, Section, split_sections
from .pdf import PdfProblem, read_pdf

Kind = Literal["txt", "md", "html", "pdf", "jsonl"]
KINDS: dict[str, Kind] = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md",
                          ".html": "html", ".htm": "html", ".pdf": "pdf", ".jsonl": "jsonl"}

# Markup that is not the document's text: code, styling, site navigation and chrome.
_HTML_DROP = ("script", "style", "noscript", "template", "svg", "nav", "header", "footer",
              "aside", "form", "iframe", "button", "select")
_HTML_BLOCKS = ("p", "div", "li", "tr", "br", "section", "article", "blockquote", "pre",
                "table", "ul", "ol", "dd", "dt", "main")
_HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_DECLARED_CHARSET = re.compile(rb"""<\?xml[^>]*encoding=["']([\w.:-]+)|<meta[^>]*charset=["']?([\w.:-]+)""", re.I)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Characters lxml refuses in the text it is given back (headings are rewritten): never text anyway.
_NOT_XML = chars(C0_BUT_WHITESPACE)


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))

log = logging.getLogger(__name__)


class UnreadableFile(DocumentIndexError, ValueError):
    """A file that cannot be indexed; the message is one line a person can act on."""


@dataclass(frozen=True, kw_only=True)
class ReadFile:
    kind: Kind
    title: str
    passages: list[Passage]
    skipped: str | None = None  # what of the file was left out past a bound, in words


def kind_of(path: Path) -> Kind | None:
    return KINDS.get(path.suffix.lower())


def read_file(path: Path, data: bytes, *, name: str | None = None) -> ReadFile:
    """Passages of ``data`` (the bytes of ``path``); ``name`` is what people see (default: the
    file name). Raises ``UnreadableFile``."""
    name = name or path.name
    kind = kind_of(Path(name))
    if kind is None:
        raise UnreadableFile(f"{name}: unknown type {Path(name).suffix or '(none)'!r}; "
                             f"supported: {', '.join(sorted(set(KINDS)))}")
    if not data.strip():
        raise UnreadableFile(f"{name}: the file is empty")
    stem = Path(name).stem
    skipped: str | None = None
    match kind:
        case "pdf":
            title, sections, skipped = pdf_sections(data, name, stem)
        case "html":
            title, sections = _html(data, name, stem)
        case "jsonl":
            return ReadFile(kind=kind, title=stem, passages=_corpus(data, name))
        case _:
            text = _decode(data, name)
            title = _markdown_title(text, stem) if kind == "md" else stem
            sections = [Section(text=text)]
    passages = split_sections(sections, title=title, id_prefix=name,
                              markdown_headings=kind in ("md", "html"))
    if not passages:
        raise UnreadableFile(f"{name}: no text found (a scanned PDF needs OCR first)" if kind == "pdf"
                             else f"{name}: no text found")
    return ReadFile(kind=kind, title=title, passages=passages, skipped=skipped)


def _decode(data: bytes, name: str) -> str:
    for bom, codec in _BOMS:  # UTF-16 text (Windows Notepad's "Unicode") is full of NUL bytes
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    if b"\x00" in data[:4096]:
        raise UnreadableFile(f"{name}: looks like a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # A few bad bytes among good UTF-8 sequences are damage: keep the accents. Otherwise it is an
    # older 8-bit text, most often Windows-1252 (strict Windows-1252 would accept the damaged
    # UTF-8 too, and turn every accent into two wrong letters).
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if sum(1 for c in text if c > "\x7f") - bad > bad:
        return text
    return data.decode("cp1252", errors="replace")


def _markdown_title(text: str, default: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip() or default
    return default


def pdf_sections(data: bytes, name: str, stem: str) -> tuple[str, list[Section], str | None]:
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    try:
        read = read_pdf(data)
    except PdfProblem as exc:
        raise UnreadableFile(f"{name}: {exc}") from None
    except FileNotDecryptedError:
        raise UnreadableFile(f"{name}: the PDF is encrypted with a password; "
                             f"save an unencrypted copy to index it") from None
    except DependencyError:
        raise UnreadableFile(f"{name}: the PDF is AES-encrypted, which needs the optional "
                             f"`cryptography` package; save an unencrypted copy to index it") from None
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, IndexError,
            RecursionError, NotImplementedError) as exc:
        # pypdf reports damaged files through many exception types; none is worth a traceback.
        raise UnreadableFile(f"{name}: not a readable PDF ({type(exc).__name__}: {exc})") from None
    return read.title or stem, read.sections, read.skipped


def _html(data: bytes, name: str, stem: str) -> tuple[str, list[Section]]:
    import lxml.etree
    import lxml.html

    try:
        page = _NOT_XML.sub("", _XML_DECLARATION.sub("", _html_text(data, name), count=1))
        root = lxml.html.document_fromstring(page)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise UnreadableFile(f"{name}: not readable HTML ({exc})") from None
    title_el = root.find(".//title")
    title = " ".join((title_el.text_content() if title_el is not None else "").split()) or stem
    return title, [Section(text=visible_text(root))]


def visible_text(root: Any) -> str:
    """The text of a parsed HTML page a reader sees, in linear time: without its head, scripts,
    navigation, header, footer, asides, forms and hidden elements, a line per block. (Changes
    ``root``.)"""
    import lxml.etree

    lxml.etree.strip_elements(root, "head", *_HTML_DROP, lxml.etree.Comment, with_tail=False)
    for el in [el for el in root.iter() if is_hidden(el)]:
        el.drop_tree()  # its tail is the next visible text: kept
    for el in root.iter(*_HTML_HEADINGS):
        # Headings become "# text" lines so the splitter keeps them with their passages.
        text = " ".join(el.text_content().split())
        for child in list(el):
            el.remove(child)
        el.text = f"\n# {text}\n"
    for el in root.iter(*_HTML_BLOCKS):
        el.tail = "\n" + (el.tail or "")
    return str(root.text_content())


def _html_text(data: bytes, name: str) -> str:
    """The page as text: in the charset it declares, else as any text file is read."""
    declared = _DECLARED_CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode((declared.group(1) or declared.group(2)).decode("ascii"), errors="replace")
        except LookupError:
            pass  # a charset Python does not know: guess as for an undeclared page
    return _decode(data, name)


def is_hidden(el: object) -> bool:
    """Text a reader never sees: where a page hides instructions meant for a model."""
    get = getattr(el, "get", None)
    if get is None:  # a processing instruction or an entity: no attributes
        return False
    style = "".join((get("style") or "").split()).lower()
    return (get("hidden") is not None or (get("aria-hidden") or "").lower() == "true"
            or "display:none" in style or "visibility:hidden" in style)


def _corpus(data: bytes, name: str) -> list[Passage]:
    """Search-R1 corpus rows ``{"id", "contents"}``, contents ``"Title"\\ntext``: already passages."""
    text = _decode(data, name)
    passages: list[Passage] = []
    bad: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):  # JSONL: U+2028 is not a line break
        if not line.strip():
            continue
        row = _corpus_row(line)
        if row is None:
            bad.append(number)
            continue
        row_id, contents = row
        title, body = split_contents(contents)
        passages.append(Passage(pid=row_id or str(number), title=title, text=body))
    if not passages:
        raise UnreadableFile(f"{name}: no corpus rows like {{\"id\": ..., \"contents\": ...}} "
                             f"({len(bad)} bad line(s))")
    if bad:
        log.warning("%s: skipped %d line(s) that are not {\"id\": ..., \"contents\": \"...\"} rows "
                    "(first: line %d)", name, len(bad), bad[0])
    repeats = len(passages) - len({p.pid for p in passages})
    if repeats:
        log.warning("%s: %d row(s) repeat an earlier id; all are kept, but a /retrieve client that "
                    "keys passages by id will see them as one", name, repeats)
    return passages


def _corpus_row(line: str) -> tuple[str | None, str] | None:
    """(id or None, contents) of one corpus line, or None when it is not such a row. An id that
    is not a string or a number is no id (the line number stands in)."""
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError):  # RecursionError: nested past the parser's limit
        return None
    contents = row.get("contents") if isinstance(row, dict) else None
    if not isinstance(contents, str):
        return None
    row_id = row.get("id")
    if isinstance(row_id, bool) or not isinstance(row_id, (str, int)):
        return None, contents
    return str(row_id), contents


def split_contents(contents: str) -> tuple[str, str]:
    """Search-R1's ``"Title"\\ntext`` into (title, text); a first line without quotes is the title."""
    first, _, rest = contents.partition("\n")
    if not rest:
        return "", first.strip()
    return first.strip().strip('"'), rest.strip()


def join_contents(title: str, text: str) -> str:
    """The inverse of ``split_contents``: what a Search-R1 client expects in ``contents``. Its
    clients take the first line for the title, so the title is made one line (a file name may
    hold a line break, which would move the rest of the title into the text)."""
    return f'"{" ".join(title.split())}"\n{text}'
