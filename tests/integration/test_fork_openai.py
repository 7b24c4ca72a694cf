"""A fork on an OpenAI-compatible server (issue 24.4): the recorded prefix is sent as the
conversation so far, in the dialect's own format, against the local fake vLLM server."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from agent.backends.openai.backend import OpenAIBackend
from agent.backends.scripted import ScriptedBackend
from agent.events import SearchDone, SearchStart
from agent.search import SearchChain
from agent.session import ChatSession
from tests.engine_helpers import FakeProvider, answer, call, result, settings
from tests.integration.test_dialect_openai import streamed
from tests.integration.test_openai_backend import FakeServer, end, say, settings_for, sse, think
from tests.unit.test_fork import HOSTILE, NoSearch


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = FakeServer()
    yield s
    s.close()


def recorded(rounds: list[str], table: dict, **kw: Any) -> ChatSession:
    s = settings(read="off", **kw)
    session = ChatSession(settings=s, backend=ScriptedBackend(rounds=rounds, settings=s),
                          search=SearchChain([FakeProvider(table)], backoff_s=0.0))
    list(session.ask("Tallest building?"))
    return session


def forked(original: ChatSession, server: FakeServer, **kw: Any) -> tuple[ChatSession, NoSearch]:
    s = settings_for(server.url, read="off", **kw)
    provider = NoSearch()
    return ChatSession(settings=s, backend=OpenAIBackend(settings=s), search=SearchChain([provider], backoff_s=0.0),
                       record=original.record), provider


def test_search_r1_fork_sends_the_recorded_rounds_in_the_completions_prompt(server: FakeServer) -> None:
    original = recorded(["<think>need it</think>\n<search> tallest </search>", "<answer> Burj </answer>"],
                        {"tallest": [result(1, title=HOSTILE, content="828 m")]}, dialect="search-r1")
    turn = original.record.path()[0]
    session, provider = forked(original, server, dialect="search-r1")
    server.queue.append(streamed("<think>again</think>\n<answer> Burj Khalifa </answer>", stop_reason="</answer>"))
    at = [i for i, e in enumerate(turn.events) if isinstance(e, SearchDone)][0] + 1
    events = list(session.fork(turn.id, at=at))
    assert events[-1].answer == "Burj Khalifa" and provider.calls == []
    [request] = server.requests  # one request: the recorded round was not generated again
    prompt = request["prompt"]
    # The recorded round as Search-R1 writes it (the newline it wrote after </think> read as thinking).
    assert "<|im_start|>assistant\n<think>need it\n</think>\n<search> tallest </search>\n\n<information>" in prompt
    assert prompt.endswith("</information>\n\n") and "828 m" in prompt
    body = prompt[prompt.index("<|im_start|>assistant"):]
    assert body.count("<|im_start|>") == 1 and body.count("</information>") == 1  # nothing forged


def test_qwq_fork_inside_a_round_continues_the_assistant_message(server: FakeServer) -> None:
    original = recorded([call("height"), call("paint"), answer("828 m [1].")],
                        {"height": [result(1)], "paint": [result(2)]})
    turn = original.record.path()[0]
    session, provider = forked(original, server)
    server.queue.append(sse(think(" no more searching."), say("828 m [1]."), end("stop")))
    at = [i for i, e in enumerate(turn.events) if isinstance(e, SearchStart)][1]
    events = list(session.fork(turn.id, at=at))
    assert events[-1].answer == "828 m [1]." and provider.calls == []
    [request] = server.requests
    messages = request["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert '<tool_call>\n{"name": "web_search", "arguments": {"query": "height"}}\n</tool_call>' in messages[2]["content"]
    assert messages[3]["content"].startswith("<tool_response>\nResults for \"height\"")
    assert messages[4]["content"] == "Searching.\n"  # the round the fork continues
    assert request["continue_final_message"] is True and request["add_generation_prompt"] is False
