"""Reading pages: fetch -> extract -> passages -> select, several pages at once, cached.

A ``PageReader`` belongs to one session. Its cache keeps what pages said (extracted
text and its passages, never the raw bytes) up to ``cache_bytes``, oldest dropped first,
so a second question about the same pages does not fetch them again.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol, Sequence

from ..search.sources import normalise_url
from .errors import ReadCancelled, ReadFailed
from .extract import Extracted, extract
from .fetch import Fetched
from .select import PassageSpan, passages_of, select

_POLL_S = 0.05


class PageFetcher(Protocol):
    """The fetch step: ``HttpFetcher`` (the web) or ``FixturePages`` (a file)."""

    def fetch(self, url: str, *, cancel: threading.Event) -> Fetched:
        """The page's bytes; raises ``ReadFailed`` (a sentence) or ``ReadCancelled``."""
        ...


@dataclass(frozen=True, kw_only=True)
class ReadResult:
    """One page read: its best passages, or why it could not be read (``error``)."""

    url: str
    title: str = ""
    bytes: int = 0  # fetched now (0 when the page came from the cache)
    latency_s: float = 0.0
    passages: tuple[PassageSpan, ...] = ()
    error: str | None = None
    page_of: tuple[int | None, ...] = ()  # the PDF page of each passage, where known


@dataclass(frozen=True, kw_only=True)
class _Page:
    extracted: Extracted
    passages: tuple[PassageSpan, ...]
    size: int

    @property
    def cost(self) -> int:
        return len(self.extracted.text) * 2 + 200


class PageReader:
    """Reads pages for one session; thread-safe."""

    def __init__(self, fetcher: PageFetcher, *, cache_bytes: int = 32_000_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.fetcher = fetcher
        self.cache_bytes = cache_bytes
        self._clock = clock
        self._cache: OrderedDict[str, _Page] = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()

    def read(self, url: str, *, queries: Sequence[str], k: int, cancel: threading.Event,
             more_queries: Callable[[str], list[str]] | None = None) -> ReadResult:
        """The ``k`` passages of ``url`` best for ``queries`` (plus what ``more_queries`` finds in
        the extracted text: the model reader's quotes); failures are a result with ``error``.
        Raises ``ReadCancelled`` when Stop is pressed."""
        start = self._clock()
        try:
            page, fresh = self._page(url, cancel)
        except ReadFailed as exc:
            return ReadResult(url=url, latency_s=round(self._clock() - start, 3), error=str(exc))
        extra = more_queries(page.extracted.text) if more_queries is not None else []
        chosen = select(list(page.passages), [*extra, *queries], k=k)
        return ReadResult(url=url, title=page.extracted.title, bytes=page.size if fresh else 0,
                          latency_s=round(self._clock() - start, 3), passages=tuple(chosen),
                          page_of=tuple(page.extracted.page_at(p.start) for p in chosen))

    def read_many(self, urls: Sequence[str], *, queries: Sequence[str], k: int,
                  cancel: threading.Event) -> list[ReadResult]:
        """``read`` for each URL, all at once (the fetcher bounds how many connect); in order."""
        found = dict(self.read_each(urls, queries=queries, k=k, cancel=cancel))
        return [found[i] for i in range(len(urls))]

    def read_each(self, urls: Sequence[str], *, queries: Sequence[str], k: int, cancel: threading.Event,
                  more_queries: Callable[[str], list[str]] | None = None) -> Iterator[tuple[int, ReadResult]]:
        """(position, result) for each URL as its read finishes, all read at once. Raises
        ``ReadCancelled`` within a poll (50 ms) of Stop; reads still running are abandoned."""
        done: queue.Queue[tuple[int, ReadResult]] = queue.Queue()

        def work(i: int, url: str) -> None:
            try:
                done.put((i, self.read(url, queries=queries, k=k, cancel=cancel, more_queries=more_queries)))
            except ReadCancelled:
                done.put((i, ReadResult(url=url, error="stopped")))
            except Exception as exc:  # noqa: BLE001 - an extractor bug is this page's failure, not the run's
                done.put((i, ReadResult(url=url, error=f"could not be read ({type(exc).__name__})")))

        for i, url in enumerate(urls):
            threading.Thread(target=work, args=(i, url), name="page-read", daemon=True).start()
        for _ in urls:
            while True:
                if cancel.is_set():
                    raise ReadCancelled("stopped while reading")
                try:
                    found = done.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if cancel.is_set():  # a read that Stop cut short is no read: it failed because of Stop
                    raise ReadCancelled("stopped while reading")
                yield found
                break

    def _page(self, url: str, cancel: threading.Event) -> tuple[_Page, bool]:
        """The page, and whether it was fetched now (False: from the cache)."""
        key = normalise_url(url)
        with self._lock:
            page = self._cache.get(key)
            if page is not None:
                self._cache.move_to_end(key)
                return page, False
        fetched = self.fetcher.fetch(url, cancel=cancel)
        extracted = extract(fetched)
        page = _Page(extracted=extracted, passages=tuple(passages_of(
            extracted.text, breaks=tuple(start for start, _ in extracted.pages))), size=len(fetched.body))
        self._remember(key, page)
        return page, True

    def _remember(self, key: str, page: _Page) -> None:
        if page.cost > self.cache_bytes:
            return
        with self._lock:
            old = self._cache.pop(key, None)
            self._cached -= old.cost if old else 0
            self._cache[key] = page
            self._cached += page.cost
            while self._cached > self.cache_bytes:
                _, dropped = self._cache.popitem(last=False)
                self._cached -= dropped.cost

    def close(self) -> None:
        """Let go of the fetcher's connections (a read still running then fails as that page's error)."""
        close = getattr(self.fetcher, "close", None)
        if close is not None:
            close()

    @property
    def cached_bytes(self) -> int:
        return self._cached
