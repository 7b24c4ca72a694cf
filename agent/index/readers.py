"""Reading a file into passages: .txt, .md, .html, .pdf and Search-R1 corpus .jsonl.

Every failure a file can cause (unknown type, binary junk, a broken or
encrypted PDF, a corpus with no valid row) is an ``UnreadableFile`` whose
message names the file and the reason, so ``add`` can print one clear line and
go on with the next file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .passages import Passage, Section, split_sections

Kind = Literal["txt", "md", "html", "pdf", "jsonl"]
KINDS: dict[str, Kind] = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md",
                          ".html": "html", ".htm": "html", ".pdf": "pdf", ".jsonl": "jsonl"}

# Markup that is not the document's text: code, styling, site navigation and chrome.
_HTML_DROP = ("script", "style", "noscript", "template", "svg", "nav", "header", "footer",
              "aside", "form", "iframe", "button", "select")
_HTML_BLOCKS = ("p", "div", "li", "tr", "br", "section", "article", "blockquote", "pre",
                "table", "ul", "ol", "dd", "dt", "main")
_HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


class UnreadableFile(ValueError):
    """A file that cannot be indexed; the message is one line a person can act on."""


@dataclass(frozen=True, kw_only=True)
class ReadFile:
    kind: Kind
    title: str
    passages: list[Passage]


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
    match kind:
        case "pdf":
            title, sections = _pdf(data, name, stem)
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
    return ReadFile(kind=kind, title=title, passages=passages)


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:4096]:
        raise UnreadableFile(f"{name}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older text files are often Windows-1252; anything else degrades to replacement marks.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("utf-8", errors="replace")


def _markdown_title(text: str, default: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip() or default
    return default


def _pdf(data: bytes, name: str, stem: str) -> tuple[str, list[Section]]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile(f"{name}: the PDF is encrypted with a password; "
                                 f"save an unencrypted copy to index it")
        sections = [Section(text=page.extract_text() or "", page=number)
                    for number, page in enumerate(reader.pages, start=1)]
        meta_title = reader.metadata.title if reader.metadata else None
    except UnreadableFile:
        raise
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
    title = meta_title.strip() if isinstance(meta_title, str) and meta_title.strip() else stem
    return title, sections


def _html(data: bytes, name: str, stem: str) -> tuple[str, list[Section]]:
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.document_fromstring(data)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise UnreadableFile(f"{name}: not readable HTML ({exc})") from None
    title_el = root.find(".//title")
    title = " ".join((title_el.text_content() if title_el is not None else "").split()) or stem
    lxml.etree.strip_elements(root, "head", *_HTML_DROP, lxml.etree.Comment, with_tail=False)
    for el in root.iter(*_HTML_HEADINGS):
        # Headings become "# text" lines so the splitter keeps them with their passages.
        text = " ".join(el.text_content().split())
        for child in list(el):
            el.remove(child)
        el.text = f"\n# {text}\n"
    for el in root.iter(*_HTML_BLOCKS):
        el.tail = "\n" + (el.tail or "")
    return title, [Section(text=root.text_content())]


def _corpus(data: bytes, name: str) -> list[Passage]:
    """Search-R1 corpus rows ``{"id", "contents"}``, contents ``"Title"\\ntext``: already passages."""
    text = _decode(data, name)
    passages: list[Passage] = []
    bad = 0
    for number, line in enumerate(text.split("\n"), start=1):  # JSONL: U+2028 is not a line break
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            contents = row["contents"]
            row_id = str(row.get("id", number))
        except (json.JSONDecodeError, TypeError, KeyError, AttributeError):
            bad += 1
            continue
        if not isinstance(contents, str):
            bad += 1
            continue
        title, body = split_contents(contents)
        passages.append(Passage(pid=row_id, title=title, text=body))
    if not passages:
        raise UnreadableFile(f"{name}: no corpus rows like {{\"id\": ..., \"contents\": ...}} "
                             f"({bad} bad line(s))")
    return passages


def split_contents(contents: str) -> tuple[str, str]:
    """Search-R1's ``"Title"\\ntext`` into (title, text); a first line without quotes is the title."""
    first, _, rest = contents.partition("\n")
    if not rest:
        return "", first.strip()
    return first.strip().strip('"'), rest.strip()


def join_contents(title: str, text: str) -> str:
    """The inverse of ``split_contents``: what a Search-R1 client expects in ``contents``."""
    return f'"{title}"\n{text}'
