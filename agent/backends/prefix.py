"""A backend that puts a recorded prefix back before generating: how a fork continues a run.

``PrefixBackend`` wraps any backend. Its conversation plays the recorded rounds first, one per
``generate`` call, without generating: each round's text (the dialect's ``write_round``
chunks) is handed to the real conversation with ``add_recorded`` and streamed to the loop as
if the model had just written it, so the loop parses the same calls, runs them (served from
the recorded results, ``agent/forking.py``) and splices the same observations. Then the round
the fork continues: its recorded text so far, and the real model writing on from there in
the same round. A local model therefore prefills the whole recorded prefix once, in the
first round it really generates; a server is sent it as the conversation so far; the
scripted backend's script supplies what comes after the fork.
"""

from __future__ import annotations

import threading
from typing import Any, Generator, Sequence

from ..config import Settings
from ..events import FinishReason
from .base import Backend, Conversation, Usage


class PrefixConversation:
    """``inner`` with the recorded ``rounds`` (each ended by a call) and the ``partial`` round
    played before anything is generated."""

    def __init__(self, inner: Conversation, *, rounds: Sequence[Sequence[str]], partial: Sequence[str]) -> None:
        self._inner = inner
        self._rounds = [list(r) for r in rounds]
        self._partial = list(partial)
        self.usage: Usage = inner.usage  # the same object: the real conversation counts the tokens
        self.finish_reason: FinishReason | None = None
        # True while the chunks handed out are recorded text, not the model's: the loop's time to
        # first token waits for the first chunk the model really writes.
        self.replaying = False

    @property
    def inner(self) -> Conversation:
        """The real conversation (its tokens, its cache)."""
        return self._inner

    def generate(self, *, cancel: threading.Event) -> Generator[str, None, None]:
        self.finish_reason = None
        if self._rounds:
            chunks = self._rounds.pop(0)
            self._inner.add_recorded("".join(chunks))
            self.finish_reason = "tool_call"  # every recorded round ended with its call
            yield from self._replayed(chunks)
            return
        if self._partial:
            chunks, self._partial = self._partial, []
            self._inner.add_recorded("".join(chunks))
            yield from self._replayed(chunks)
        try:
            yield from self._inner.generate(cancel=cancel)
        finally:
            self.finish_reason = self._inner.finish_reason

    def _replayed(self, chunks: Sequence[str]) -> Generator[str, None, None]:
        self.replaying = True
        try:
            yield from chunks
        finally:
            self.replaying = False

    def add_tool_result(self, text: str) -> None:
        self._inner.add_tool_result(text)

    def add_recorded(self, text: str) -> None:
        self._inner.add_recorded(text)

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)

    def transcript(self) -> str:
        return self._inner.transcript()


class PrefixBackend:
    """``inner`` whose next conversation starts with a recorded prefix (one fork, one run)."""

    def __init__(self, inner: Backend, *, rounds: Sequence[Sequence[str]], partial: Sequence[str]) -> None:
        self._inner = inner
        self._rounds = rounds
        self._partial = partial
        self.name = inner.name
        self.model_id = inner.model_id

    @property
    def loaded(self) -> bool:
        return self._inner.loaded

    def load(self) -> None:
        self._inner.load()

    def start(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
              settings: Settings | None = None) -> PrefixConversation:
        conv = self._inner.start(messages, tools, settings=settings)
        return PrefixConversation(conv, rounds=self._rounds, partial=self._partial)

    def close(self) -> None:
        """The wrapped backend is the caller's (shared by sessions): closing a fork closes nothing."""
