"""Issue 25.16: a completions stream cut inside a tag (``<search> zebra </sea`` with
finish_reason stop) is a malformed round, never repaired into the query ``zebra </sea``."""

from __future__ import annotations

from typing import Iterator

import pytest

from agent.backends.openai.backend import OpenAIBackend
from agent.events import Done, SearchStart
from agent.loop import run
from agent.search import SearchChain
from tests.engine_helpers import FakeProvider
from tests.integration.test_dialect_openai import ANSWER, streamed
from tests.integration.test_openai_backend import FakeServer, settings_for


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = FakeServer()
    yield s
    s.close()


@pytest.mark.parametrize("cut", ["<search> zebra </sea", "<search> zebra </", "<search> zebra <", "<search> zebra </search"])
def test_a_stream_cut_inside_a_tag_runs_no_query(server: FakeServer, cut: str) -> None:
    server.queue += [streamed("<think> I will search. </think>\n" + cut, finish="stop"), streamed(ANSWER)]
    settings = settings_for(server.url, dialect="search-r1")
    provider = FakeProvider({})
    events = list(run("Tallest building?", settings=settings, backend=OpenAIBackend(settings=settings),
                      search=SearchChain([provider], backoff_s=0.0)))
    assert provider.calls == [] and not any(isinstance(e, SearchStart) for e in events)
    done = events[-1]
    assert isinstance(done, Done) and done.answer == "Burj Khalifa"
    assert [r.reason for r in done.stats.refused_calls] == ["malformed"]
    assert "My previous action is invalid" in server.requests[1]["prompt"]


def test_a_tag_the_server_stopped_at_is_still_restored(server: FakeServer) -> None:
    server.queue += [streamed("<think> I will search. </think>\n<search> zebra ", finish="stop"), streamed(ANSWER)]
    settings = settings_for(server.url, dialect="search-r1")
    provider = FakeProvider({})
    list(run("Tallest building?", settings=settings, backend=OpenAIBackend(settings=settings),
             search=SearchChain([provider], backoff_s=0.0)))
    assert provider.calls == ["zebra"]
