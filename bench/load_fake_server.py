"""A fake OpenAI-compatible chat server that streams like vLLM, for ``bench/load.py``.

``POST /v1/chat/completions`` (``stream: true`` only) answers every request with
a paced stream in vLLM's native dialect: ``reasoning_content`` deltas (the
thinking), then ``content`` deltas (the answer), one token per chunk, at
``tok_s`` tokens a second after ``ttft_s`` of "prefill". A question that
contains the word ``search`` gets a tool call first (a short thinking, then a
``web_search`` call whose arguments arrive in pieces); the request that carries
its ``tool`` result gets the rest of the thinking and an answer citing ``[1]``.
Either way one answer streams about ``tokens`` tokens, so the app and the
baseline chat are fed exactly the same stream.

``GET /stats`` gives the number of tokens streamed so far: the benchmark's
denominator for CPU seconds per 1k streamed tokens. Listens on 127.0.0.1 only.

Run: ``python bench/load_fake_server.py --port 8001 --tokens 300 --tok-s 50``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import dataclass
from typing import AsyncIterator

MODEL = "fake-qwq"
THINK_MARK = "Okay"  # the first streamed word: the benchmark's "first visible token"
END_MARK = "zzfinis"  # the last word of every answer: an answer without it is incomplete
QUERY = "load test query"
_WORDS = ("the tower was built in 1889 for the world fair and it stands about three hundred metres "
          "tall on the bank of the river where engineers measured its height again after new antennas "
          "were added so the figure changed over time").split()


@dataclass(frozen=True, kw_only=True)
class Pace:
    tokens: int = 300
    tok_s: float = 50.0
    ttft_s: float = 0.2
    think_share: float = 0.4


def words(n: int, *, offset: int = 0) -> list[str]:
    """``n`` tokens of prose, a line break now and then, as a model streams them."""
    out = []
    for i in range(n):
        word = _WORDS[(i + offset) % len(_WORDS)]
        out.append(("\n\n" if i and i % 45 == 0 else " ") + word)
    return out


def plan(messages: list[dict], pace: Pace) -> tuple[list[str], list[str], bool]:
    """(thinking tokens, answer tokens, ends with a tool call) for this request."""
    think = max(2, round(pace.tokens * pace.think_share))
    answer = max(2, pace.tokens - think)
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":  # the second round of a searching answer
        first = max(1, think // 3)
        body = words(answer - 2, offset=7)
        return words(think - first, offset=3), ["According to the results [1],", *body, f" {END_MARK}."], False
    question = str(last.get("content", ""))
    if "search" in question.lower():
        return [THINK_MARK, *words(max(1, think // 3) - 1)], [], True
    return [THINK_MARK, *words(think - 1)], [*words(answer - 1, offset=7), f" {END_MARK}."], False


class Streamer:
    """Builds the SSE stream of one request and counts what every request streamed."""

    def __init__(self, pace: Pace) -> None:
        self.pace = pace
        self.tokens = 0
        self.requests = 0

    async def stream(self, body: dict) -> AsyncIterator[bytes]:
        self.requests += 1
        thinking, answer, call = plan(body.get("messages") or [], self.pace)
        rid = f"chatcmpl-{self.requests}"
        start = time.monotonic() + self.pace.ttft_s
        # Absolute deadlines, with jitter: a late wake-up does not slow the rest of the stream.
        step = 1.0 / self.pace.tok_s
        at = start
        deltas = ([{"reasoning_content": t} for t in thinking] + [{"content": t} for t in answer]
                  + (_call_deltas() if call else []))
        for delta in deltas:
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            at += step * random.uniform(0.7, 1.3)
            self.tokens += 1
            yield _sse(rid, {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        finish = "tool_calls" if call else "stop"
        yield _sse(rid, {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": 100, "completion_tokens": len(deltas), "total_tokens": 100 + len(deltas)}
            yield _sse(rid, {"choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"


def _call_deltas() -> list[dict]:
    args = json.dumps({"query": QUERY})
    pieces = [args[:9], args[9:20], args[20:]]
    first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "web_search", "arguments": ""}}
    return [{"tool_calls": [first]}] + [
        {"tool_calls": [{"index": 0, "function": {"arguments": p}}]} for p in pieces]


def _sse(rid: str, payload: dict) -> bytes:
    chunk = {"id": rid, "object": "chat.completion.chunk", "created": int(time.time()), "model": MODEL,
             **payload}
    return f"data: {json.dumps(chunk)}\n\n".encode()


def build_app(pace: Pace):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    streamer = Streamer(pace)

    async def models(_: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse({"tokens": streamer.tokens, "requests": streamer.requests})

    async def chat(request: Request):
        body = await request.json()
        if not body.get("stream"):
            return JSONResponse({"error": {"message": "this fake server only streams"}}, status_code=400)
        return StreamingResponse(streamer.stream(body), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/models", models), Route("/stats", stats),
                             Route("/v1/chat/completions", chat, methods=["POST"])])


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tokens", type=int, default=Pace.tokens, help="tokens per answer")
    p.add_argument("--tok-s", type=float, default=Pace.tok_s, help="tokens a second per stream")
    p.add_argument("--ttft-s", type=float, default=Pace.ttft_s, help="seconds before a stream's first token")
    a = p.parse_args(argv)
    if a.tokens < 4 or a.tok_s <= 0 or a.ttft_s < 0:
        p.error(f"need --tokens >= 4, --tok-s > 0, --ttft-s >= 0; got {a.tokens!r}, {a.tok_s!r}, {a.ttft_s!r}")
    pace = Pace(tokens=a.tokens, tok_s=a.tok_s, ttft_s=a.ttft_s)
    uvicorn.run(build_app(pace), host="127.0.0.1", port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
