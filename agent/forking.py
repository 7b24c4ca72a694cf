"""Running a fork: a recorded run continued from a point, the model generating afresh from there.

``records/fork.py`` decides what a fork keeps (``ForkPlan``); this module runs it through the
ordinary loop (``loop.run``), so the new branch is a normal run with the same events, numbers
and ``done``: the recorded rounds go back into the model's context through ``PrefixBackend``
(written by the dialect, escaped), and the tool calls they end with are answered from the
recording (``ReplayedChain``, ``ReplayedReader``) instead of searching and reading again.
Observations are built from those results by the same code as in any run, so a recorded page
or title is escaped exactly as when it was first read. Once the recorded steps are used up,
searches and reads are live again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import fields, replace
from typing import Any, Callable, Iterable, Iterator, Sequence

from .backends.base import Backend, Conversation
from .backends.prefix import PrefixBackend
from .config import Settings
from .dialects import get_dialect
from .events import Event, ReadDone
from .loop import run
from .read import PageReader, ReadResult
from .read.select import PassageSpan
from .records.fork import ForkPlan, RecordedSearch
from .search import AllProvidersFailed, SearchChain, SourceRegistry
from .search.base import SearchResult
from .search.chain import ChainAnswer
from .search.sources import normalise_url

# What shapes the recorded prefix: a fork takes them from the recording unless told otherwise,
# so its rounds, result lists and reads are rebuilt as they were.
RECORDED_SETTINGS = ("dialect", "max_searches", "max_rounds", "results_per_search", "result_chars", "read",
                     "read_top", "read_passages", "read_tokens")


def fork_settings(settings: Settings, meta: dict[str, Any], *, given: Iterable[str] = ()) -> Settings:
    """``settings`` with the recorded run's prefix-shaping settings (``RECORDED_SETTINGS``), except
    those in ``given`` (set on purpose: a flag). A recorded value of the wrong type is ignored."""
    recorded = meta.get("settings")
    if not isinstance(recorded, dict):
        return settings
    types: dict[str, tuple[type, ...]] = {f.name: (type(getattr(settings, f.name)),) for f in fields(settings)}
    types["results_per_search"] = (int, type(None))  # None: the dialect's own number
    taken = [name for name in RECORDED_SETTINGS if name not in set(given)]
    chosen = {name: recorded[name] for name in taken if name in recorded and type(recorded[name]) in types[name]}
    return replace(settings, **chosen) if chosen else settings


def run_fork(plan: ForkPlan, *, settings: Settings, backend: Backend, search: SearchChain,
             history: Iterable[tuple[str, str]] = (), registry: SourceRegistry | None = None,
             cancel: threading.Event | None = None, clock: Callable[[], float] = time.monotonic,
             on_conversation: Callable[[Conversation], None] | None = None, documents: SearchChain | None = None,
             reader: PageReader | None = None) -> Iterator[Event]:
    """The new branch's run: the same events as ``loop.run`` (the kept prefix again, from the
    recording, then what the model generates afresh), ending with one ``done``."""
    dialect = get_dialect(settings.dialect)
    rounds = [dialect.write_round(r) for r in plan.rounds]
    partial = dialect.write_round(plan.partial) if not plan.partial.empty else []
    recorded = _Recorded(list(plan.searches))
    reads = [r for r in plan.reads if r.id]
    return run(plan.question, settings=settings, backend=PrefixBackend(backend, rounds=rounds, partial=partial),
               search=ReplayedChain(search, recorded),
               documents=ReplayedChain(documents, recorded) if documents is not None else None,
               reader=ReplayedReader(reader, reads) if reads else reader,
               registry=registry, history=history, cancel=cancel, clock=clock, on_conversation=on_conversation)


class _Recorded:
    """The recorded searches not used yet, shared by the web and the documents tool, in order."""

    def __init__(self, searches: list[RecordedSearch]) -> None:
        self.searches = searches
        self.lock = threading.Lock()

    def take(self, query: str) -> RecordedSearch | None:
        """The next recorded search if ``query`` is its query; otherwise the run has gone its own
        way, and nothing recorded is served any more."""
        with self.lock:
            if self.searches and _loose(self.searches[0].query) == _loose(query):
                return self.searches.pop(0)
            self.searches.clear()
            return None


def _loose(query: str) -> str:
    # A recorded query goes back escaped (its "<" as a look-alike): the same query either way.
    return " ".join(query.replace("\u2039", "<").replace("\u00a6", "|").split())


class ReplayedChain(SearchChain):
    """A search chain that answers the recorded searches from the recording, then searches live."""

    def __init__(self, live: SearchChain, recorded: _Recorded) -> None:
        super().__init__(live.providers, backoff_s=0.0)
        self._live = live
        self._recorded = recorded

    @property
    def name(self) -> str:
        return self._live.name

    def search(self, query: str, *, max_results: int, cancel: threading.Event | None = None) -> ChainAnswer:
        found = self._recorded.take(query)
        if found is None:
            return self._live.search(query, max_results=max_results, cancel=cancel)
        if found.error is not None:
            raise AllProvidersFailed(found.error)
        return ChainAnswer(found.provider, [SearchResult(
            title=r.title, url=r.url, content=(r.text if r.kind == "document" else r.snippet) or "", kind=r.kind,
            file=r.file, page=r.page) for r in found.results])


class ReplayedReader(PageReader):
    """A page reader that gives the recorded reads of these pages, then reads live (``live``;
    None: a page with no recording is not read)."""

    def __init__(self, live: PageReader | None, reads: Sequence[ReadDone]) -> None:
        super().__init__(live.fetcher if live is not None else _NoFetch())
        self._live = live
        self._reads = list(reads)
        self._lock_reads = threading.Lock()

    def _take(self, url: str) -> ReadResult | None:
        key = normalise_url(url)
        with self._lock_reads:
            for i, done in enumerate(self._reads):
                if normalise_url(done.url) == key:
                    del self._reads[i]
                    return ReadResult(url=url, title=done.title, bytes=done.bytes, latency_s=done.latency_s,
                                      passages=tuple(PassageSpan(text=p.text, start=p.start, end=p.end)
                                                     for p in done.passages), error=done.error)
        return None

    def read_each(self, urls: Sequence[str], *, queries: Sequence[str], k: int, cancel: threading.Event,
                  more_queries: Callable[[str], list[str]] | None = None) -> Iterator[tuple[int, ReadResult]]:
        rest = []
        for i, url in enumerate(urls):
            found = self._take(url)
            if found is None:
                rest.append(i)
            else:
                yield i, found
        if not rest:
            return
        if self._live is None:
            for i in rest:
                yield i, ReadResult(url=urls[i], error="not read: this fork has no page reader")
            return
        for j, result in self._live.read_each([urls[i] for i in rest], queries=queries, k=k, cancel=cancel,
                                              more_queries=more_queries):
            yield rest[j], result

    def read(self, url: str, *, queries: Sequence[str], k: int, cancel: threading.Event,
             more_queries: Callable[[str], list[str]] | None = None) -> ReadResult:
        return dict(self.read_each([url], queries=queries, k=k, cancel=cancel, more_queries=more_queries))[0]

    def close(self) -> None:
        """The live reader is the session's: it closes it."""


class _NoFetch:
    def fetch(self, url: str, *, cancel: threading.Event) -> Any:
        raise RuntimeError(f"a fork without a page reader fetched {url!r}")
