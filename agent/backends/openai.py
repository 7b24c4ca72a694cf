"""Any OpenAI-compatible chat server (vLLM, SGLang, TGI): the scale-out path.

Each round is one streaming ``POST /v1/chat/completions`` with ``tools=[web_search]``,
turned back into the raw text the local model would have produced, so the loop
and its parser do not care which backend runs. (The Search-R1 and ReSearch
dialects go through plain completions instead: ``openai_completions.py``.)
Two server styles, even mixed:

- vLLM / SGLang with a reasoning parser and a tool parser: ``reasoning_content``
  (or ``reasoning``) deltas are thinking; ``</think>\\n\\n`` is inserted before the
  first content or tool-call delta; ``tool_calls`` deltas (arguments streamed in
  pieces) are gathered and emitted at the end as ``<tool_call>\\n{json}\\n</tool_call>``.
  Only the first call of a round is kept: the loop runs one search per round,
  exactly as the local model stops at its first ``</tool_call>``.
- a bare server: ``<think>`` / ``</think>`` / ``<tool_call>`` arrive as text in
  ``content`` and pass through untouched; reading stops at ``</tool_call>``.

The server re-renders the whole conversation every round (chat completions
has no append-only mode), and QwQ's template drops the reasoning of earlier
assistant turns, so from round two on the model sees its earlier calls and the
results but not its earlier thinking. That is how the template is meant to be
used; the local backend keeps the thinking because it never re-renders.

Retries: the ``openai`` client itself retries connection errors, timeouts,
408/409/429 and 5xx before the stream starts (``openai_max_retries``, backoff
0.5 s doubling up to 8 s; see ``openai/_base_client.py``). We add no retry of
our own for failures, because a round that broke mid-stream cannot be resumed
without repeating text; we only re-send a request once without an optional
field a server rejects (``stream_options``, ``top_k``, ``tool_choice``) or with
``max_tokens`` cut to the room the server says is left.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator

import openai

from ..config import Settings
from ..dialects import get_dialect
from ..prompt import render_prompt
from .base import BackendError, FinishReason, Usage, round_token_limit, tool_response_splice
from .openai_cancel import abort_on_cancel
from .openai_completions import CompletionConversation
from .openai_errors import ContextFull, clean_detail as _clean, explain_error, server_detail as _detail
from .scripted import approx_tokens

_CALL_OPEN, _CALL_CLOSE = "<tool_call>", "</tool_call>"
_THINK_CLOSE = "</think>\n\n"
_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length", "tool_calls": "tool_call",
                                    "function_call": "tool_call", "content_filter": "stop"}
_CONTEXT_MAX = re.compile(r"maximum context length is (\d+)")
_CONTEXT_USED = re.compile(r"(\d+) in the messages|has (\d+) input tokens|(\d+) input tokens")


class OpenAIConfigError(BackendError, ValueError):
    """The backend cannot be built as configured (a bad-argument error for the CLI)."""


@dataclass
class _Call:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class _Round:
    """What one streamed round produced."""

    raw: list[str] = field(default_factory=list)  # exactly what was yielded to the parser
    content: list[str] = field(default_factory=list)  # the server's ``content`` only
    calls: dict[int, _Call] = field(default_factory=dict)
    reasoning: bool = False
    think_closed: bool = False
    stopped_at_call: bool = False
    finish: str | None = None
    usage: Any = None
    estimated: int = 0  # generated tokens counted while streaming

    @property
    def call(self) -> _Call | None:
        return self.calls[min(self.calls)] if self.calls else None


class OpenAIBackend:
    name = "openai"

    def __init__(self, *, settings: Settings, client: openai.OpenAI | None = None) -> None:
        base = (settings.base_url or "").strip().rstrip("/")
        if not base:
            raise OpenAIConfigError("the openai backend needs the server's URL: pass --base-url "
                                    "http://HOST:8000/v1 or set OPENAI_BASE_URL")
        if not base.startswith(("http://", "https://")):
            raise OpenAIConfigError(f"--base-url {base!r} must start with http:// or https:// "
                                    "(e.g. http://localhost:8000/v1)")
        self.model_id = settings.model
        self.base_url = base
        self._settings = settings
        # The server ignores the key unless it was started with one (vLLM --api-key);
        # the client insists on a non-empty string.
        self._client = client or openai.OpenAI(
            base_url=base, api_key=settings.openai_api_key or "EMPTY",
            timeout=settings.openai_timeout_s, max_retries=settings.openai_max_retries)
        # Learned once per server and shared by every conversation: a lost race only
        # costs one extra rejected request.
        self.dropped: set[str] = set()
        self._tool_choice_none = False

    @property
    def client(self) -> openai.OpenAI:
        return self._client

    def start(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
              settings: Settings | None = None) -> "OpenAIConversation | CompletionConversation":
        """QwQ through chat completions and its tool parser; the tag dialects, which
        splice inside the assistant turn, through plain completions."""
        settings = settings or self._settings
        dialect = get_dialect(settings.dialect)
        if dialect.tools:
            return OpenAIConversation(backend=self, messages=messages, tools=tools, settings=settings)
        return CompletionConversation(backend=self, messages=messages, settings=settings, dialect=dialect)

    def close(self) -> None:
        self._client.close()

    def open_stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                    settings: Settings, max_tokens: int) -> Any:
        """Start one streaming completion; raises ``BackendError`` or ``ContextFull``."""
        for _attempt in range(5):
            try:
                return self._client.chat.completions.create(
                    **self._request(messages, tools, settings=settings, max_tokens=max_tokens))
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                detail = _detail(exc, self._settings)
                room = self.adjust(detail, max_tokens)
                if room is None:
                    raise self.explain(exc) from None
                max_tokens = room
            except openai.APIError as exc:
                raise self.explain(exc) from None
        raise BackendError(f"the model server at {self.base_url} kept rejecting the request; "
                           "check that it is an OpenAI-compatible chat completions server")

    def _request(self, messages, tools, *, settings: Settings, max_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = dict(model=self.model_id, messages=messages, tools=tools, stream=True,
                                    temperature=settings.temperature, top_p=settings.top_p,
                                    max_tokens=max_tokens)
        if "stream_options" not in self.dropped:
            body["stream_options"] = {"include_usage": True}
        if "top_k" not in self.dropped:  # vLLM/SGLang extension; the model card asks for 20-40
            body["extra_body"] = {"top_k": settings.top_k}
        if self._tool_choice_none:
            # A server without a tool parser refuses "auto"; with "none" vLLM still
            # renders the tools into the prompt and the model writes raw <tool_call> text.
            body["tool_choice"] = "none"
        return body

    def adjust(self, detail: str, max_tokens: int) -> int | None:
        """How to re-send after a 400/422: the new ``max_tokens``, or None to give up."""
        low = detail.lower()
        for name in ("stream_options", "top_k", "include_stop_str_in_output"):
            if name in low and name not in self.dropped:
                self.dropped.add(name)
                return max_tokens
        if ("tool_choice" in low or "tool choice" in low or "tool-call-parser" in low) \
                and not self._tool_choice_none:
            self._tool_choice_none = True
            return max_tokens
        limit, used = _CONTEXT_MAX.search(detail), _CONTEXT_USED.search(detail)
        if limit and used:
            room = int(limit.group(1)) - int(next(g for g in used.groups() if g))
            if room < 1:
                raise ContextFull(detail)
            if room < max_tokens:
                return room
        return None

    def explain(self, exc: Exception, *, mid_stream: bool = False) -> BackendError:
        """A clean, actionable message for a client error; never a traceback or the key."""
        return explain_error(exc, base_url=self.base_url, model_id=self.model_id, settings=self._settings,
                             served_models=self._served_models, mid_stream=mid_stream)

    def _served_models(self) -> list[str]:
        try:
            page = self._client.with_options(max_retries=0, timeout=5.0).models.list()
            return [m.id for m in page.data][:10]
        except (openai.APIError, AttributeError, TypeError):
            return []


class OpenAIConversation:
    def __init__(self, *, backend: OpenAIBackend, messages: list[dict[str, Any]],
                 tools: list[dict[str, Any]], settings: Settings) -> None:
        self._backend = backend
        self._settings = settings
        self._tools = tools
        self._messages: list[dict[str, Any]] = [dict(m) for m in messages]
        prompt = render_prompt(self._messages, tools)
        self._log = [prompt]  # append-only text for transcript(): prompt, rounds, splices
        self._round: _Round | None = None
        self.finish_reason: FinishReason | None = None
        n = approx_tokens(prompt)  # corrected by the server's usage numbers when it sends them
        self.usage = Usage(prompt_tokens=n, context_tokens=n)

    def generate(self, *, cancel: threading.Event) -> Iterator[str]:
        first = self.usage.rounds == 0
        self.usage.rounds += 1
        self._round = r = _Round()
        self._log.append("")
        max_tokens = round_token_limit(self._settings, self.usage.context_tokens)
        if max_tokens <= 0:
            self.finish_reason = "context"
            return
        if cancel.is_set():
            self.finish_reason = "cancelled"
            return
        try:
            stream = self._backend.open_stream(self._messages, self._tools, settings=self._settings,
                                               max_tokens=max_tokens)
        except ContextFull:
            self.finish_reason = "context"
            return
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
                               f"client cannot read ({type(exc).__name__}: {_clean(str(exc), self._settings)}); "
                               "is it an OpenAI-compatible chat completions server?") from None
        finally:
            done.set()
            stream.close()  # also when the loop closes us early: the server stops generating
        self.finish_reason = self._finish(r, cancel)
        self._account(r, first=first)

    def _read(self, stream: Any, r: _Round, cancel: threading.Event) -> Iterator[str]:
        for chunk in stream:
            if getattr(chunk, "usage", None) is not None:
                r.usage = chunk.usage
            if cancel.is_set():
                r.finish = "cancelled"
                return
            for choice in (chunk.choices or [])[:1]:
                delta = choice.delta
                thought = getattr(delta, "reasoning_content", None) or getattr(delta, "reasoning", None)
                if thought:
                    r.reasoning = True
                    yield from self._emit(r, thought)
                if delta.content and not r.stopped_at_call:
                    yield from self._close_think(r)
                    yield from self._emit(r, delta.content, content=True)
                for tc in delta.tool_calls or ():
                    yield from self._close_think(r)
                    call = r.calls.setdefault(tc.index, _Call())
                    call.id = call.id or (tc.id or "")
                    if tc.function is not None:
                        call.name = call.name or (tc.function.name or "")
                        call.arguments += tc.function.arguments or ""
                if choice.finish_reason:
                    r.finish = choice.finish_reason
            if r.stopped_at_call:
                return  # the local model stops at </tool_call> too; closing aborts the server's work
        if r.call is not None and r.finish != "length":
            yield from self._emit(r, _render_call(r.call, round_no=self.usage.rounds))

    def _close_think(self, r: _Round) -> Iterator[str]:
        if r.reasoning and not r.think_closed:
            r.think_closed = True
            yield from self._emit(r, _THINK_CLOSE)

    def _emit(self, r: _Round, text: str, *, content: bool = False) -> Iterator[str]:
        if r.stopped_at_call:
            return
        seen = self._log[-1][-len(_CALL_CLOSE):]  # a tag may be split across many chunks
        at = (seen + text).find(_CALL_CLOSE, max(0, len(seen) - len(_CALL_CLOSE) + 1))
        if at != -1:
            text = text[: at - len(seen) + len(_CALL_CLOSE)]
            r.stopped_at_call = True
        if not text:
            return
        r.raw.append(text)
        if content:
            r.content.append(text)
        self._log[-1] += text
        n = max(1, approx_tokens(text))
        r.estimated += n
        self.usage.generated_tokens += n
        self.usage.context_tokens += n
        yield text

    @staticmethod
    def _finish(r: _Round, cancel: threading.Event) -> FinishReason:
        if r.finish == "cancelled" or cancel.is_set():
            return "cancelled"
        if r.stopped_at_call or (r.call is not None and r.finish != "length"):
            return "tool_call"
        return _FINISH.get(r.finish or "stop", "stop")

    def _account(self, r: _Round, *, first: bool) -> None:
        """Prefer the server's numbers. It re-processes the whole prompt every round:
        vLLM's prefix cache may skip most of that work, which it reports (when
        enabled) as ``cached_tokens``; only what it did not reuse counts as prefilled."""
        u, usage = self.usage, r.usage
        start = u.context_tokens - r.estimated
        prompt = getattr(usage, "prompt_tokens", None)
        if not isinstance(prompt, int):
            u.prefilled_tokens += start
            return
        completion = getattr(usage, "completion_tokens", None) or r.estimated
        cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None) or 0
        if first:
            u.prompt_tokens = prompt
        u.prefilled_tokens += max(0, prompt - cached)
        u.generated_tokens += completion - r.estimated
        u.context_tokens = prompt + completion

    def add_tool_result(self, text: str) -> None:
        r = self._round or _Round()
        call = r.call
        if call is not None:
            call.id = call.id or f"call_{self.usage.rounds}"
            self._messages += [
                # Content must be a string: the QwQ template calls .split() on it.
                {"role": "assistant", "content": "".join(r.content),
                 "tool_calls": [{"id": call.id, "type": "function",
                                 "function": {"name": call.name, "arguments": call.arguments}}]},
                {"role": "tool", "tool_call_id": call.id, "content": text},
            ]
        else:
            # Raw <tool_call> text: send it back as the assistant's words and the result
            # as the user turn the template renders for a tool message. A "tool" message
            # would need a tool_call_id this call never had, and some servers reject that.
            said, raw = "".join(r.content), "".join(r.raw)
            if _CALL_OPEN not in said and _CALL_OPEN in raw:
                said = raw[raw.rfind(_CALL_OPEN):]  # the call was made inside the thinking
            self._messages += [{"role": "assistant", "content": said},
                               {"role": "user", "content": f"<tool_response>\n{text}\n</tool_response>"}]
        splice = tool_response_splice(text)
        self._log.append(splice)
        n = approx_tokens(splice)
        self.usage.spliced_tokens += n
        self.usage.context_tokens += n
        self._round = None

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def transcript(self) -> str:
        """The first prompt, every round's raw text and every tool response, in order
        (the same shape as the other backends). The server itself saw each round's
        history re-rendered, without the reasoning of earlier rounds."""
        return "".join(self._log)


def _render_call(call: _Call, *, round_no: int) -> str:
    try:
        args: Any = json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError:
        args = call.arguments  # the parser reports it to the model, which can correct itself
    call.id = call.id or f"call_{round_no}"
    return f"{_CALL_OPEN}\n{json.dumps({'name': call.name, 'arguments': args}, ensure_ascii=False)}\n{_CALL_CLOSE}"
