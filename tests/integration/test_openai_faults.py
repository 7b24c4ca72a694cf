"""The openai backend against servers that misbehave (issue 11): streams that end early,
hang, never progress, ignore max_tokens, report odd numbers, or do not stream at all."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict
from typing import Any

import pytest

from agent.backends.base import BackendError
from agent.backends.openai.backend import OpenAIBackend
from agent.events import Answer, Done, Error
from agent.loop import run
from agent.prompt import WEB_SEARCH_TOOL
from agent.search import SearchChain
from agent.search.fixture import FixtureProvider
from agent.session import ChatSession
from tests.integration.test_openai_backend import (MESSAGES, MODEL, FakeServer, body, comment, end, hang, one_round, say,
                                       server, settings_for, sse, think, usage)
from tests.waiting import stays_false, wait_until

__all__ = ["server"]  # the fixture, used by name


def in_thread(fn, timeout: float) -> dict[str, Any]:
    """Run ``fn`` in a thread; the box says what it returned or raised, and how long it took."""
    box: dict[str, Any] = {}

    def work() -> None:
        start = time.monotonic()
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - inspected by the test
            box["error"] = exc
        box["seconds"] = time.monotonic() - start

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"still running after {timeout} s"
    return box


def events_of(server: FakeServer, question: str = "What is the safe dose?", **kw) -> list:
    s = settings_for(server.url, **kw)
    search = SearchChain([FixtureProvider(table={}, content_chars=100)], backoff_s=0)
    return list(run(question, settings=s, backend=OpenAIBackend(settings=s), search=search))


# ---------------------------------------------------------------- streams that end early (11.3)

@pytest.mark.parametrize("tail", [(), (usage(10, 5),)], ids=["bare", "after-usage"])
def test_a_stream_that_ends_without_finish_reason_or_done_is_an_error(server: FakeServer, tail) -> None:
    server.queue.append(sse(say("The safe dose is 500 mg per"), *tail, done=False))
    with pytest.raises(BackendError, match="ended the stream before the round was finished.*partial"):
        one_round(OpenAIBackend(settings=settings_for(server.url)))


def test_done_without_finish_reason_is_still_an_unfinished_round(server: FakeServer) -> None:
    server.queue.append(sse(say("The safe dose is 500 mg per")))
    with pytest.raises(BackendError, match="no finish_reason"):
        one_round(OpenAIBackend(settings=settings_for(server.url)))


def test_a_cut_answer_is_an_error_labelled_partial_and_never_remembered(server: FakeServer) -> None:
    server.queue.append(sse(think("Dose."), say("The safe dose is 500 mg per"), done=False))
    s = settings_for(server.url)
    session = ChatSession(settings=s, backend=OpenAIBackend(settings=s),
                          search=SearchChain([FixtureProvider(table={}, content_chars=100)], backoff_s=0))
    events = list(session.ask("What is the safe dose?"))
    assert not [e for e in events if isinstance(e, Done)]
    error = events[-1]
    assert isinstance(error, Error) and "partial" in error.message
    assert "".join(e.text for e in events if isinstance(e, Answer)) == "The safe dose is 500 mg per"
    assert session.history == []  # a follow-up never sees the cut answer as if it were complete


def test_a_native_tool_call_cut_before_its_finish_is_not_run(server: FakeServer) -> None:
    from tests.integration.test_openai_backend import call
    server.queue.append(sse(think("plan"), call(0, id="a", name="web_search", args='{"query": "do'),
                            done=False))
    events = events_of(server)
    assert isinstance(events[-1], Error) and not [e for e in events if isinstance(e, Done)]
    assert server.posts == 1


# ---------------------------------------------------------------- Stop while connecting (11.4)

def test_cancel_while_the_server_has_not_answered_returns_without_waiting_for_the_timeout(
        server: FakeServer) -> None:
    server.queue.append(hang())
    conv = OpenAIBackend(settings=settings_for(server.url, openai_timeout_s=30)).start(
        MESSAGES, [WEB_SEARCH_TOOL])
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    box = in_thread(lambda: list(conv.generate(cancel=cancel)), timeout=20)
    assert box.get("value") == [] and box["seconds"] < 10, box  # the read timeout is 30 s
    assert conv.finish_reason == "cancelled"
    assert server.client_gone.wait(10), "the server never saw the connection close"
    # the client's retry loop does not send the question again
    stays_false(lambda: server.posts > 1, "a second POST of the cancelled question")


def test_loop_cancelled_while_connecting_ends_with_a_stopped_done(server: FakeServer) -> None:
    server.queue.append(hang())
    s = settings_for(server.url, openai_timeout_s=30)
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    search = SearchChain([FixtureProvider(table={}, content_chars=100)], backoff_s=0)
    box = in_thread(lambda: list(run("q?", settings=s, backend=OpenAIBackend(settings=s), search=search,
                                     cancel=cancel)), timeout=20)
    done = box["value"][-1]
    assert isinstance(done, Done) and done.stopped and box["seconds"] < 10  # the read timeout is 30 s


# ---------------------------------------------------------------- no-progress bound (11.5)

@pytest.mark.parametrize("stall", ["keepalive-comments", "empty-deltas"])
def test_a_stream_that_never_progresses_ends_the_round_with_a_clear_error(server: FakeServer, stall) -> None:
    # Either stall would go on for 30 s or more; the 1 s no-progress bound must end it long before.
    if stall == "keepalive-comments":
        server.queue.append(sse(think("Let me"), comment(), keepalive=0.2))
    else:
        server.queue.append(sse(think("Let me"), *[say("") for _ in range(300)], delay=0.1))
    backend = OpenAIBackend(settings=settings_for(server.url, openai_timeout_s=1.0))
    box = in_thread(lambda: one_round(backend), timeout=40)
    assert isinstance(box.get("error"), BackendError), box
    message = str(box["error"])
    assert "sent no new text for 1 s" in message and "DEEPSEARCH_OPENAI_TIMEOUT" in message
    assert box["seconds"] < 15
    assert server.client_gone.wait(10), "the server never saw the connection close"


def test_a_slow_but_steady_stream_is_not_cut(server: FakeServer) -> None:
    server.queue.append(sse(*[think(f"t{i} ") for i in range(6)], end("stop"), delay=0.3))
    conv, chunks = one_round(OpenAIBackend(settings=settings_for(server.url, openai_timeout_s=1.0)))
    assert "".join(chunks) == "t0 t1 t2 t3 t4 t5 " and conv.finish_reason == "stop"


# ---------------------------------------------------------------- a server ignoring max_tokens (11.8)

def test_a_server_that_ignores_max_tokens_is_stopped_at_the_limit(server: FakeServer) -> None:
    server.queue.append(sse(say("Sure."), *[say(" word") for _ in range(3000)], end("stop")))
    conv, chunks = one_round(OpenAIBackend(settings=settings_for(server.url, max_new_tokens=50)))
    assert conv.finish_reason == "length"
    assert 45 <= conv.usage.generated_tokens <= 50 and len(chunks) <= 50
    assert server.requests[0]["max_tokens"] == 50


def test_the_limit_also_bounds_tool_call_arguments(server: FakeServer) -> None:
    from tests.integration.test_openai_backend import call
    pieces = [call(0, id="a", name="web_search", args='{"query": "')] + \
             [call(0, args="a b c ") for _ in range(2000)]
    server.queue.append(sse(*pieces, end("tool_calls")))
    conv, chunks = one_round(OpenAIBackend(settings=settings_for(server.url, max_new_tokens=40)))
    assert conv.finish_reason == "length" and "<tool_call>" not in "".join(chunks)


def test_a_long_stream_is_kept_whole_in_the_transcript(server: FakeServer) -> None:
    server.queue.append(sse(*[say(f"w{i} ") for i in range(500)], end("stop")))
    conv, chunks = one_round(OpenAIBackend(settings=settings_for(server.url)))
    assert conv.transcript().endswith("".join(chunks)) and len(chunks) == 500


# ---------------------------------------------------------------- odd numbers from the server (11.14)

@pytest.mark.parametrize("prompt,completion", [(120, 30.5), (120.5, 30), (120, -4), (-1, 30),
                                               (120, 10**12), (120, float("nan")), (120, [3])])
def test_odd_usage_numbers_are_ignored_for_the_estimates(server: FakeServer, prompt, completion) -> None:
    odd = {"id": "c1", "object": "chat.completion.chunk", "choices": [],
           "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": 1}}
    server.queue.append(sse(say("a b c"), end("stop"), odd))
    conv, _ = one_round(OpenAIBackend(settings=settings_for(server.url)))
    for name, value in asdict(conv.usage).items():
        assert type(value) is int and 0 <= value < 10**9, (name, value)
    assert conv.usage.generated_tokens == 3


def test_odd_cached_tokens_are_ignored(server: FakeServer) -> None:
    odd = usage(120, 30)
    odd["usage"]["prompt_tokens_details"] = {"cached_tokens": 7.5}
    server.queue.append(sse(say("a b c"), end("stop"), odd))
    conv, _ = one_round(OpenAIBackend(settings=settings_for(server.url)))
    assert all(type(v) is int for v in asdict(conv.usage).values())


def test_a_run_with_fractional_usage_ends_with_whole_number_stats(server: FakeServer) -> None:
    server.queue.append(sse(say("</think>\n\nFine."), end("stop"), usage(100, 2.5)))
    done = events_of(server)[-1]
    assert isinstance(done, Done)
    assert all(type(getattr(done.stats, k)) is int for k in ("generated_tokens", "prompt_tokens", "context_tokens",
                                                     "answer_tokens", "thinking_tokens"))


# ---------------------------------------------------------------- not a streaming endpoint (11.15)

@pytest.mark.parametrize("kind,text,what", [
    ("text/html; charset=utf-8", "<!doctype html><html><body>Welcome to nginx!</body></html>", "an HTML page"),
    ("application/json", '{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": '
                         '{"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]}',
     "a plain (non-streaming) JSON completion"),
    ("text/plain", "hello", "a body that holds no events"),
])
def test_a_200_that_is_not_an_event_stream_says_so(server: FakeServer, kind, text, what) -> None:
    server.queue.append(body(200, kind, text))
    with pytest.raises(BackendError) as info:
        one_round(OpenAIBackend(settings=settings_for(server.url)))
    message = str(info.value)
    assert what in message and "is not a streaming chat-completions endpoint" in message
    assert server.url in message


def test_a_non_streaming_answer_is_an_error_event_not_an_empty_answer(server: FakeServer) -> None:
    server.queue.append(body(200, "text/html", "<html>login</html>"))
    events = events_of(server)
    assert [type(e) for e in events] == [Error]
    assert "not a streaming chat-completions endpoint" in events[0].message


# ---------------------------------------------------------------- the same faults on /v1/completions

def text_chunk(piece: str, finish: str | None = None) -> dict[str, Any]:
    return {"id": "cmpl-1", "object": "text_completion", "model": MODEL,
            "choices": [{"index": 0, "text": piece, "logprobs": None, "finish_reason": finish}]}


def completion_round(server: FakeServer, cancel: threading.Event | None = None, **kw):
    from agent.dialects import get_dialect
    settings = settings_for(server.url, dialect="search-r1", **kw)
    conv = OpenAIBackend(settings=settings).start(
        get_dialect("search-r1").build_messages("Tallest building?", max_searches=3), [])
    return conv, list(conv.generate(cancel=cancel or threading.Event()))


def test_completions_a_stream_without_finish_reason_is_an_error(server: FakeServer) -> None:
    server.queue.append(sse(text_chunk("<think> The dose is 500 mg per"), done=False))
    with pytest.raises(BackendError, match="no finish_reason.*partial"):
        completion_round(server)


def test_completions_cancel_while_connecting(server: FakeServer) -> None:
    server.queue.append(hang())
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    box = in_thread(lambda: completion_round(server, cancel, openai_timeout_s=30), timeout=20)
    conv, chunks = box["value"]
    assert chunks == [] and conv.finish_reason == "cancelled" and box["seconds"] < 10  # timeout: 30 s
    assert server.client_gone.wait(10), "the server never saw the connection close"


def test_completions_keepalives_end_the_round(server: FakeServer) -> None:
    server.queue.append(sse(text_chunk("<think> hmm"), keepalive=0.2))
    box = in_thread(lambda: completion_round(server, openai_timeout_s=1.0), timeout=40)
    # the keep-alives go on for 30 s; the 1 s no-progress bound ends the round long before
    assert "sent no new text for 1 s" in str(box.get("error")) and box["seconds"] < 15


def test_completions_a_server_ignoring_max_tokens_is_stopped(server: FakeServer) -> None:
    server.queue.append(sse(*[text_chunk(" word") for _ in range(3000)], text_chunk("", "stop")))
    conv, chunks = completion_round(server, max_new_tokens=50)
    assert conv.finish_reason == "length" and len(chunks) <= 50 and conv.usage.generated_tokens <= 50


def test_completions_a_non_streaming_200_says_so(server: FakeServer) -> None:
    server.queue.append(body(200, "application/json", '{"object": "text_completion", "choices": '
                                                       '[{"text": "hi", "finish_reason": "stop"}]}'))
    with pytest.raises(BackendError, match="plain \\(non-streaming\\) JSON completion.*not a streaming"):
        completion_round(server)


def test_completions_odd_usage_is_ignored(server: FakeServer) -> None:
    server.queue.append(sse(text_chunk("<answer> a b </answer>", "stop"), usage(40, 2.5)))
    conv, _ = completion_round(server)
    assert all(type(v) is int for v in asdict(conv.usage).values())


def test_an_event_stream_of_some_other_api_says_so(server: FakeServer) -> None:
    server.queue.append(sse({"type": "message_start", "message": {"id": "m"}}, {"type": "ping"}))
    with pytest.raises(BackendError, match="events that are not chat-completion chunks.*not a streaming"):
        one_round(OpenAIBackend(settings=settings_for(server.url)))


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_cli_stopped_while_connecting_writes_a_stopped_done_at_once(server: FakeServer, signum) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys

    from tests.integration.test_openai_backend import REPO
    server.queue.append(hang())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "OPENAI_", "TAVILY_"))}
    env |= {"PYTHON_DOTENV_DISABLED": "1", "PYTHONPATH": str(REPO), "DEEPSEARCH_OPENAI_TIMEOUT": "30"}
    proc = subprocess.Popen([sys.executable, "-m", "agent", "q", "--json", "--backend", "openai", "--base-url",
                             server.url, "--model", MODEL, "--provider", "duckduckgo"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    wait_until(lambda: server.posts, "the CLI's question reaching the server")
    assert server.posts == 1
    sent = time.monotonic()
    proc.send_signal(getattr(signal, signum))
    done = json.loads(proc.stdout.readline())  # the first line: nothing streamed before the stop
    written = time.monotonic() - sent
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert done["type"] == "done" and done["stopped"] is True and out == ""
    assert written < 10, f"done came {written:.2f} s after the signal (the read timeout is 30 s)"
    assert server.posts == 1
