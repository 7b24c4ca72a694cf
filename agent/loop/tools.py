"""Running a call the round decided to run: a search (web or documents) or opening a page,
and splicing what it returned into the conversation."""

from __future__ import annotations

import logging
from typing import Iterator

from ..backends.base import Conversation
from ..config import Settings, redact
from ..errors import SearchCancelled
from ..events import Event, SearchDone, SearchStart
from ..parser import ToolCall
from ..prompt import DOCUMENTS_TOOL_NAME, OPEN_PAGE_TOOL_NAME, escape_untrusted
from ..read import ReadCancelled
from ..reading import RunReading, auto_read, open_page
from ..search import AllProvidersFailed, Source
from ..search.base import SearchResult
from ..search.sources import registrable
from .state import RunState

log = logging.getLogger("agent.loop")  # the run's one logger, as before the loop was split


def opener(state: RunState) -> RunReading | None:
    """The run's reading when open_page is offered: a tool dialect, and something to read with."""
    reading = state.reading
    return reading if state.dialect.tools and reading is not None and reading.can_open else None


def can_open(state: RunState) -> bool:
    return opener(state) is not None


def no_room(conv: Conversation, settings: Settings, observation: str) -> bool:
    need = conv.usage.context_tokens + conv.count_tokens(observation) + settings.answer_reserve_tokens
    return need > settings.context_limit


def run_call(call: ToolCall, conv: Conversation, state: RunState) -> Iterator[Event]:
    """Run one call, yielding its events, and splice its observation (unless the run was stopped)."""
    if call.name == OPEN_PAGE_TOOL_NAME:
        yield from _open_and_splice(call, conv, state)
        return
    state.searches += 1
    settings = state.settings
    yield SearchStart(query=call.query, round=state.searches, max_searches=settings.max_searches,
                      tool=call.name)
    try:
        done, observation, sources = _search(call, state.searches, state=state, conv=conv)
    except SearchCancelled:
        return  # Stop during a search is no search failure: the next round check ends the run stopped
    state.latencies.append(done.latency_s)
    state.shown.extend(r.id for r in done.results if r.id not in state.shown)
    if observation is None:  # a failed search always has its note
        state.context_forced = True
        observation = state.dialect.notes.context_full
    yield done
    if sources and state.reading is not None and state.reading.auto and not state.cancel.is_set():
        try:
            read = yield from auto_read(
                sources, query=call.query, reading=state.reading, cancel=state.cancel, tokens=conv.count_tokens,
                format_results=lambda shown: state.dialect.format_results(
                    call.query, shown, number=state.searches, budget=settings.max_searches),
                room=lambda text: not no_room(conv, settings, text))
        except ReadCancelled:
            return
        observation = read or observation
    if not state.cancel.is_set():
        conv.add_tool_result(observation)


def _open_and_splice(call: ToolCall, conv: Conversation, state: RunState) -> Iterator[Event]:
    reading = opener(state)
    assert reading is not None, "parse_tool_call accepts open_page only when it is offered"
    try:
        observation = yield from open_page(call, reading=reading, registry=state.registry, shown=state.shown,
                                           tokens=conv.count_tokens, room=lambda text: not no_room(
                                               conv, state.settings, text), cancel=state.cancel)
    except ReadCancelled:
        return  # the next round check ends the run stopped
    if not state.cancel.is_set():
        conv.add_tool_result(observation)


def _search(call: ToolCall, number: int, *, state: RunState,
            conv: Conversation) -> tuple[SearchDone, str | None, list[Source]]:
    """Run one search; returns its event, the observation to splice and the sources it numbered.

    The observation is ``None`` when not even one result fits the context.
    """
    settings, clock = state.settings, state.clock
    chain = state.documents if call.name == DOCUMENTS_TOOL_NAME and state.documents else state.search
    start = clock()
    try:
        answer = chain.search(call.query, max_results=settings.results_wanted, cancel=state.cancel)
    except AllProvidersFailed as exc:
        # Provider messages may quote what the server said, and servers echo keys.
        reason = redact(str(exc), settings.secrets)
        log.info("search %r failed: %s", call.query, reason)
        return (SearchDone(query=call.query, provider=chain.name, latency_s=round(clock() - start, 3),
                           error=reason, tool=call.name),
                state.dialect.notes.search_failed.format(reason=escape_untrusted(reason)), [])
    latency = round(clock() - start, 3)
    # A provider may send more than it was asked for: the model sees the number it was trained with.
    results = [r for r in answer.results if registrable(r)][:settings.results_wanted]
    fitted = list(results)
    # Drop results from the end until the observation fits the context, and
    # register only those, so no number is given to a source the model never saw.
    while fitted and no_room(conv, settings, state.dialect.format_results(
            call.query, _preview(fitted), number=number, budget=settings.max_searches)):
        fitted.pop()
    if results and not fitted:
        return SearchDone(query=call.query, provider=answer.provider, latency_s=latency, tool=call.name), None, []
    sources: list[Source] = []
    for result in fitted:
        source = state.registry.register(result)
        if source is not None and source not in sources:
            sources.append(source)
    observation = state.dialect.format_results(call.query, sources, number=number, budget=settings.max_searches)
    return (SearchDone(query=call.query, provider=answer.provider, latency_s=latency,
                       results=tuple(s.ref() for s in sources), tool=call.name), observation, sources)


def _preview(results: list[SearchResult]) -> list[Source]:
    """Stand-in sources to measure an observation before numbers are given out."""
    return [Source(id=999, title=r.title, url=r.url, content=r.content, kind=r.kind, file=r.file, page=r.page)
            for r in results]
