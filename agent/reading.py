"""Reading sources inside a run: auto-read after a search, and the ``open_page`` tool.

The loop hands this module the sources a search registered; it reads them with the
session's ``PageReader`` (web pages) or from the document index (whole documents),
yields ``ReadStart``/``ReadDone`` events, and returns the observation the model reads:
the passages in place of the snippets, in the dialect's own result format. Passages are
dropped whole, from the last page back, until the observation fits ``read_tokens`` and
the context; a page left with none keeps its snippet. Nothing is cut mid-passage or
mid-tag.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from typing import Callable, Generator, Protocol, Sequence, runtime_checkable

from .config import Settings
from .events import Event, PassageRef, ReadDone, ReadStart, ReadStats
from .parser import ToolCall
from .prompt import escape_untrusted
from .read import FixturePages, HttpFetcher, PageReader, ReadCancelled, ReadResult, passages_of, select
from .read.present import for_model, passages_text
from .reading_model import ModelReader
from .search import SearchChain, Source, SourceRegistry
from .search.base import SearchResult, clean_text
from .search.sources import normalise_url
from .text.safe_url import is_http_url

_URL = re.compile(r"https?://[^\s<>\"'`]+", re.I)
Fits = Callable[[str], int]  # text -> its tokens


def build_reader(settings: Settings) -> PageReader | None:
    """The session's page reader, or None when reading is off. With the fixture search
    provider, pages come only from ``page_fixture`` (no fixture: reading is off, so fixture
    runs stay offline)."""
    if settings.read == "off":
        return None
    if settings.page_fixture:
        return PageReader(FixturePages.from_file(settings.page_fixture))
    if settings.provider == "fixture":
        return None
    return PageReader(HttpFetcher(allow_private=settings.allow_private_fetch))


def question_urls(question: str) -> frozenset[str]:
    """The http(s) addresses the person wrote: the only ones open_page may read by URL."""
    return frozenset(normalise_url(u.rstrip(".,;:!?)]}")) for u in _URL.findall(question)
                     if is_http_url(u.rstrip(".,;:!?)]}")))


@dataclass
class RunReading:
    """One run's reading: what it may read, what it read, and what that cost."""

    settings: Settings
    reader: PageReader | None
    question: str
    documents: SearchChain | None = None
    model: ModelReader | None = None  # --reader model: members pick what BM25 looks for
    passages: dict[int, tuple[PassageRef, ...]] = field(default_factory=dict)
    pages_read: int = 0
    pages_failed: int = 0
    bytes: int = 0
    read_s: float = 0.0
    tokens_added: int = 0

    @property
    def auto(self) -> bool:
        return self.settings.read == "auto" and self.settings.read_top > 0 and self.reader is not None

    @property
    def can_open(self) -> bool:
        return self.settings.read in ("auto", "ask") and (self.reader is not None or self.documents is not None)

    def stats(self) -> ReadStats | None:
        if not (self.pages_read or self.pages_failed):
            return None
        return ReadStats(pages_read=self.pages_read, pages_failed=self.pages_failed, bytes=self.bytes,
                         read_s=round(self.read_s, 3), tokens_added=self.tokens_added,
                         reader_tokens=self.model.tokens if self.model is not None else 0)

    def more_queries(self, goal: str) -> Callable[[str], list[str]] | None:
        model = self.model
        return None if model is None else (lambda text: model.queries(text, goal))

    def _count(self, result: ReadResult) -> None:
        self.read_s += result.latency_s
        self.bytes += result.bytes
        if result.error is None:
            self.pages_read += 1
        else:
            self.pages_failed += 1


def auto_read(sources: list[Source], *, query: str, reading: RunReading, format_results: Callable[[list[Source]], str],
              tokens: Fits, room: Callable[[str], bool],
              cancel: threading.Event) -> Generator[Event, None, str | None]:
    """Read the top ``read_top`` sources of a search; returns the observation with their passages
    (None: nothing read, keep the snippets). Raises ``ReadCancelled`` on Stop."""
    top = [s for s in sources if _readable(s, reading)][:reading.settings.read_top]
    if not top:
        return None
    results = yield from _read_sources(top, queries=[reading.question, query], reading=reading, cancel=cancel,
                                       goal=query)
    chosen = {s.id: list(_refs(r)) for s, r in zip(top, results) if r.error is None and r.passages}
    snippets = format_results(sources)
    while True:
        shown = [replace(s, content=passages_text(chosen[s.id])) if chosen.get(s.id) else s for s in sources]
        observation = format_results(shown)
        added = tokens(observation) - tokens(snippets)
        if not chosen or (added <= reading.settings.read_tokens and room(observation)):
            break
        last = next(s.id for s in reversed(sources) if s.id in chosen)
        chosen[last].pop()
        if not chosen[last]:
            del chosen[last]
    for source_id, kept in chosen.items():
        reading.passages[source_id] = tuple(kept)
    reading.tokens_added += max(0, added) if chosen else 0
    return observation if chosen else None


def open_page(call: ToolCall, *, reading: RunReading, registry: SourceRegistry, shown: list[int],
              tokens: Fits, room: Callable[[str], bool], cancel: threading.Event) -> Generator[Event, None, str]:
    """Run one ``open_page`` call; returns the tool response (passages, or why not)."""
    source, refusal = _resolve(call, reading=reading, registry=registry, shown=shown)
    if source is None:
        yield ReadStart(id=0, url=call.url or "", title="")
        yield ReadDone(id=0, url=call.url or "", latency_s=0.0, error=refusal)
        return f"open_page was not run: {refusal}."
    if source.id not in shown:
        shown.append(source.id)
    [result] = yield from _read_sources([source], queries=[call.query or reading.question], reading=reading,
                                        cancel=cancel, goal=call.query)
    if result.error is not None:
        return (f"[{source.id}] could not be read ({escape_untrusted(result.error)}). "
                f"Use its snippet, or open another source.")
    kept = list(_refs(result))
    while kept:
        text = _open_response(source, result, kept)
        if tokens(text) <= reading.settings.read_tokens and room(text):
            break
        kept.pop()
    if not kept:
        return f"[{source.id}] was read, but none of its passages fits in the context that is left."
    reading.passages[source.id] = tuple(kept)
    reading.tokens_added += tokens(text)
    return text


def _resolve(call: ToolCall, *, reading: RunReading, registry: SourceRegistry,
             shown: list[int]) -> tuple[Source | None, str]:
    if not reading.can_open:
        return None, "reading pages is off in this app"
    known = {s.id: s for s in registry.all()}
    if call.source_id is not None:
        source = known.get(call.source_id)
        if source is None or call.source_id not in shown:
            return None, (f"there is no source [{call.source_id}] in this conversation's results; "
                          f"open the number of a result you were shown")
        if not _readable(source, reading):
            return None, f"[{source.id}] cannot be opened here"
        return source, ""
    url = call.url or ""
    key = normalise_url(url) if is_http_url(url) else None
    for source in known.values():
        if key is not None and source.id in shown and source.kind == "web" and normalise_url(source.url) == key:
            return source, ""
    if key is None or key not in question_urls(reading.question) or reading.reader is None:
        return None, (f"{clean_text(url, limit=200)!r} is neither a numbered result of this conversation nor an "
                      f"address the user wrote, so it is not opened (a page cannot send you elsewhere)")
    source = registry.register(SearchResult(title=clean_text(url, limit=300), url=url, content=""))
    return (source, "") if source is not None else (None, "that address cannot be opened")


def _readable(source: Source, reading: RunReading) -> bool:
    if source.kind == "document":
        return reading.documents is not None or _document_reader(reading) is not None
    return reading.reader is not None


def _read_sources(sources: Sequence[Source], *, queries: list[str], reading: RunReading, cancel: threading.Event,
                  goal: str) -> Generator[Event, None, list[ReadResult]]:
    for source in sources:
        yield ReadStart(id=source.id, url=source.url, title=source.title)
    results: list[ReadResult | None] = [None] * len(sources)
    web = [i for i, s in enumerate(sources) if s.kind == "web"]
    k = reading.settings.read_passages
    for i, s in enumerate(sources):
        if s.kind == "document":
            results[i] = document = _read_document(s, queries=queries, k=k, reading=reading, goal=goal)
            yield _done(s, document, reading)
    if web and reading.reader is not None:
        for j, result in reading.reader.read_each([sources[i].url for i in web], queries=queries, k=k,
                                                  cancel=cancel, more_queries=reading.more_queries(goal)):
            results[web[j]] = result
            yield _done(sources[web[j]], result, reading)
    if cancel.is_set():
        raise ReadCancelled("stopped while reading")
    return [r if r is not None else ReadResult(url=s.url, error="not read") for r, s in zip(results, sources)]


def _done(source: Source, result: ReadResult, reading: RunReading) -> ReadDone:
    reading._count(result)
    return ReadDone(id=source.id, url=source.url, latency_s=result.latency_s, bytes=result.bytes,
                    passages=_refs(result), error=result.error, title=result.title or source.title)


def _refs(result: ReadResult) -> tuple[PassageRef, ...]:
    """A read's passages as the events carry them, each with its PDF page where known."""
    pages = result.page_of or (None,) * len(result.passages)
    return tuple(PassageRef(text=p.text, start=p.start, end=p.end, page=page)
                 for p, page in zip(result.passages, pages))


@runtime_checkable
class _PagedDocuments(Protocol):
    """A provider that can hand back a whole indexed document, page by page."""

    def document_pages(self, file: str) -> list[tuple[int | None, str]]: ...


def _document_reader(reading: RunReading) -> _PagedDocuments | None:
    chain = reading.documents
    if chain is None:
        return None
    return next((p for p in chain.providers if isinstance(p, _PagedDocuments)), None)


def _read_document(source: Source, *, queries: list[str], k: int, reading: RunReading, goal: str) -> ReadResult:
    """The whole document behind a search_documents passage, selected like a page."""
    provider = _document_reader(reading)
    pages = provider.document_pages(source.file or "") if provider is not None else []
    if not pages:
        return ReadResult(url="", error="the document is no longer in the index")
    parts: list[str] = []
    starts: list[tuple[int, int | None]] = []  # where each page starts in the joined text
    at = 0
    for page, text in pages:
        if not starts or page != starts[-1][1]:
            starts.append((at, page))
        parts.append(text)
        at += len(text) + 2
    text = "\n\n".join(parts)
    more = reading.more_queries(goal)
    spans = passages_of(text, breaks=tuple(start for start, _ in starts[1:]))
    chosen = select(spans, [*(more(text) if more else []), *queries], k=k)
    return ReadResult(url="", title=source.title, bytes=len(text.encode("utf-8")), passages=tuple(chosen),
                      page_of=tuple(_page_at(starts, p.start) for p in chosen))


def _page_at(starts: list[tuple[int, int | None]], offset: int) -> int | None:
    return next((page for start, page in reversed(starts) if start <= offset), None)


def _open_response(source: Source, result: ReadResult, passages: list[PassageRef]) -> str:
    where = (f"File: {for_model(source.file or '')}" if source.kind == "document"
             else f"URL: {escape_untrusted(source.url)}")
    lines = [f"[{source.id}] {for_model(result.title or source.title)}", where]
    for n, p in enumerate(passages, 1):
        page = f"page {p.page}, " if p.page is not None else ""
        lines.append(f"\nPassage {n} of {len(passages)} ({page}characters {p.start}-{p.end}):\n"
                     f"{for_model(' '.join(p.text.split()))}")
    lines.append(f"\nCite these passages as [{source.id}].")
    return "\n".join(lines)
