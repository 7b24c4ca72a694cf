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

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

import openai

from ..config import Settings
from ..dialects import Dialect
from .base import BackendError, FinishReason, Usage, round_token_limit
from .openai_cancel import abort_on_cancel
from .openai_errors import ContextFull, clean_detail, server_detail
from .scripted import approx_tokens

if TYPE_CHECKING:
    from .openai import OpenAIBackend


@dataclass
class _Round:
    text: str = ""
    stop: str | None = None  # "call" or "end" once the round reached a stop string
    finish: str | None = None
    stop_reason: Any = None
    usage: Any = None
    estimated: int = 0
    extra: list[str] = field(default_factory=list)


class CompletionConversation:
    def __init__(self, *, backend: "OpenAIBackend", messages: list[dict[str, Any]],
                 settings: Settings, dialect: Dialect) -> None:
        self._backend = backend
        self._settings = settings
        self._dialect = dialect
        self._text = dialect.render_prompt(messages, [])
        self.finish_reason: FinishReason | None = None
        n = approx_tokens(self._text)  # corrected by the server's usage numbers when it sends them
        self.usage = Usage(prompt_tokens=n, context_tokens=n)

    def generate(self, *, cancel: threading.Event) -> Iterator[str]:
        first = self.usage.rounds == 0
        self.usage.rounds += 1
        max_tokens = round_token_limit(self._settings, self.usage.context_tokens)
        if max_tokens <= 0:
            self.finish_reason = "context"
            return
        if cancel.is_set():
            self.finish_reason = "cancelled"
            return
        try:
            stream = self._open(max_tokens)
        except ContextFull:
            self.finish_reason = "context"
            return
        r = _Round()
        done = threading.Event()
        threading.Thread(target=abort_on_cancel, args=(cancel, done, stream), daemon=True,
                         name="openai-cancel").start()
        try:
            yield from self._read(stream, r, cancel)
        except GeneratorExit:
            self.finish_reason = "cancelled"  # the loop stopped reading: treat it as Stop
            raise
        except openai.APIError as exc:
            if not cancel.is_set():
                raise self._backend.explain(exc, mid_stream=True) from None
            r.finish = "cancelled"
        except (ValueError, AttributeError, TypeError) as exc:  # a malformed event
            raise BackendError(f"the model server at {self._backend.base_url} sent a stream event this "
                               f"client cannot read ({type(exc).__name__}: "
                               f"{clean_detail(str(exc), self._settings)}); is it an OpenAI-compatible "
                               "completions server?") from None
        finally:
            done.set()
            stream.close()
        self.finish_reason = self._finish(r, cancel)
        self._account(r, first=first)

    def _open(self, max_tokens: int) -> Any:
        b = self._backend
        for _attempt in range(5):
            try:
                return b.client.completions.create(**self._request(max_tokens))
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                room = b.adjust(server_detail(exc, self._settings), max_tokens)
                if room is None:
                    raise b.explain(exc) from None
                max_tokens = room
            except openai.APIError as exc:
                raise b.explain(exc) from None
        raise BackendError(f"the model server at {b.base_url} kept rejecting the request; "
                           "check that it serves OpenAI-compatible /v1/completions")

    def _request(self, max_tokens: int) -> dict[str, Any]:
        s, dropped = self._settings, self._backend.dropped
        extra: dict[str, Any] = {}
        if "top_k" not in dropped:
            extra["top_k"] = s.top_k
        if "include_stop_str_in_output" not in dropped:
            extra["include_stop_str_in_output"] = True
        body: dict[str, Any] = dict(model=self._backend.model_id, prompt=self._text, stream=True,
                                    temperature=s.temperature, top_p=s.top_p, max_tokens=max_tokens,
                                    stop=list(self._dialect.stops), extra_body=extra)
        if "stream_options" not in dropped:
            body["stream_options"] = {"include_usage": True}
        return body

    def _read(self, stream: Any, r: _Round, cancel: threading.Event) -> Iterator[str]:
        for chunk in stream:
            if getattr(chunk, "usage", None) is not None:
                r.usage = chunk.usage
            if cancel.is_set():
                r.finish = "cancelled"
                return
            for choice in (chunk.choices or [])[:1]:
                if r.stop is not None and choice.text:
                    return  # the server ignores ``stop``: closing the stream aborts its work
                yield from self._emit(r, choice.text or "")
                if choice.finish_reason:
                    r.finish = choice.finish_reason
                    r.stop_reason = getattr(choice, "stop_reason", None)
        if r.stop is None and r.finish == "stop":
            yield from self._emit(r, self._missing_stop(r))

    def _emit(self, r: _Round, text: str) -> Iterator[str]:
        if not text or r.stop is not None:
            return
        hit = self._dialect.first_stop(r.text + text)
        if hit is not None:
            text = text[: hit[0] - len(r.text)]
            r.stop = hit[1]
        r.text += text
        self._text += text
        n = max(1, approx_tokens(text))
        r.estimated += n
        self.usage.generated_tokens += n
        self.usage.context_tokens += n
        yield text

    def _missing_stop(self, r: _Round) -> str:
        """The stop string the server hit and left out, or "" when it ended the turn."""
        if isinstance(r.stop_reason, str):
            return r.stop_reason if r.stop_reason in self._dialect.stops else ""
        for stop in self._dialect.stops:
            opener = stop.replace("</", "<", 1)
            if r.text.rfind(opener) > r.text.rfind(stop):
                return stop
        return ""

    @staticmethod
    def _finish(r: _Round, cancel: threading.Event) -> FinishReason:
        if r.finish == "cancelled" or cancel.is_set():
            return "cancelled"
        if r.stop == "call":
            return "tool_call"
        return "length" if r.finish == "length" else "stop"

    def _account(self, r: _Round, *, first: bool) -> None:
        """Prefer the server's numbers; only what its prefix cache did not reuse counts as prefilled."""
        u, usage = self.usage, r.usage
        prompt = getattr(usage, "prompt_tokens", None)
        if not isinstance(prompt, int):
            u.prefilled_tokens += u.context_tokens - r.estimated
            return
        completion = getattr(usage, "completion_tokens", None) or r.estimated
        cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None) or 0
        if first:
            u.prompt_tokens = prompt
        u.prefilled_tokens += max(0, prompt - cached)
        u.generated_tokens += completion - r.estimated
        u.context_tokens = prompt + completion

    def add_tool_result(self, text: str) -> None:
        splice = self._dialect.splice(text)
        self._text += splice
        n = approx_tokens(splice)
        self.usage.spliced_tokens += n
        self.usage.context_tokens += n

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def transcript(self) -> str:
        """Exactly the text the server was last sent, plus what came back."""
        return self._text
