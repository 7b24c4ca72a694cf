"""The agent loop: generate -> tool call -> search -> splice -> generate.

Append-only, one assistant turn per question (DESIGN.md). Recoverable model
mistakes become an observation the model reads; infrastructure failures become
an ``Error`` event. Every run that is not broken by such a failure ends with
exactly one ``Done``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from .backends.base import Backend, BackendError, Conversation
from .config import Settings, encodable, redact
from .dialects import Dialect, get_dialect
from .events import Answer, Done, Error, Event, SearchDone, SearchStart, Thinking
from .parser import BadToolCall, ToolCall, parse_call
from .prompt import (CITATION, DOCUMENTS_NOTE, DOCUMENTS_TOOL_NAME, LOCAL_NOTE, SEARCH_DOCUMENTS_TOOL,
                     escape_untrusted)
from .search import AllProvidersFailed, SearchChain, Source, SourceRegistry, documents_about
from .search.base import SearchResult
from .search.sources import registrable


class InputError(ValueError):
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


def cited_ids(answer: str, known: Iterable[int]) -> tuple[int, ...]:
    """Ids cited as [n] or [n, m] that exist, in order of first citation."""
    known_set, seen = set(known), []
    for group in CITATION.findall(answer):
        for part in group.split(","):
            n = int(part)
            if n in known_set and n not in seen:
                seen.append(n)
    return tuple(seen)


PARTIAL_NOTE = "The answer shown so far is partial: it was cut off and is not kept for follow-up questions."

# Why a tool call was answered without running it: the ``reason`` in ``stats["refused_calls"]``.
REFUSAL_REASONS = {"budget": "over the search budget", "context": "context nearly full",
                   "malformed": "malformed"}


@dataclass
class _Phase:
    """Tokens and seconds spent producing thinking vs answer text."""

    tokens: dict[str, int] = field(default_factory=lambda: {"thinking": 0, "answer": 0})
    seconds: dict[str, float] = field(default_factory=lambda: {"thinking": 0.0, "answer": 0.0})

    def rates(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {}
        for name in ("thinking", "answer"):
            out[f"{name}_tokens"] = self.tokens[name]
            s = self.seconds[name]
            out[f"{name}_tok_s"] = round(self.tokens[name] / s, 2) if s > 0 else 0.0
        return out


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
) -> Iterator[Event]:
    """Answer ``question``, yielding events. Raises ``InputError`` before any event
    for an empty or over-long question. ``on_conversation`` receives the backend
    conversation once it is open (for transcripts). ``documents``, when given and the
    dialect calls tools by name (QwQ), is offered as a second tool, ``search_documents``."""
    text = validate_question(question, settings)
    return _run(text, settings=settings, backend=backend, search=search, documents=documents,
                registry=registry if registry is not None else SourceRegistry(),
                history=list(history), cancel=cancel or threading.Event(), clock=clock,
                on_conversation=on_conversation)


def _run(question, *, settings, backend, search, documents, registry, history, cancel, clock,
         on_conversation) -> Iterator[Event]:
    t0 = clock()
    dialect = get_dialect(settings.dialect)
    notes = dialect.notes
    # The newest turns only: history may come from a client, which can send any number of them.
    recent = [(role, encodable(text)) for role, text in history[-2 * settings.max_history_turns:]]
    # Search-R1 and ReSearch models know one <search> tag and a verbatim trained prompt: no second tool.
    documents = documents if dialect.tools else None
    tools = list(dialect.tools) + ([SEARCH_DOCUMENTS_TOOL] if documents is not None else [])
    messages = dialect.build_messages(question, max_searches=settings.max_searches, history=recent)
    if dialect.tools:
        _add_note(messages, _documents_note(settings, search, documents))
    try:
        conv = backend.start(messages, tools, settings=settings)
    except BackendError as exc:
        yield Error(message=redact(str(exc), settings.secrets))
        return
    if on_conversation is not None:
        on_conversation(conv)
    answer: list[str] = []
    phase = _Phase()
    latencies: list[float] = []
    reprefill_cost = 0
    searches = bad_calls = 0
    # Calls the loop answered without running, so a person can see why a search never happened.
    refused: list[dict[str, str]] = []
    shown: list[int] = []  # source ids this run's searches returned, in order
    flags = {"budget_exhausted": False, "context_forced": False, "truncated": False}
    ttft: float | None = None
    stopped = False
    last_finish = None
    try:
        for _round in range(settings.max_rounds):
            reprefill_cost += conv.usage.context_tokens
            parser = dialect.new_parser()
            round_thinking: list[str] = []
            gen = conv.generate(cancel=cancel)
            last_t, last_tokens = clock(), conv.usage.generated_tokens
            try:
                for chunk in gen:
                    now = clock()
                    if ttft is None:
                        ttft = now - t0
                    state = "answer" if parser.state == "answer" else "thinking"
                    phase.tokens[state] += conv.usage.generated_tokens - last_tokens
                    phase.seconds[state] += now - last_t
                    last_t, last_tokens = now, conv.usage.generated_tokens
                    for kind, delta in parser.feed(encodable(chunk)):
                        yield from _delta(kind, delta, answer, round_thinking)
                for kind, delta in parser.close():
                    yield from _delta(kind, delta, answer, round_thinking)
            finally:
                gen.close()
            last_finish = conv.finish_reason
            if cancel.is_set() or last_finish == "cancelled":
                stopped = True
                break
            if last_finish in ("length", "context"):
                flags["truncated"] = True  # a call cut off here is never executed
                break
            if parser.call_text is None:
                if notes.no_action is not None and not answer and last_finish != "tool_call":
                    # The protocol's own retry: the model ended a round without acting.
                    bad_calls += 1
                    refused.append({"reason": "malformed", "detail": "neither a search nor an answer"})
                    conv.add_tool_result(notes.no_action)
                    continue
                if dialect.promote_unclosed_thinking and not parser.saw_think_close \
                        and not answer and round_thinking:
                    # The model ended without </think>: its reasoning is all the answer there is.
                    promoted = "".join(round_thinking).strip()
                    answer.append(promoted)
                    yield Answer(text=promoted)
                break
            call = (parse_call(parser.call_text, tools=tuple(t["function"]["name"] for t in tools))
                    if documents is not None else dialect.parse_call(parser.call_text))
            if isinstance(call, BadToolCall):
                bad_calls += 1
                refused.append({"reason": "malformed", "detail": call.problem})
                conv.add_tool_result(notes.bad_call.format(problem=escape_untrusted(call.problem)))
                continue
            if searches >= settings.max_searches:
                flags["budget_exhausted"] = True
                refused.append({"reason": "budget", "query": call.query})
                conv.add_tool_result(notes.budget_spent.format(n=settings.max_searches))
                continue
            if _no_room(conv, settings, notes.context_full):
                flags["context_forced"] = True
                refused.append({"reason": "context", "query": call.query})
                conv.add_tool_result(notes.context_full)
                continue
            searches += 1
            yield SearchStart(query=call.query, round=searches, max_searches=settings.max_searches,
                              tool=call.name)
            chain = documents if call.name == DOCUMENTS_TOOL_NAME and documents is not None else search
            done, observation = _search(call, searches, dialect=dialect, settings=settings, search=chain,
                                        registry=registry, conv=conv, cancel=cancel, clock=clock)
            latencies.append(done.latency_s)
            shown.extend(r.id for r in done.results if r.id not in shown)
            if done.error is None and observation is None:
                flags["context_forced"] = True
                observation = notes.context_full
            yield done
            if cancel.is_set():
                stopped = True
                break
            conv.add_tool_result(observation)
    except BackendError as exc:
        message = redact(str(exc), settings.secrets)
        if answer:  # never mistaken for a finished answer: no Done follows, and it says so
            message += f" {PARTIAL_NOTE}"
        yield Error(message=message)
        return
    final = "".join(answer)
    sources = tuple(s.ref() for s in registry.all())
    usage = conv.usage
    stats = {
        "total_s": round(clock() - t0, 3),
        "ttft_s": round(ttft, 3) if ttft is not None else None,
        **phase.rates(),
        "prompt_tokens": usage.prompt_tokens,
        "generated_tokens": usage.generated_tokens,
        "spliced_tokens": usage.spliced_tokens,
        "prefilled_tokens": usage.prefilled_tokens,
        "reprefill_tokens": reprefill_cost,
        "prefill_saved_tokens": max(0, reprefill_cost - usage.prefilled_tokens),
        "context_tokens": usage.context_tokens,
        "rounds": usage.rounds,
        "search_latencies_s": [round(x, 3) for x in latencies],
        "bad_calls": bad_calls,
        "refused_calls": refused,
        "finish": last_finish,
        **flags,
    }
    yield Done(
        answer=final,
        sources=sources,
        cited=(cited_ids(final, (s.id for s in sources)) if dialect.cites
               else tuple(shown) if final.strip() else ()),
        searches=searches,
        stopped=stopped,
        stats=stats,
    )


def _delta(kind: str, text: str, answer: list[str], thinking: list[str]) -> Iterator[Event]:
    if kind == "answer":
        answer.append(text)
        yield Answer(text=text)
    else:
        thinking.append(text)
        yield Thinking(text=text)


def _documents_note(settings: Settings, search: SearchChain, documents: SearchChain | None) -> str | None:
    """What the system prompt says about documents: the second tool, or a web_search that
    searches documents instead of the web."""
    if documents is not None:
        return DOCUMENTS_NOTE.format(about=documents_about(documents))
    if settings.provider in ("local", "retriever"):
        return LOCAL_NOTE.format(about=documents_about(search))
    return None


def _add_note(messages: list[dict[str, str]], note: str | None) -> None:
    """``note`` as a paragraph of the system prompt. Document names are outside text: escaped."""
    if note and messages and messages[0]["role"] == "system":
        messages[0] = {**messages[0], "content": messages[0]["content"] + "\n\n" + escape_untrusted(note)}


def _no_room(conv: Conversation, settings: Settings, observation: str) -> bool:
    need = conv.usage.context_tokens + conv.count_tokens(observation) + settings.answer_reserve_tokens
    return need > settings.context_limit


def _search(call: ToolCall, number: int, *, dialect: Dialect, settings: Settings, search: SearchChain,
            registry: SourceRegistry, conv: Conversation, cancel: threading.Event,
            clock: Callable[[], float]) -> tuple[SearchDone, str | None]:
    """Run one search; returns its event and the observation to splice.

    The observation is ``None`` when not even one result fits the context.
    """
    start = clock()
    try:
        answer = search.search(call.query, max_results=settings.results_per_search, cancel=cancel)
    except AllProvidersFailed as exc:
        # Provider messages may quote what the server said, and servers echo keys.
        reason = redact(str(exc), settings.secrets)
        return (SearchDone(query=call.query, provider=search.name, latency_s=round(clock() - start, 3),
                           error=reason, tool=call.name),
                dialect.notes.search_failed.format(reason=escape_untrusted(reason)))
    latency = round(clock() - start, 3)
    results = [r for r in answer.results if registrable(r)]
    fitted = list(results)
    # Drop results from the end until the observation fits the context, and
    # register only those, so no number is given to a source the model never saw.
    while fitted and _no_room(conv, settings, dialect.format_results(
            call.query, _preview(fitted), number=number, budget=settings.max_searches)):
        fitted.pop()
    if results and not fitted:
        return SearchDone(query=call.query, provider=answer.provider, latency_s=latency, tool=call.name), None
    sources: list[Source] = []
    for result in fitted:
        source = registry.register(result)
        if source is not None and source not in sources:
            sources.append(source)
    observation = dialect.format_results(call.query, sources, number=number, budget=settings.max_searches)
    return (SearchDone(query=call.query, provider=answer.provider, latency_s=latency,
                       results=tuple(s.ref() for s in sources), tool=call.name), observation)


def _preview(results: list[SearchResult]) -> list[Source]:
    """Stand-in sources to measure an observation before numbers are given out."""
    return [Source(id=999, title=r.title, url=r.url, content=r.content, kind=r.kind, file=r.file, page=r.page)
            for r in results]
