"""One round of a conversation with an OpenAI-compatible server, for both of its APIs.

Chat completions (``chat.py``, QwQ's tool calls) and plain completions
(``completions.py``, the tag dialects) differ in the request they send,
how they read the stream and what they append between rounds; the round itself
is the same: estimate the prompt, cap the round's tokens to the context left,
open the stream abortably (Stop, a full context), read it with the client's
failures turned into messages, close it, and account the server's usage
numbers. ``RoundConversation`` does that once; each API fills in its parts.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any, Callable, Generator, Generic, Iterator, Protocol, TypeVar

from ...config import Settings
from ..base import BackendError, FinishReason, Usage, approx_tokens, round_token_limit
from .errors import ContextFull, clean_detail
from .link import RoundLink
from .stream import Api, account, guarded, open_round


class Server(Protocol):
    """What a conversation uses of its backend (``OpenAIBackend``): one server, shared by every
    conversation, with what it learned about the requests the server rejects."""

    model_id: str
    display_url: str
    dropped: set[str]

    @property
    def client(self) -> Any: ...

    def send(self, create: Callable[[int], Any], *, max_tokens: int, settings: Settings,
             serves: str) -> tuple[Any, int]: ...

    def chat_request(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                     settings: Settings, max_tokens: int) -> dict[str, Any]: ...

    def explain(self, exc: Exception, *, mid_stream: bool = False) -> BackendError: ...


class RoundState(Protocol):
    """What the base reads of a subclass's per-round record."""

    limit: int  # new tokens this round may produce
    usage: Any  # the server's usage numbers, if it sent them
    estimated: int  # generated tokens counted while streaming


R = TypeVar("R", bound=RoundState)


class RoundConversation(ABC, Generic[R]):
    """The round cycle both APIs share; subclasses supply the four API-specific steps."""

    API: Api = "chat"  # which endpoint it streams from, named in errors

    def __init__(self, *, backend: Server, settings: Settings, prompt: str) -> None:
        self._backend = backend
        self._settings = settings
        # Append-only pieces: the prompt, every round's text, every splice. Joined when asked
        # for, never grown by += (which copies the whole text at every delta).
        self._log = [prompt]
        self._round: R | None = None
        self.finish_reason: FinishReason | None = None
        n = approx_tokens(prompt)  # corrected by the server's usage numbers when it sends them
        self.usage = Usage(prompt_tokens=n, context_tokens=n)

    @abstractmethod
    def _new_round(self, limit: int) -> R:
        """A fresh record for the round about to start."""

    @abstractmethod
    def _send(self, max_tokens: int) -> tuple[Any, int]:
        """Open the streaming request: the stream and the ``max_tokens`` it was sent with."""

    @abstractmethod
    def _read(self, stream: Any, link: RoundLink) -> Iterator[str]:
        """The round's text as the local model would write it, recorded in ``self._round``."""

    @abstractmethod
    def _finished(self, link: RoundLink) -> FinishReason:
        """Why the round that was read to its end stopped."""

    def generate(self, *, cancel: threading.Event) -> Generator[str, None, None]:
        first = self.usage.rounds == 0
        self.usage.rounds += 1
        self.finish_reason = None
        max_tokens = round_token_limit(self._settings, self.usage.context_tokens)
        self._round = r = self._new_round(max(0, max_tokens))
        link = RoundLink(cancel, stall_s=self._settings.openai_timeout_s)
        url = self._backend.display_url
        try:
            try:
                opened = open_round(link, lambda: self._send(max_tokens), url=url, api=self.API)
            except ContextFull:
                self.finish_reason = "context"
                return
            if opened is None:  # only Stop aborts a round before its stream opens
                self.finish_reason = "cancelled"
                return
            stream, r.limit = opened
            try:
                yield from guarded(self._read(stream, link), link, url=url,
                                   timeout_s=self._settings.openai_timeout_s, explain=self._backend.explain,
                                   clean=lambda text: clean_detail(text, self._settings))
            finally:
                stream.close()  # also when the loop closes us early: the server stops generating
            self.finish_reason = self._finished(link)
        except GeneratorExit:
            self.finish_reason = "cancelled"  # the loop stopped reading: treat it as Stop
            raise
        finally:
            link.finish()
        account(self.usage, r.usage, estimated=r.estimated, first=first)

    def _current(self) -> R:
        """The round being read: ``generate`` opens it before ``_read`` and ``_finished`` run."""
        if self._round is None:
            raise RuntimeError("no round is open: _read and _finished run inside generate()")
        return self._round

    def _spliced(self, splice: str) -> None:
        """Append a tool result spliced into the context, and count it."""
        self._log.append(splice)
        n = approx_tokens(splice)
        self.usage.spliced_tokens += n
        self.usage.context_tokens += n

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def transcript(self) -> str:
        """The first prompt, every round's raw text and every tool response, in order (the
        same shape as the other backends). For plain completions this is exactly the text the
        server was last sent plus what came back; a chat server saw each round's history
        re-rendered, without the reasoning of earlier rounds."""
        return "".join(self._log)
