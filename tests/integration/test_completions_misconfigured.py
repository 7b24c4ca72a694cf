"""Issue 25.17: a server that answers /v1/completions the chat way is a clear error, not a silent
``no_answer`` (which an eval would score as a wrong answer); a non-streaming reply names the
endpoint that was asked, /v1/completions for the tag dialects."""

from __future__ import annotations

import json
from typing import Iterator

import pytest

from agent.backends.openai.backend import OpenAIBackend
from agent.events import Done, Error
from agent.loop import run
from agent.search import SearchChain
from tests.engine_helpers import FakeProvider
from tests.integration.test_openai_backend import MODEL, FakeServer, say, end, settings_for, sse


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = FakeServer()
    yield s
    s.close()


def ask(server: FakeServer, dialect: str) -> list:
    settings = settings_for(server.url, dialect=dialect)
    return list(run("Tallest building?", settings=settings, backend=OpenAIBackend(settings=settings),
                    search=SearchChain([FakeProvider({})], backoff_s=0.0)))


@pytest.mark.parametrize("dialect", ["search-r1", "research"])
def test_chat_chunks_on_completions_are_an_error_that_says_so(server: FakeServer, dialect: str) -> None:
    server.queue.append(sse(say("<think> x </think>\n<answer> Burj Khalifa </answer>"), end("stop")))
    events = ask(server, dialect)
    assert server.paths == ["/v1/completions"]
    assert not any(isinstance(e, Done) for e in events)
    errors = [e.message for e in events if isinstance(e, Error)]
    assert errors and "chat-completion chunks" in errors[0] and "/v1/completions" in errors[0]


def test_a_non_streaming_reply_names_the_completions_endpoint(server: FakeServer) -> None:
    body = {"id": "c", "object": "text_completion", "model": MODEL,
            "choices": [{"index": 0, "text": "<answer> x </answer>", "finish_reason": "stop"}]}
    server.queue.append({"kind": "body", "code": 200, "content_type": "application/json", "text": json.dumps(body)})
    errors = [e.message for e in ask(server, "search-r1") if isinstance(e, Error)]
    assert errors and "not a streaming completions (/v1/completions) endpoint" in errors[0], errors
    assert "chat-completion" not in errors[0]


def test_the_chat_endpoint_is_still_named_for_qwq(server: FakeServer) -> None:
    server.queue.append({"kind": "body", "code": 200, "content_type": "application/json",
                         "text": json.dumps({"choices": [{"message": {"content": "hi"}}]})})
    errors = [e.message for e in ask(server, "qwq") if isinstance(e, Error)]
    assert errors and "not a streaming chat-completions endpoint" in errors[0], errors
