"""Wiring: build the backend a Settings asks for, and a multi-turn chat session.

A ``ChatSession`` is per person (per browser session, per CLI run): it owns the
source numbering and the history of final answers. Only the backend (the
loaded model) is shared between sessions.
"""

from __future__ import annotations

import threading
from typing import Iterator

from .backends.base import Backend, Conversation
from .config import Settings
from .events import Done, Event
from .loop import run
from .search import SearchChain, SourceRegistry, build_search


def build_backend(settings: Settings) -> Backend:
    """The backend for ``settings.backend``. Loading a local model is lazy."""
    match settings.backend:
        case "scripted":
            from .backends.scripted import ScriptedBackend

            if not settings.model_script:
                raise ValueError("the scripted backend needs a model script (--model-script FILE)")
            return ScriptedBackend.from_file(settings.model_script, settings=settings)
        case "transformers":
            from .backends.transformers import TransformersBackend

            return TransformersBackend(settings=settings)
        case "openai":
            from .backends.openai import OpenAIBackend

            return OpenAIBackend(settings=settings)


class ChatSession:
    """One person's conversation: global source numbers and final-answer history."""

    def __init__(self, *, settings: Settings, backend: Backend, search: SearchChain | None = None) -> None:
        self.settings = settings
        self.backend = backend
        self.search = search or build_search(settings)
        self.registry = SourceRegistry()
        self.history: list[tuple[str, str]] = []
        self.conversation: Conversation | None = None  # the latest question's, for transcripts

    def ask(self, question: str, *, cancel: threading.Event | None = None) -> Iterator[Event]:
        """Run one question; on a completed answer, remember it for follow-ups.

        Raises ``InputError`` at once for an empty or over-long question.
        """
        events = run(question, settings=self.settings, backend=self.backend, search=self.search,
                     registry=self.registry, history=self.history, cancel=cancel,
                     on_conversation=self._opened)
        return self._remember(question.strip(), events)

    def _opened(self, conversation: Conversation) -> None:
        self.conversation = conversation

    def _remember(self, question: str, events: Iterator[Event]) -> Iterator[Event]:
        for event in events:
            if isinstance(event, Done) and not event.stopped and event.answer.strip():
                # Only final answers go back to the model: reasoning and
                # search results of earlier turns would flood the context.
                self.history += [("user", question), ("assistant", event.answer)]
            yield event
