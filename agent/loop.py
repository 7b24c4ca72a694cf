"""The agent loop: generate -> tool call -> search -> splice -> generate.

Append-only, one assistant turn per question (docs/DESIGN.md). Recoverable model
mistakes become an observation the model reads; infrastructure failures become
an ``Error`` event. Every run that is not broken by such a failure ends with
exactly one ``Done``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Generator, Iterable, Iterator, Literal

from .errors import SearchCancelled, UsageError, cause_of
from .backends.base import Backend, BackendError, Conversation, round_token_limit
from .text.citations import cited_ids
from .claims import check_answer
from .claims.judge import judge_claims, judge_for
from .config import Settings, encodable, redact
from .events import (Answer, Done, Error, Event, FinishReason, RefusedCall, RunEnd, RunStats,
                     SearchDone, SearchStart, Thinking)
from .dialects import Dialect, Notes, RoundParser, get_dialect
from .document_tool import add_note, documents_note, parse_tool_call, tools_for
from .read import PageReader, ReadCancelled
from .reading import RunReading, auto_read, open_page
from .reading_model import ModelReader
from .parser import BadToolCall, ToolCall
from .prompt import DOCUMENTS_TOOL_NAME, OPEN_PAGE_TOOL_NAME, READ_AUTO_NOTE, READ_NOTE, escape_untrusted
from .search import AllProvidersFailed, SearchChain, Source, SourceRegistry
from .search.base import SearchResult
from .search.sources import registrable

log = logging.getLogger(__name__)


class InputError(UsageError):
    """The question cannot be asked as is; the message says why."""


def validate_question(question: str, settings: Settings) -> str:
    text = encodable((question or "").strip())  # argv may carry undecodable bytes as surrogates
    if not text:
        raise InputError("the question is empty; type what you want to know")
    if len(text) > settings.max_question_chars:
        raise InputError(
            f"the question is {len(text)} characters long; the limit is "
            f"{settings.max_question_chars} (DEEPSEARCH_MAX_QUESTION_CHARS)"
        )
    return text


PARTIAL_NOTE = "The answer shown so far is partial: it was cut off and is not kept for follow-up questions."

@dataclass
class _Phase:
    """Tokens and seconds spent producing thinking vs answer text."""

    tokens: dict[str, int] = field(default_factory=lambda: {"thinking": 0, "answer": 0})
    seconds: dict[str, float] = field(default_factory=lambda: {"thinking": 0.0, "answer": 0.0})

    def rates(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("thinking", "answer"):
            out[f"{name}_tokens"] = self.tokens[name]
            s = self.seconds[name]
            out[f"{name}_tok_s"] = round(self.tokens[name] / s, 2) if s > 0 else 0.0
        return out


@dataclass
class _RunState:
    """One run: what it was given, and what it has seen so far."""

    settings: Settings
    dialect: Dialect
    search: SearchChain
    registry: SourceRegistry
    cancel: threading.Event
    clock: Callable[[], float]
    t0: float
    # The search_documents tool's chain (QwQ only: the tag dialects have one search tag), or None.
    documents: SearchChain | None = None
    # What this run may read (pages, whole documents) and what it read; None: snippets only.
    reading: RunReading | None = None
    # The final answer: only what the model wrote after its last tool call (cleared at each call).
    answer: list[str] = field(default_factory=list)
    phase: _Phase = field(default_factory=_Phase)
    # The thinking tokens and seconds counted before the current round began.
    round_start: tuple[int, float] = (0, 0.0)
    latencies: list[float] = field(default_factory=list)
    reprefill: int = 0
    searches: int = 0
    bad_calls: int = 0
    # Calls the loop answered without running, so a person can see why a search never happened.
    refused: list[RefusedCall] = field(default_factory=list)
    shown: list[int] = field(default_factory=list)  # source ids this run's searches returned, in order
    budget_exhausted: bool = False
    context_forced: bool = False
    truncated: bool = False
    ttft: float | None = None
    finish: FinishReason | None = None
    # How the last round ended: the run's end is read from it (``_end``).
    last: RoundOutcome | None = None

    def record(self, outcome: RoundOutcome) -> None:
        """Apply one round's outcome: the only place a refusal is counted."""
        self.last = outcome
        if outcome.refused is not None:
            self.refused.append(outcome.refused)
            reason = outcome.refused.reason
            self.bad_calls += reason == "malformed"
            self.budget_exhausted |= reason == "budget"
            self.context_forced |= reason == "context"
        self.truncated |= outcome.kind in ("cut_off", "context_full")


@dataclass(frozen=True)
class RunCall:
    """``decide_call``'s verdict: run this call."""

    call: ToolCall


@dataclass(frozen=True)
class Refuse:
    """``decide_call``'s verdict: answer the call without running it; why, and what the model reads."""

    refused: RefusedCall
    observation: str


CallDecision = RunCall | Refuse

# How one round ended. The first three let the run go on; the rest end it.
RoundKind = Literal["searched", "refused", "retried", "answered", "stopped", "cut_off", "context_full",
                    "rounds_out"]


@dataclass(frozen=True)
class RoundOutcome:
    """One round's result as a value: what happened, and the call it refused, if any."""

    kind: RoundKind
    refused: RefusedCall | None = None

    @property
    def goes_on(self) -> bool:
        return self.kind in ("searched", "refused", "retried")


def run(
    question: str,
    *,
    settings: Settings,
    backend: Backend,
    search: SearchChain,
    registry: SourceRegistry | None = None,
    history: Iterable[tuple[str, str]] = (),
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_conversation: Callable[[Conversation], None] | None = None,
    documents: SearchChain | None = None,
    reader: PageReader | None = None,
) -> Iterator[Event]:
    """Answer ``question``, yielding events. Raises ``InputError`` before any event
    for an empty or over-long question. ``on_conversation`` receives the backend
    conversation once it is open (for transcripts). ``documents``, when given and the
    dialect calls tools by name (QwQ), is offered as a second tool, ``search_documents``.
    ``reader`` (the session's, with its cache; ``reading.build_reader``) reads pages and whole
    documents as the settings say; None: nothing is read (snippets only)."""
    text = validate_question(question, settings)
    dialect = get_dialect(settings.dialect)
    state = _RunState(settings=settings, dialect=dialect, search=search,
                      registry=registry if registry is not None else SourceRegistry(),
                      cancel=cancel or threading.Event(), clock=clock, t0=clock(),
                      documents=documents if dialect.tools else None)
    if settings.read != "off" and reader is not None:
        model = (ModelReader(backend=backend, settings=settings, question=text, cancel=state.cancel)
                 if settings.reader == "model" else None)
        state.reading = RunReading(settings=settings, reader=reader, question=text, model=model,
                                   documents=state.documents or (search if settings.provider == "local" else None))
    return _run(text, state, backend=backend, history=list(history), on_conversation=on_conversation)


def _run(question: str, state: _RunState, *, backend: Backend, history: list[tuple[str, str]],
         on_conversation: Callable[[Conversation], None] | None) -> Iterator[Event]:
    settings, dialect = state.settings, state.dialect
    # The newest turns only: history may come from a client, which can send any number of them.
    recent = [(role, encodable(text)) for role, text in history[-2 * settings.max_history_turns:]]
    messages = dialect.build_messages(question, max_searches=settings.max_searches, history=recent)
    if dialect.tools:
        add_note(messages, documents_note(settings, state.search, state.documents))
        if _can_open(state):
            auto = READ_AUTO_NOTE.format(n=settings.read_top) if state.reading.auto else ""
            add_note(messages, READ_NOTE.format(auto=auto))
    try:
        conv = backend.start(messages, tools_for(dialect, state.documents, open_page=_can_open(state)),
                             settings=settings)
        if on_conversation is not None:
            on_conversation(conv)
        yield from _rounds(conv, state)
    except BackendError as exc:
        message = redact(str(exc), settings.secrets)
        # INFO: the app's log keeps the cause behind what the page shows (ui logs the page's text);
        # the CLI prints the message itself and sets no logging up, so this stays out of its stderr.
        log.info("the run ended with an error: %s%s", message,
                 f" (cause: {redact(cause_of(exc), settings.secrets)})" if cause_of(exc) else "")
        if state.answer:  # never mistaken for a finished answer: no Done follows, and it says so
            message += f" {PARTIAL_NOTE}"
        yield Error(message=message)
        return
    done = _finish(conv, state)
    judge = judge_for(settings) if settings.check_claims == "judge" and done.claims else None
    if judge is not None and not state.cancel.is_set():
        done, problem = judge_claims(done, judge)
        if problem is not None:
            yield Error(message=redact(problem, settings.secrets))
    yield done


def _rounds(conv: Conversation, state: _RunState) -> Iterator[Event]:
    """Generate round after round until the model answers, or the run must end.

    After ``max_rounds`` rounds a pending call is refused and one last round asks
    for the answer without tools, as a spent search budget does.
    """
    last = state.settings.max_rounds
    for index in range(last + 1):
        outcome = yield from _round(conv, state, last_round=index >= last - 1, tool_less=index == last)
        state.record(outcome)
        if not outcome.goes_on:
            return


def _round(conv: Conversation, state: _RunState, *, last_round: bool,
           tool_less: bool) -> Generator[Event, None, RoundOutcome]:
    """One round: generate, then search, refuse, retry, or end; its outcome as a value."""
    # Checked here once, so no backend is ever asked for a round it cannot run.
    if state.cancel.is_set():
        return RoundOutcome("stopped")
    if round_token_limit(state.settings, conv.usage.context_tokens) <= 0:
        state.finish = "context"
        return RoundOutcome("context_full")
    parser, thinking = yield from _stream_round(conv, state)
    state.finish = conv.finish_reason
    if state.cancel.is_set() or state.finish == "cancelled":
        return RoundOutcome("stopped")
    if state.finish in ("length", "context"):
        return RoundOutcome("cut_off")  # a call cut off here is never executed
    if parser.call_text is None:
        retry = _retry_without_action(conv, state, tool_less=tool_less)
        if retry is not None:
            return retry
        yield from _promote_thinking(parser, thinking, state)
        return RoundOutcome("answered")
    state.answer.clear()  # text before a tool call may cite sources that do not exist yet
    call = parse_tool_call(parser.call_text, state.dialect, state.documents, open_page=_can_open(state))
    notes, settings = state.dialect.notes, state.settings
    opens = isinstance(call, ToolCall) and call.name == OPEN_PAGE_TOOL_NAME  # opening a page is no search
    decision = decide_call(call, notes=notes, searches=0 if opens else state.searches,
                           max_searches=settings.max_searches,
                           last_round=last_round,
                           context_full=lambda: _no_room(conv, settings, notes.context_full))
    if tool_less:  # the tool-less last round still called: no answer will come
        assert isinstance(decision, Refuse)  # in the last rounds every call is refused
        return RoundOutcome("rounds_out", refused=decision.refused)
    if isinstance(decision, Refuse):
        conv.add_tool_result(decision.observation)
        return RoundOutcome("refused", refused=decision.refused)
    yield from _search_and_splice(decision.call, conv, state)
    return RoundOutcome("searched")


def _stream_round(conv: Conversation, state: _RunState) -> Generator[Event, None, tuple[RoundParser, str]]:
    """Stream one round as events; returns its parser and the round's thinking text."""
    state.reprefill += conv.usage.context_tokens
    parser, thinking = state.dialect.new_parser(), list[str]()
    state.round_start = (state.phase.tokens["thinking"], state.phase.seconds["thinking"])
    gen = conv.generate(cancel=state.cancel)
    last_t, last_tokens = state.clock(), conv.usage.generated_tokens
    try:
        for chunk in gen:
            now = state.clock()
            if state.ttft is None:
                state.ttft = now - state.t0
            kind = "answer" if parser.state == "answer" else "thinking"
            state.phase.tokens[kind] += conv.usage.generated_tokens - last_tokens
            state.phase.seconds[kind] += now - last_t
            last_t, last_tokens = now, conv.usage.generated_tokens
            for delta_kind, delta in parser.feed(encodable(chunk)):
                yield _delta(delta_kind, delta, state.answer, thinking)
        for delta_kind, delta in parser.close():
            yield _delta(delta_kind, delta, state.answer, thinking)
    finally:
        gen.close()
    return parser, "".join(thinking)


def _delta(kind: str, text: str, answer: list[str], thinking: list[str]) -> Event:
    if kind == "answer":
        answer.append(text)
        return Answer(text=text)
    thinking.append(text)
    return Thinking(text=text)


def _retry_without_action(conv: Conversation, state: _RunState, *, tool_less: bool) -> RoundOutcome | None:
    """The dialect's own retry when a round ended with neither a search nor an answer. In the
    last round there is no retry: the rounds are spent, and a note no round reads is no note."""
    no_action = state.dialect.notes.no_action
    if no_action is None or state.answer or state.finish == "tool_call":
        return None
    if tool_less:
        return RoundOutcome("rounds_out")
    conv.add_tool_result(no_action)
    return RoundOutcome("retried", refused=RefusedCall(reason="malformed", detail="neither a search nor an answer"))


def _promote_thinking(parser: RoundParser, thinking: str, state: _RunState) -> Iterator[Event]:
    """QwQ ended without ``</think>``: its reasoning is all the answer there is."""
    if state.dialect.promote_unclosed_thinking and not parser.saw_think_close and not state.answer and thinking:
        promoted = thinking.strip()
        state.answer.append(promoted)
        # The round's tokens were counted as thinking while they streamed: they are the answer's.
        tokens, seconds = (state.phase.tokens["thinking"] - state.round_start[0],
                           state.phase.seconds["thinking"] - state.round_start[1])
        state.phase.tokens["thinking"] -= tokens
        state.phase.tokens["answer"] += tokens
        state.phase.seconds["thinking"] -= seconds
        state.phase.seconds["answer"] += seconds
        yield Answer(text=promoted)


def decide_call(call: ToolCall | BadToolCall, *, notes: Notes, searches: int, max_searches: int,
                last_round: bool, context_full: Callable[[], bool]) -> CallDecision:
    """Run the call, or refuse it: rounds spent, malformed, search budget spent, or no room
    left in the context (``context_full``, asked only when it decides). Pure: the caller
    records the verdict."""
    query = call.query if isinstance(call, ToolCall) else None
    if last_round:
        return Refuse(RefusedCall(reason="rounds", query=query,
                                  detail=call.problem if isinstance(call, BadToolCall) else None),
                      notes.rounds_spent)
    if isinstance(call, BadToolCall):
        return Refuse(RefusedCall(reason="malformed", detail=call.problem),
                      notes.bad_call.format(problem=escape_untrusted(call.problem)))
    if searches >= max_searches:
        return Refuse(RefusedCall(reason="budget", query=query), notes.budget_spent.format(n=max_searches))
    if context_full():
        return Refuse(RefusedCall(reason="context", query=query), notes.context_full)
    return RunCall(call)


def _can_open(state: _RunState) -> bool:
    """open_page is offered: a tool dialect, and something to read with."""
    return bool(state.dialect.tools) and state.reading is not None and state.reading.can_open


def _open_and_splice(call: ToolCall, conv: Conversation, state: _RunState) -> Iterator[Event]:
    try:
        observation = yield from open_page(call, reading=state.reading, registry=state.registry, shown=state.shown,
                                           tokens=conv.count_tokens, room=lambda text: not _no_room(
                                               conv, state.settings, text), cancel=state.cancel)
    except ReadCancelled:
        return  # the next round check ends the run stopped
    if not state.cancel.is_set():
        conv.add_tool_result(observation)


def _search_and_splice(call: ToolCall, conv: Conversation, state: _RunState) -> Iterator[Event]:
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
    if done.error is None and observation is None:
        state.context_forced = True
        observation = state.dialect.notes.context_full
    yield done
    if sources and state.reading is not None and state.reading.auto and not state.cancel.is_set():
        try:
            read = yield from auto_read(
                sources, query=call.query, reading=state.reading, cancel=state.cancel, tokens=conv.count_tokens,
                format_results=lambda shown: state.dialect.format_results(
                    call.query, shown, number=state.searches, budget=settings.max_searches),
                room=lambda text: not _no_room(conv, settings, text))
        except ReadCancelled:
            return
        observation = read or observation
    if not state.cancel.is_set():
        conv.add_tool_result(observation)


def _finish(conv: Conversation, state: _RunState) -> Done:
    final = "".join(state.answer)
    read = state.reading.passages if state.reading is not None else {}
    sources = tuple(replace(s.ref(snippet=True), passages=read[s.id]) if s.id in read else s.ref(snippet=True)
                    for s in state.registry.all())
    usage = conv.usage
    stats = RunStats(
        total_s=round(state.clock() - state.t0, 3),
        ttft_s=round(state.ttft, 3) if state.ttft is not None else None,
        **state.phase.rates(),
        prompt_tokens=usage.prompt_tokens,
        generated_tokens=usage.generated_tokens,
        spliced_tokens=usage.spliced_tokens,
        prefilled_tokens=usage.prefilled_tokens,
        reprefill_tokens=state.reprefill,
        prefill_saved_tokens=max(0, state.reprefill - usage.prefilled_tokens),
        context_tokens=usage.context_tokens,
        rounds=usage.rounds,
        search_latencies_s=tuple(round(x, 3) for x in state.latencies),
        bad_calls=state.bad_calls,
        refused_calls=tuple(state.refused),
        finish=state.finish,
        budget_exhausted=state.budget_exhausted,
        context_forced=state.context_forced,
        truncated=state.truncated,
        reads=state.reading.stats() if state.reading is not None else None,
    )
    # A dialect whose model never writes [n] counts every source its searches returned as cited.
    cited = (cited_ids(final, (s.id for s in sources)) if state.dialect.cites
             else tuple(state.shown) if final.strip() else ())
    claims = None if state.settings.check_claims == "off" else tuple(check_answer(final, sources))
    return Done(answer=final, sources=sources, cited=cited, searches=state.searches, stopped=_stopped(state),
                end=_end(state, final), stats=stats, claims=claims)


def _stopped(state: _RunState) -> bool:
    return state.last is not None and state.last.kind == "stopped"


def _end(state: _RunState, answer: str) -> RunEnd:
    last = state.last.kind if state.last is not None else "answered"
    if last == "stopped":
        return "stopped"
    if state.finish == "length":
        return "token_limit"
    if state.finish == "context":
        return "context_full"
    if answer.strip():
        return "answered"
    if state.context_forced:
        return "context_full"
    return "rounds_exhausted" if last == "rounds_out" else "no_answer"


def _no_room(conv: Conversation, settings: Settings, observation: str) -> bool:
    need = conv.usage.context_tokens + conv.count_tokens(observation) + settings.answer_reserve_tokens
    return need > settings.context_limit


def _search(call: ToolCall, number: int, *, state: _RunState,
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
    while fitted and _no_room(conv, settings, state.dialect.format_results(
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

