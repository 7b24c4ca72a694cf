"""Reading one streamed chat completion back into the raw text the local model would write.

Nothing the server sends is trusted to end the round properly: a round is
complete only when the server says why it stopped (``finish_reason``), when the
model closed a tool call, or when it reached the round's token limit here (a
server may ignore ``max_tokens``). A stream that just ends is an error, never an
answer; so is a response that is not an event stream at all.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal

import openai

from ...errors import DeepSearchError
from ..base import BackendError, FinishReason, Usage, approx_tokens
from .link import LinkAborted, RoundLink

log = logging.getLogger(__name__)

CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
_THINK_CLOSE = "</think>\n\n"
_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length", "tool_calls": "tool_call",
                                    "function_call": "tool_call", "content_filter": "stop"}
_SNIFF_BYTES = 4096
Api = Literal["chat", "completions"]
# The events each API streams, and the endpoint that streams them.
_API_WORDS: dict[str, tuple[str, str]] = {"chat": ("chat-completion", "chat-completions"),
                                          "completions": ("completion", "completions (/v1/completions)")}
# Usage numbers beyond this are not a real server's: the estimates stand instead.
_MAX_COUNT = 10**9


class MalformedEvent(DeepSearchError):
    """The server sent a stream event this client cannot decode; the message says how."""


@dataclass(frozen=True)
class ChatPiece:
    """One chat-completion event as plain values, read once (``chat_piece``)."""

    usage: Any = None
    has_choice: bool = False
    thought: str | None = None
    content: str | None = None
    tool_calls: tuple[tuple[int, str, str | None, str], ...] = ()  # (index, id, name, arguments piece)
    finish: str | None = None


def events(stream: Any) -> Iterator[Any]:
    """The stream's events; one the client library cannot decode raises ``MalformedEvent``."""
    it = iter(stream)
    while True:
        try:
            event = next(it)
        except StopIteration:
            return
        except (ValueError, RecursionError) as exc:  # the SSE data is not JSON the client can parse
            raise MalformedEvent(f"{type(exc).__name__}: {exc}") from None
        yield event


def chat_piece(chunk: Any) -> ChatPiece:
    """Decode one chat-completion event. Only this reading of the server's data is guarded, so
    a bug in what the client then does with good data is never reported as the server's fault."""
    try:
        usage = getattr(chunk, "usage", None)
        choices = list(chunk.choices or [])[:1]
        if not choices:
            return ChatPiece(usage=usage)
        choice, delta = choices[0], choices[0].delta
        thought = getattr(delta, "reasoning_content", None) or getattr(delta, "reasoning", None)
        calls = tuple((tc.index, tc.id or "", tc.function.name if tc.function is not None else None,
                       (tc.function.arguments or "") if tc.function is not None else "")
                      for tc in (delta.tool_calls or ()))
        return ChatPiece(usage=usage, has_choice=True, thought=thought if isinstance(thought, str) else None,
                         content=delta.content if isinstance(delta.content, str) else None,
                         tool_calls=calls, finish=choice.finish_reason)
    except (AttributeError, TypeError, ValueError) as exc:
        raise MalformedEvent(f"{type(exc).__name__}: {exc}") from None


@dataclass
class Call:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class Round:
    """What one streamed round produced."""

    limit: int  # new tokens this round may produce
    raw: list[str] = field(default_factory=list)  # exactly what was yielded to the parser
    content: list[str] = field(default_factory=list)  # the server's ``content`` only
    calls: dict[int, Call] = field(default_factory=dict)
    reasoning: bool = False
    think_closed: bool = False
    stopped_at_call: bool = False
    cut_at_limit: bool = False  # the server sent more than ``limit`` tokens: reading stopped
    with_choices: int = 0  # stream events that carried a choice, as chat-completion chunks do
    tail: str = ""  # the last few characters yielded, for a tag split across chunks
    finish: str | None = None
    usage: Any = None
    estimated: int = 0  # generated tokens counted while streaming

    @property
    def call(self) -> Call | None:
        return self.calls[min(self.calls)] if self.calls else None

    @property
    def over(self) -> bool:
        """Reading must stop: the call is closed or the token limit is reached."""
        return self.stopped_at_call or self.cut_at_limit


class RoundReader:
    """Streams one round's text; appends it to ``log`` and counts it in ``usage``."""

    def __init__(self, r: Round, *, usage: Usage, log: list[str], link: RoundLink, url: str,
                 round_no: int) -> None:
        self.r, self.usage, self.log, self.link = r, usage, log, link
        self.url, self.round_no = url, round_no

    def read(self, stream: Any) -> Iterator[str]:
        r = self.r
        for chunk in events(stream):
            piece = chat_piece(chunk)
            r.with_choices += piece.has_choice
            if piece.usage is not None:
                r.usage = piece.usage
            if self.link.aborted is not None:
                return
            if piece.has_choice:
                yield from self._delta(piece)
                if piece.finish:
                    r.finish = piece.finish
            if r.over:
                return  # the local model stops at </tool_call> too; closing aborts the server's work
        if self.link.aborted is not None:
            return
        if r.with_choices == 0:  # no events at all, or events of some other API
            raise not_a_stream(self.url, stream)
        if r.finish is None:
            raise unfinished(self.url)
        if r.call is not None and r.finish != "length":
            yield from self._emit(render_call(r.call, round_no=self.round_no))

    def _delta(self, piece: ChatPiece) -> Iterator[str]:
        r = self.r
        if piece.thought:
            r.reasoning = True
            yield from self._emit(piece.thought)
        if piece.content and not r.over:
            yield from self._close_think()
            yield from self._emit(piece.content, content=True)
        for index, call_id, name, arguments in piece.tool_calls:
            if r.over:
                break
            yield from self._close_think()
            call = r.calls.setdefault(index, Call())
            call.id = call.id or call_id
            if name is not None:
                call.name = call.name or name
            if arguments:
                call.arguments += arguments
                self.link.progressed()
                self._count(arguments)

    def _close_think(self) -> Iterator[str]:
        r = self.r
        if r.reasoning and not r.think_closed:
            r.think_closed = True
            yield from self._emit(_THINK_CLOSE)

    def _emit(self, text: str, *, content: bool = False) -> Iterator[str]:
        r = self.r
        if r.over:
            return
        seen = r.tail  # a tag may be split across many chunks
        at = (seen + text).find(CALL_CLOSE, max(0, len(seen) - len(CALL_CLOSE) + 1))
        if at != -1:
            text = text[: at - len(seen) + len(CALL_CLOSE)]
            r.stopped_at_call = True
        if not text:
            return
        r.tail = (seen + text)[-len(CALL_CLOSE):]
        r.raw.append(text)
        if content:
            r.content.append(text)
        self.log.append(text)
        self.link.progressed()
        self._count(text)
        yield text

    def _count(self, text: str) -> None:
        r = self.r
        n = max(1, approx_tokens(text))
        r.estimated += n
        self.usage.generated_tokens += n
        self.usage.context_tokens += n
        if r.estimated >= r.limit and not r.stopped_at_call:
            r.cut_at_limit = True  # a server that ignores max_tokens cannot run the round on forever

    def finish_reason(self) -> FinishReason:
        r = self.r
        if self.link.aborted == "cancelled" or r.finish == "cancelled":
            return "cancelled"
        if r.stopped_at_call or (r.call is not None and r.finish != "length" and not r.cut_at_limit):
            return "tool_call"
        if r.cut_at_limit:
            return "length"
        return _FINISH.get(r.finish or "stop", "stop")


def open_round(link: RoundLink, create: Callable[[], tuple[Any, int]], *, url: str,
               api: Api = "chat") -> tuple[Any, int] | None:
    """``create()`` (the stream and its ``max_tokens``), abortable while connecting: None when
    Stop came first. A 200 that is plainly not an event stream is refused here."""
    try:
        opened = link.call(create, discard=lambda late: late[0].close())
    except LinkAborted:
        return None
    if opened is None:
        return None
    try:
        check_event_stream(url, opened[0], api=api)
    except BackendError:
        opened[0].close()
        raise
    link.start_stall_clock()
    return opened


def guarded(text: Iterator[str], link: RoundLink, *, url: str, timeout_s: float,
            explain: Callable[..., BackendError], clean: Callable[[str], str]) -> Iterator[str]:
    """``text`` with the client's failures turned into messages a person can act on; a read
    ended by an abort is quiet for Stop and an error for a stall."""
    try:
        yield from text
    except openai.APIError as exc:
        if link.aborted is None:
            raise explain(exc, mid_stream=True) from None
    except MalformedEvent as exc:
        if link.aborted is None:
            raise BackendError(
                f"the model server at {url} sent a stream event this client cannot read "
                f"({clean(str(exc))}); is it an OpenAI-compatible server?") from None
    if link.aborted == "stalled":
        raise BackendError(
            f"the model server at {url} sent no new text for {timeout_s:g} s (only keep-alives or "
            "empty events), so this round was ended: the text so far is partial; try again, or raise "
            "DEEPSEARCH_OPENAI_TIMEOUT for a server that pauses longer")


def unfinished(url: str) -> BackendError:
    return BackendError(
        f"the model server at {url} ended the stream before the round was finished "
        "(no finish_reason): the text so far is partial; try again, and check the server's "
        "log if it keeps happening")


def render_call(call: Call, *, round_no: int) -> str:
    try:
        args: Any = json.loads(call.arguments) if call.arguments.strip() else {}
    except (json.JSONDecodeError, RecursionError):
        args = call.arguments  # the parser reports it to the model, which can correct itself
    call.id = call.id or f"call_{round_no}"
    return f"{CALL_OPEN}\n{json.dumps({'name': call.name, 'arguments': args}, ensure_ascii=False)}\n{CALL_CLOSE}"


def check_event_stream(url: str, stream: Any, *, api: Api = "chat") -> None:
    """Refuse a 200 that is plainly not an event stream (an HTML page, a JSON completion)."""
    kind = _content_type(stream)
    if "html" in kind or "json" in kind:
        raise not_a_stream(url, stream, api=api)


def not_a_stream(url: str, stream: Any, *, api: Api = "chat") -> BackendError:
    """The message names the API that was asked: chat completions (qwq) or plain completions
    (the search-r1 and research dialects)."""
    kind = _content_type(stream) or "no content type"
    what = _describe_body(stream, kind, api=api)
    events, endpoint = _API_WORDS[api]
    return BackendError(
        f"the server at {url} answered with {what} ({kind}), not a stream of {events} "
        f"events: {url} is not a streaming {endpoint} endpoint; point --base-url / "
        "OPENAI_BASE_URL at an OpenAI-compatible server's /v1 (e.g. http://HOST:8000/v1)")


def chat_chunks_on_completions(url: str) -> BackendError:
    return BackendError(
        f"the server at {url} answered /v1/completions with chat-completion chunks "
        "(choices[].delta.content) instead of completion text (choices[].text): it does not serve "
        "the plain completions API that the search-r1 and research dialects need (their results "
        "are spliced inside the assistant turn); point --base-url at a server that does (vLLM, "
        "llama.cpp's server, SGLang), or use --dialect qwq with this one")


def _content_type(stream: Any) -> str:
    headers = getattr(getattr(stream, "response", None), "headers", None) or {}
    return str(headers.get("content-type", "")).split(";")[0].strip().lower()


def _describe_body(stream: Any, kind: str, *, api: Api = "chat") -> str:
    if "html" in kind:
        return "an HTML page"
    if "event-stream" in kind:
        return f"events that are not {_API_WORDS[api][0]} chunks"
    if "json" not in kind:
        return "a body that holds no events"
    head = b""
    try:
        for piece in stream.response.iter_bytes():
            head += piece
            if len(head) >= _SNIFF_BYTES:
                break
    except Exception:  # noqa: BLE001 - only a hint for the message; the error stands either way
        log.warning("could not read the start of a non-stream body", exc_info=True)
    text = head.decode("utf-8", "replace")
    return "a plain (non-streaming) JSON completion" if '"choices"' in text else "a JSON document"



def account(u: Usage, reported: Any, *, estimated: int, first: bool) -> None:
    """Prefer the server's numbers for a finished round. It re-processes the whole prompt
    every round: vLLM's prefix cache may skip most of that work, which it reports (when
    enabled) as ``cached_tokens``; only what it did not reuse counts as prefilled. Numbers
    that cannot be token counts (fractions, negatives, absurd sizes) are ignored here, at
    the boundary, so nothing downstream ever sees them: the estimates stand instead."""
    start = u.context_tokens - estimated
    completion_raw = getattr(reported, "completion_tokens", None)
    cached_raw = getattr(getattr(reported, "prompt_tokens_details", None), "cached_tokens", None)
    prompt = _count(getattr(reported, "prompt_tokens", None))
    completion = estimated if completion_raw is None else _count(completion_raw)
    cached = 0 if cached_raw is None else _count(cached_raw)
    if prompt is None or completion is None or cached is None:
        u.prefilled_tokens += start
        return
    if first:
        u.prompt_tokens = prompt
    u.prefilled_tokens += max(0, prompt - min(cached, prompt))
    u.generated_tokens += completion - estimated
    u.context_tokens = prompt + completion


def _count(value: Any) -> int | None:
    """A token count as a server may report it, or None when it cannot be one."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_COUNT:
        return None
    return value
