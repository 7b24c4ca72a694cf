"""The agent loop: generate -> tool call -> search -> splice -> generate.

Append-only, one assistant turn per question (docs/DESIGN.md). Recoverable model
mistakes become an observation the model reads; infrastructure failures become
an ``Error`` event. Every run that is not broken by such a failure ends with
exactly one ``Done``.

This module starts a run and ends it; the package holds the rest, one job a module:
``state`` (what a run carries, how a round ended), ``rounds`` (the round driver),
``decide`` (run or refuse a call), ``tools`` (running a call and splicing its result),
``finish`` (the ``Done``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterable, Iterator

from ..backends.base import Backend, BackendError, Conversation
from ..claims.judge import judge_claims, judge_for
from ..config import Settings, encodable, redact
from ..dialects import get_dialect
from ..document_tool import add_note, documents_note, tools_for
from ..errors import UsageError, cause_of
from ..events import Error, Event
from ..prompt import READ_AUTO_NOTE, READ_NOTE
from ..read import PageReader
from ..reading import RunReading
from ..reading_model import ModelReader
from ..registry import provider_spec
from ..search import SearchChain, SourceRegistry
from .decide import CallDecision, Refuse, RunCall, decide_call
from .finish import finish
from .rounds import rounds
from .state import RoundKind, RoundOutcome, RunState
from .tools import can_open, opener

__all__ = ["CallDecision", "InputError", "PARTIAL_NOTE", "Refuse", "RoundKind", "RoundOutcome", "RunCall",
           "decide_call", "run", "validate_question"]

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
    state = RunState(settings=settings, dialect=dialect, search=search,
                     registry=registry if registry is not None else SourceRegistry(),
                     cancel=cancel or threading.Event(), clock=clock, t0=clock(),
                     documents=documents if dialect.tools else None)
    if settings.read != "off" and reader is not None:
        model = (ModelReader(backend=backend, settings=settings, question=text, cancel=state.cancel)
                 if settings.reader == "model" else None)
        local = search if _searches_local_documents(settings) else None
        state.reading = RunReading(settings=settings, reader=reader, question=text, model=model,
                                   documents=state.documents or local)
    return _run(text, state, backend=backend, history=list(history), on_conversation=on_conversation)


def _searches_local_documents(settings: Settings) -> bool:
    """The search tool itself searches document indexes on this machine (``local``, ``uploads``),
    whose whole documents can be read."""
    spec = provider_spec(settings.provider)
    return spec.searches_documents and spec.offline


def _run(question: str, state: RunState, *, backend: Backend, history: list[tuple[str, str]],
         on_conversation: Callable[[Conversation], None] | None) -> Iterator[Event]:
    settings, dialect = state.settings, state.dialect
    # The newest turns only: history may come from a client, which can send any number of them.
    recent = [(role, encodable(text)) for role, text in history[-2 * settings.max_history_turns:]]
    messages = dialect.build_messages(question, max_searches=settings.max_searches, history=recent)
    if dialect.tools:
        add_note(messages, documents_note(settings, state.search, state.documents))
        if (reading := opener(state)) is not None:
            auto = READ_AUTO_NOTE.format(n=settings.read_top) if reading.auto else ""
            add_note(messages, READ_NOTE.format(auto=auto))
    try:
        conv = backend.start(messages, tools_for(dialect, state.documents, open_page=can_open(state)),
                             settings=settings)
        if on_conversation is not None:
            on_conversation(conv)
        yield from rounds(conv, state)
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
    done = finish(conv, state)
    judge = judge_for(settings) if settings.check_claims == "judge" and done.claims else None
    if judge is not None and not state.cancel.is_set():
        done, problem = judge_claims(done, judge)
        if problem is not None:
            yield Error(message=redact(problem, settings.secrets))
    yield done
