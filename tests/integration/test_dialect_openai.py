"""Search-R1 and ReSearch on an OpenAI-compatible server: plain /v1/completions with
stop sequences, append-only prompts, stop strings restored, Stop, against a local
streaming server (the fake vLLM of test_openai_backend)."""

from __future__ import annotations

import threading
import time
from typing import Any, Iterator

import pytest

from agent.backends.openai.backend import OpenAIBackend
from agent.dialects import get_dialect
from agent.events import Answer, Done, SearchStart
from agent.loop import run
from agent.search import SearchChain
from tests.engine_helpers import FakeProvider, result
from tests.integration.test_openai_backend import MODEL, FakeServer, settings_for, sse, status, usage

SEARCH = "<think> I need the height. </think>\n<search> tallest building </search>"
ANSWER = "<think> It is the Burj Khalifa. </think>\n<answer> Burj Khalifa </answer>"


def text(piece: str, finish: str | None = None, stop_reason: Any = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "text": piece, "logprobs": None, "finish_reason": finish}
    if finish is not None:
        choice["stop_reason"] = stop_reason
    return {"id": "cmpl-1", "object": "text_completion", "model": MODEL, "choices": [choice]}


def streamed(whole: str, *, size: int = 4, finish: str = "stop", stop_reason: Any = None,
             tail: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """``whole`` cut into ``size``-character pieces, so tags arrive split across chunks."""
    pieces = [text(whole[i:i + size]) for i in range(0, len(whole), size)]
    return sse(*pieces, text("", finish, stop_reason), *tail)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = FakeServer()
    yield s
    s.close()


def start(server: FakeServer, dialect: str = "search-r1", **kw: Any):
    settings = settings_for(server.url, dialect=dialect, **kw)
    backend = OpenAIBackend(settings=settings)
    messages = get_dialect(dialect).build_messages("Tallest building?", max_searches=3)
    return backend, backend.start(messages, [])


def test_rounds_go_to_completions_with_stops_and_an_append_only_prompt(server: FakeServer) -> None:
    server.queue += [streamed(SEARCH, stop_reason="</search>", tail=(usage(50, 20),)),
                     streamed(ANSWER, stop_reason="</answer>")]
    _, conv = start(server)
    first = "".join(conv.generate(cancel=threading.Event()))
    assert first == SEARCH and conv.finish_reason == "tool_call"
    assert conv.usage.prompt_tokens == 50 and conv.usage.context_tokens == 70  # the server's numbers
    conv.add_tool_result("Doc 1(Title: \"Burj Khalifa\") 828 m")
    second = "".join(conv.generate(cancel=threading.Event()))
    assert second == ANSWER and conv.finish_reason == "stop"
    assert server.paths == ["/v1/completions", "/v1/completions"]
    r1, r2 = server.requests
    assert r1["stop"] == ["</search>", "</answer>"] and r1["include_stop_str_in_output"] is True
    assert r1["prompt"].startswith("<|im_start|>system\nYou are Qwen") and r1["prompt"].endswith(
        "<|im_start|>assistant\n")
    assert r2["prompt"] == r1["prompt"] + SEARCH + "\n\n<information>Doc 1(Title: \"Burj Khalifa\") 828 m</information>\n\n"
    assert conv.transcript() == r2["prompt"] + ANSWER


@pytest.mark.parametrize("stop_reason", ["</search>", None])
def test_a_stop_string_the_server_left_out_is_restored(server: FakeServer, stop_reason: Any) -> None:
    server.queue.append(streamed(SEARCH.removesuffix("</search>"), stop_reason=stop_reason))
    _, conv = start(server)
    assert "".join(conv.generate(cancel=threading.Event())) == SEARCH
    assert conv.finish_reason == "tool_call"


def test_end_of_turn_without_a_stop_is_not_mistaken_for_one(server: FakeServer) -> None:
    server.queue.append(streamed("<think> no idea </think> I give up."))
    _, conv = start(server)
    assert "".join(conv.generate(cancel=threading.Event())) == "<think> no idea </think> I give up."
    assert conv.finish_reason == "stop"


def test_text_past_a_stop_is_never_passed_on_when_the_server_ignores_stop(server: FakeServer) -> None:
    server.queue.append(streamed(SEARCH + "\n\n<information>made up by the model</information>", size=5))
    _, conv = start(server)
    assert "".join(conv.generate(cancel=threading.Event())) == SEARCH
    assert conv.finish_reason == "tool_call" and "made up" not in conv.transcript()


def test_length_finish_is_reported(server: FakeServer) -> None:
    server.queue.append(streamed("<think> long", finish="length"))
    _, conv = start(server)
    "".join(conv.generate(cancel=threading.Event()))
    assert conv.finish_reason == "length"


def test_a_server_that_rejects_include_stop_str_is_asked_again_without_it() -> None:
    s = FakeServer(reject=("include_stop_str_in_output",))
    try:
        s.queue.append(streamed(SEARCH.removesuffix("</search>")))
        _, conv = start(s)
        assert "".join(conv.generate(cancel=threading.Event())) == SEARCH
        assert "include_stop_str_in_output" not in s.requests[-1]
    finally:
        s.close()


def test_server_error_is_a_clean_backend_error(server: FakeServer) -> None:
    from agent.backends.base import BackendError

    server.queue.append(status(400, "prompt is malformed"))
    _, conv = start(server)
    with pytest.raises(BackendError, match="prompt is malformed"):
        list(conv.generate(cancel=threading.Event()))


@pytest.mark.parametrize("dialect,answer", [("search-r1", "Burj Khalifa"), ("research", "Burj Khalifa")])
def test_full_run_through_the_loop(server: FakeServer, dialect: str, answer: str) -> None:
    final = ANSWER if dialect == "search-r1" else ANSWER.replace(
        "<answer> Burj Khalifa", "<answer> The final answer is \\[ \\boxed{Burj Khalifa} \\]")
    server.queue += [streamed(SEARCH, size=3), streamed(final, size=3)]
    settings = settings_for(server.url, dialect=dialect)
    table = {"tallest building": [result(1, title="Burj Khalifa", content="828 m tall")]}
    events = list(run("Tallest building?", settings=settings, backend=OpenAIBackend(settings=settings),
                      search=SearchChain([FakeProvider(table)], backoff_s=0.0)))
    done = events[-1]
    assert isinstance(done, Done) and done.answer == answer and done.searches == 1
    assert "".join(e.text for e in events if isinstance(e, Answer)) == answer
    assert [e.query for e in events if isinstance(e, SearchStart)] == ["tallest building"]
    wrapper = "<information>Doc 1(Title: \"Burj Khalifa\") 828 m tall</information>" if dialect == "search-r1" \
        else ' <result>\n"Burj Khalifa"\n828 m tall\n</result>'
    assert wrapper in server.requests[1]["prompt"]


def test_stop_mid_stream_ends_the_run_stopped_and_the_server_sees_the_client_leave(server: FakeServer) -> None:
    # 40 s of stream: a run that ignored Stop would take that long; the bound below leaves a
    # loaded machine room (a 5 s bound against a 10 s stream was close to a browser test's 6 s
    # Stop beside two busy loops).
    pieces = [text("<think> thinking") for _ in range(800)]
    server.queue.append(sse(*pieces, delay=0.05))
    settings = settings_for(server.url, dialect="research")
    cancel = threading.Event()
    events = []
    started = time.monotonic()
    for event in run("Q?", settings=settings, backend=OpenAIBackend(settings=settings),
                     search=SearchChain([FakeProvider({})], backoff_s=0.0), cancel=cancel):
        events.append(event)
        cancel.set()
    done = events[-1]
    assert isinstance(done, Done) and done.stopped and done.stats.finish == "cancelled"
    assert time.monotonic() - started < 10
    assert server.client_gone.wait(5)
