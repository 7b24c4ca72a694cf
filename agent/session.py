"""Wiring: build the backend a Settings asks for, and a multi-turn chat session.

A ``ChatSession`` is per person (per browser session, per CLI run): it owns the
conversation's record (``agent/records/conversation.py``), the only memory of the chat:
what the model remembers is built from it before each question. Each answer numbers its own sources from [1], so a
follow-up's [1] is its own first source; earlier answers go back to the model
with their citations written as the sources' domains, never as numbers it
could take for live ids. Only the backend (the loaded model) is shared
between sessions.
"""

from __future__ import annotations

import threading
from typing import Iterator, Sequence

from .backends.base import Backend, Conversation, Preflight
from .config import Settings
from .events import Done, Event
from .gpu import on_gpu, on_zero_gpu
from .index import DocumentIndex
from .claims.model_check import check_with_model
from .forking import fork_settings, run_fork
from .loop import run, validate_question
from .registry import backend_spec, load
from .reading import build_reader
from .records.conversation import Conversation as ConversationRecord, Turn
from .records.fork import ForkError, ForkPlan, plan_fork
from .records.trace import trace_meta
from .search import SearchChain, SourceRegistry, build_documents, build_search


def build_backend(settings: Settings) -> Backend:
    """The backend for ``settings.backend`` (``agent.registry``). Loading a local model is lazy."""
    backend: Backend = load(backend_spec(settings.backend).factory)(settings=settings)
    return backend


def preflight(backend: Backend) -> None:
    """Refuse now (``UsageError``) a model that would be refused only once its weights had loaded:
    the CLI and ``python app.py`` call it at start-up (the local model's tokenizer and dialect)."""
    if isinstance(backend, Preflight):
        backend.preflight()


def check_inputs(settings: Settings, backend: Backend) -> None:
    """Open once what every session opens (the search fixture, the document index, the page
    fixture), so a missing or malformed one is a ``UsageError`` at start-up, not at the first
    question: the app and the eval call it before they serve or ask anything."""
    ChatSession(settings=settings, backend=backend).close_reader()


class ChatSession:
    """One person's conversation: its record (what the model remembers is built from it); each
    answer's own source numbers."""

    def __init__(self, *, settings: Settings, backend: Backend, search: SearchChain | None = None,
                 record: ConversationRecord | None = None) -> None:
        self.settings = settings
        self.backend = backend
        self.search = search or build_search(settings)
        self.documents = build_documents(settings)  # the search_documents tool, or None
        self.own_indexes: list[DocumentIndex] = []  # this person's uploads (the browser's Documents)
        self.registry = SourceRegistry()
        # This person's page reader: its cache spares a follow-up question fetching the same pages.
        self.reader = build_reader(settings)
        self.record = record or ConversationRecord(keep_events=settings.max_history_turns)
        self.conversation: Conversation | None = None  # the latest question's, for transcripts

    @property
    def history(self) -> list[tuple[str, str]]:
        """What the model is told before the next question, built from the record."""
        return self.record.memory(max_turns=self.settings.max_history_turns)

    def use_indexes(self, indexes: list[DocumentIndex]) -> None:
        """Search this person's own indexes too (beside the operator's shared one), from the
        next question on: through ``search_documents``, or the search tool itself with ``local``."""
        self.own_indexes = list(indexes)
        self.rebuild_search(self.settings)

    def rebuild_search(self, settings: Settings) -> None:
        """New settings (another provider) keep this person's own indexes."""
        self.settings = settings
        self.search = build_search(settings, own_indexes=self.own_indexes)
        self.documents = build_documents(settings, own_indexes=self.own_indexes)
        self.close_reader()
        self.reader = build_reader(settings)

    def close_reader(self) -> None:
        """Close the page reader's connections (settings changed, or the session ended)."""
        if self.reader is not None:
            self.reader.close()

    def ask(self, question: str, *, cancel: threading.Event | None = None,
            turn: Turn | None = None) -> Iterator[Event]:
        """Run one question, recording its events in ``turn`` (by default a new turn after the
        record's head); a completed answer is remembered for follow-ups from there.

        Raises ``InputError`` at once for an empty or over-long question (and records nothing).
        """
        self.registry = SourceRegistry()  # this answer's numbering starts at [1]
        if on_zero_gpu():
            validate_question(question, self.settings)
            events = self._ask_on_zero_gpu(question, cancel or threading.Event())
        else:
            events = run(question, settings=self.settings, backend=self.backend, search=self.search,
                         registry=self.registry, history=self.history, cancel=cancel,
                         on_conversation=self._opened, documents=self.documents, reader=self.reader)
        return self._record(turn or self.record.begin(question.strip()), events)

    def fork(self, turn_id: str, *, at: int, question: str | None = None,
             cancel: threading.Event | None = None) -> Iterator[Event]:
        """Continue the record's turn ``turn_id`` from its event ``at`` in a new branch: everything
        before ``at`` is reused (the recorded search results and pages are not fetched again) and
        the model generates afresh from there; ``question`` (at 0 only) replaces the turn's own.
        The branch is a sibling of the turn in the record (``Conversation.fork``, with its
        ``fork_of`` and ``fork_at``) and becomes the head; the events are those of any answer.
        With a ``question`` the fork is at the turn's start whatever ``at`` says (within range).

        Raises ``ForkError`` (a ``UsageError``) at once when a fork makes no sense at ``at``
        (``agent/records/fork.py``) or the record holds no such turn, and ``InputError`` for an
        empty or over-long ``question``; nothing is recorded then.
        """
        original = self._turn(turn_id)
        if question is not None:
            question = validate_question(question, self.settings)
        plan = plan_fork([({"question": original.question, **original.meta}, original.events)], at,
                         question=question, where=f"turn {turn_id!r}")
        if plan.run != 0:
            raise ForkError(f"fork point {at!r} is past turn {turn_id!r}'s last event; a question after a turn is "
                            "a follow-up: ask it (ChatSession.ask) with that turn shown")
        return self.run_fork(turn_id, plan, cancel=cancel)

    def run_fork(self, turn_id: str, plan: ForkPlan, *, cancel: threading.Event | None = None) -> Iterator[Event]:
        """``fork`` with its plan made already (``plan_fork`` over the turn's recorded run, in any
        numbering of its events: the CLI counts a trace's events, the record joins deltas)."""
        original = self._turn(turn_id)
        settings = fork_settings(self.settings, original.meta)
        meta = {**original.meta, **trace_meta(question=plan.question, settings=settings,
                                               model=self.backend.model_id),
                "fork": {"turn": turn_id, "at": plan.event}}
        meta.pop("type", None)
        meta.pop("question", None)
        turn = self.record.fork(turn_id, at=plan.event, question=plan.question, meta=meta)
        self.registry = SourceRegistry()
        if on_zero_gpu():
            events = self._ask_on_zero_gpu(plan.question, cancel or threading.Event(), plan=plan, settings=settings)
        else:
            events = run_fork(plan, settings=settings, backend=self.backend, search=self.search,
                              history=self.history, registry=self.registry, cancel=cancel,
                              on_conversation=self._opened, documents=self.documents, reader=self.reader)
        return self._record(turn, events)

    def _turn(self, turn_id: str) -> Turn:
        turn = self.record.turns.get(turn_id)
        if turn is None:
            raise ForkError(f"no turn {turn_id!r} in this conversation; fork one of {sorted(self.record.turns)}")
        return turn

    def _ask_on_zero_gpu(self, question: str, cancel: threading.Event, *, plan: ForkPlan | None = None,
                         settings: Settings | None = None) -> Iterator[Event]:
        """The whole answer (or fork, ``plan``) in one GPU call; session state stays here, updated
        from events."""
        global _GPU_BACKEND
        _GPU_BACKEND = self.backend  # forked into the worker with the loaded model
        own = [str(index.directory) for index in self.own_indexes]
        remote = gpu_answer(question, settings or self.settings, list(self.history), own, plan)
        try:
            for event in remote:
                if isinstance(event, Done):
                    self.registry.adopt(event.sources)
                yield event
                if cancel.is_set():
                    # Closing the remote generator makes the worker close ours: its
                    # finally sets the worker's cancel event, ending generation.
                    break
        finally:
            close = getattr(remote, "close", None)
            if close is not None:
                close()

    def check_with_model(self, done: Done, *, cancel: threading.Event) -> tuple[Done, str | None]:
        """``done`` with its claims judged by this session's own (local) model, after the answer
        (``agent.claims.model_check``); on ZeroGPU in one GPU call of its own."""
        if on_zero_gpu():
            global _GPU_BACKEND
            _GPU_BACKEND = self.backend
            return gpu_check(done, self.settings)
        return check_with_model(done, self.backend, self.settings, cancel)

    def _opened(self, conversation: Conversation) -> None:
        self.conversation = conversation

    def _record(self, turn: Turn, events: Iterator[Event]) -> Iterator[Event]:
        secrets = self.settings.secrets
        for event in events:
            turn.add(event, secrets=secrets)
            if isinstance(event, Done):
                # Later answers need the numbers, titles and links, not the pages' text.
                self.registry.forget_content()
            yield event


_GPU_BACKEND: Backend | None = None


def answer_in_one_call(question: str, settings: Settings, history: list[tuple[str, str]],
                       own_index_dirs: Sequence[str] = (), plan: ForkPlan | None = None) -> Iterator[Event]:
    """One whole answer (every round, search and splice) as a real generator function; with
    ``plan``, the fork it describes (``run_fork``).

    This is what ZeroGPU runs in a forked worker: the arguments are pickled,
    so it takes plain data (history, index folders, a plan of frozen records) and numbers its own
    sources, and the cancel event lives here, set when the wrapper closes this generator.
    """
    if _GPU_BACKEND is None:
        raise RuntimeError("no backend was shared for GPU calls; call ChatSession.ask")
    cancel = threading.Event()
    registry = SourceRegistry()  # each answer numbers its own sources from [1]
    # A forked worker must not share the parent's SQLite connections: it opens the folders anew.
    own = [DocumentIndex(d, read_only=True) for d in own_index_dirs]
    search, documents = build_search(settings, own_indexes=own), build_documents(settings, own_indexes=own)
    try:
        if plan is not None:
            yield from run_fork(plan, settings=settings, backend=_GPU_BACKEND, search=search, registry=registry,
                                history=history, cancel=cancel, documents=documents, reader=build_reader(settings))
        else:
            yield from run(question, settings=settings, backend=_GPU_BACKEND, search=search, registry=registry,
                           history=history, cancel=cancel, documents=documents, reader=build_reader(settings))
    finally:
        cancel.set()
        for index in own:
            index.close()


def _gpu_seconds(question: str, settings: Settings, *_: object) -> int:
    return settings.gpu_duration_s


# Decorated at import: ZeroGPU registers GPU functions when the app launches.
gpu_answer = on_gpu(answer_in_one_call, duration_s=_gpu_seconds)


def check_in_one_call(done: Done, settings: Settings) -> tuple[Done, str | None]:
    """The model check of one answer, as ZeroGPU runs it in a forked worker (plain data in and out)."""
    if _GPU_BACKEND is None:
        raise RuntimeError("no backend was shared for GPU calls; call ChatSession.check_with_model")
    return check_with_model(done, _GPU_BACKEND, settings, threading.Event())


def _check_seconds(done: Done, settings: Settings) -> int:
    return max(1, min(settings.gpu_duration_s, int(settings.judge_timeout_s) + 10))


gpu_check = on_gpu(check_in_one_call, duration_s=_check_seconds)
