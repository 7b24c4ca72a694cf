"""Search-R1 / ReSearch models on an OpenAI-compatible server: ``POST /v1/completions``.

These protocols splice results *inside* the assistant turn and let the model
carry on, which chat completions cannot express; the plain completions API can:
each round sends the whole text so far (prompt, rounds, splices) and stops at
the dialect's stop strings, exactly like the local backend's append-only
sequence (a vLLM prefix cache then prefills only the new tail).

The API leaves stop strings out of the returned text. vLLM puts them back when
asked (``include_stop_str_in_output``) and names the one it hit
(``stop_reason``); for servers that do neither, a stop string that closes a tag
the round opened is restored, so the loop's parser sees the same text as with
the local model. Text past a stop is never passed on, in case a server ignores
``stop``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from ...config import Settings
from ...dialects import Dialect
from ..base import FinishReason, approx_tokens
from .link import RoundLink
from .round import RoundConversation, Server
from .stream import MalformedEvent, chat_chunks_on_completions, events, not_a_stream, unfinished


@dataclass
class _Round:
    limit: int  # new tokens this round may produce
    parts: list[str] = field(default_factory=list)  # the round's text, never re-joined per delta
    tail: str = ""  # the last characters, where a stop string split across chunks begins
    stop: str | None = None  # "call" or "end" once the round reached a stop string
    cut_at_limit: bool = False  # the server sent more than ``limit`` tokens: reading stopped
    with_choices: int = 0  # events that carried a choice, as completion chunks do
    finish: str | None = None
    stop_reason: Any = None
    usage: Any = None
    estimated: int = 0


class CompletionConversation(RoundConversation[_Round]):
    API = "completions"  # the plain completions API: results are spliced inside the assistant turn

    def __init__(self, *, backend: Server, messages: list[dict[str, Any]],
                 settings: Settings, dialect: Dialect) -> None:
        super().__init__(backend=backend, settings=settings, prompt=dialect.render_prompt(messages, []))
        self._dialect = dialect
        self._tail_chars = max(map(len, dialect.stops), default=1) - 1

    def _new_round(self, limit: int) -> _Round:
        return _Round(limit=limit)

    def _send(self, max_tokens: int) -> tuple[Any, int]:
        b = self._backend
        return b.send(lambda m: b.client.completions.create(**self._request(m)), max_tokens=max_tokens,
                      settings=self._settings, serves="serves OpenAI-compatible /v1/completions")

    def _request(self, max_tokens: int) -> dict[str, Any]:
        s, dropped = self._settings, self._backend.dropped
        extra: dict[str, Any] = {}
        if "top_k" not in dropped:
            extra["top_k"] = s.top_k
        if "include_stop_str_in_output" not in dropped:
            extra["include_stop_str_in_output"] = True
        body: dict[str, Any] = dict(model=self._backend.model_id, prompt=self.transcript(), stream=True,
                                    temperature=s.temperature, top_p=s.top_p, max_tokens=max_tokens,
                                    stop=list(self._dialect.stops), extra_body=extra)
        if "stream_options" not in dropped:
            body["stream_options"] = {"include_usage": True}
        return body

    def _read(self, stream: Any, link: RoundLink) -> Iterator[str]:
        r, url = self._current(), self._backend.display_url
        for chunk in events(stream):
            usage, choice = _completion_piece(chunk)
            if choice is _CHAT_CHUNK:
                raise chat_chunks_on_completions(url)
            r.with_choices += choice is not None
            if usage is not None:
                r.usage = usage
            if link.aborted is not None:
                return
            if choice is not None:
                text, finish, stop_reason = choice
                if (r.stop is not None or r.cut_at_limit) and text:
                    return  # the server ignores ``stop`` or ``max_tokens``: closing aborts its work
                yield from self._emit(r, text, link)
                if finish:
                    r.finish, r.stop_reason = finish, stop_reason
        if link.aborted is not None or r.stop is not None or r.cut_at_limit:
            return
        if r.with_choices == 0:  # no events at all, or events of some other API
            raise not_a_stream(url, stream, api="completions")
        if r.finish is None:
            raise unfinished(url)
        if r.finish == "stop":
            yield from self._emit(r, self._missing_stop(r), link)

    def _emit(self, r: _Round, text: str, link: RoundLink) -> Iterator[str]:
        if not text or r.stop is not None or r.cut_at_limit:
            return
        # Only a stop that ends in the new text can be new: search the tail before it, not the round.
        hit = self._dialect.first_stop(r.tail + text)
        if hit is not None:
            text = text[: hit[0] - len(r.tail)]
            r.stop = hit[1]
        r.tail = (r.tail + text)[-self._tail_chars:] if self._tail_chars else ""
        r.parts.append(text)
        self._log.append(text)
        link.progressed()
        n = max(1, approx_tokens(text))
        r.estimated += n
        self.usage.generated_tokens += n
        self.usage.context_tokens += n
        if r.estimated >= r.limit and r.stop is None:
            r.cut_at_limit = True
        yield text

    def _missing_stop(self, r: _Round) -> str:
        """The stop string the server hit and left out, or "" when it ended the turn. A round
        whose text ends inside a tag (``<search> zebra </sea``) was cut there: nothing is
        restored, so the cut tag stays malformed instead of becoming the query ``zebra </sea``."""
        if isinstance(r.stop_reason, str):
            return r.stop_reason if r.stop_reason in self._dialect.stops else ""
        text = "".join(r.parts)
        if any(text.endswith(stop[:n]) for stop in self._dialect.stops for n in range(1, len(stop))):
            return ""
        for stop in self._dialect.stops:
            opener = stop.replace("</", "<", 1)
            if text.rfind(opener) > text.rfind(stop):
                return stop
        return ""

    def _finished(self, link: RoundLink) -> FinishReason:
        r = self._current()
        if link.aborted == "cancelled":
            return "cancelled"
        if r.stop == "call":
            return "tool_call"
        return "length" if r.finish == "length" or r.cut_at_limit else "stop"

    def add_tool_result(self, text: str) -> None:
        self._spliced(self._dialect.splice(text))

    def add_recorded(self, text: str) -> None:
        self._log.append(text)  # sent with the rest of the text at the next round
        self.usage.context_tokens += approx_tokens(text)


# What _completion_piece returns for a chunk shaped like a chat completion's (choices[].delta).
_CHAT_CHUNK: Any = ("", None, None)


def _completion_piece(chunk: Any) -> tuple[Any, tuple[str, str | None, Any] | None]:
    """One completions event as (usage, (text, finish_reason, stop_reason) or None); only this
    reading of the server's data turns into "cannot read", never our handling of it."""
    try:
        usage = getattr(chunk, "usage", None)
        choices = list(chunk.choices or [])[:1]
        if not choices:
            return usage, None
        choice = choices[0]
        text = getattr(choice, "text", None)
        if not isinstance(text, str) and getattr(choice, "delta", None) is not None:
            return usage, _CHAT_CHUNK  # a chat server's chunk: its text would be dropped unseen
        text = text if isinstance(text, str) else ""
        return usage, (text, choice.finish_reason, getattr(choice, "stop_reason", None))
    except (AttributeError, TypeError, ValueError) as exc:
        raise MalformedEvent(f"{type(exc).__name__}: {exc}") from None
