"""Builders for engine tests: scripted rounds, fake providers, a run collector."""

from __future__ import annotations

import json
import threading

from agent.backends.scripted import ScriptedBackend
from agent.config import Settings
from agent.events import Done
from agent.loop import run
from agent.search import SearchChain
from agent.search.base import SearchError, SearchResult


def call(query: str) -> str:
    return f'Searching.\n</think>\n\n<tool_call>\n{json.dumps({"name": "web_search", "arguments": {"query": query}})}\n</tool_call>'


def answer(text: str) -> str:
    return f"Enough.\n</think>\n\n{text}"


class FakeProvider:
    """Answers from a dict; a value that is an exception is raised instead."""

    def __init__(self, table: dict, name: str = "fake") -> None:
        self.table, self.name, self.calls = table, name, []

    def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        self.calls.append(query)
        value = self.table.get(query, [])
        if isinstance(value, Exception):
            raise value
        return [SearchResult(**r) for r in value][:max_results]


def result(n: int, **kw) -> dict:
    return {"title": kw.get("title", f"Title {n}"), "url": kw.get("url", f"https://example.com/{n}"),
            "content": kw.get("content", f"content {n}")}


def settings(**kw) -> Settings:
    kw.setdefault("backend", "scripted")
    kw.setdefault("search_retry_backoff_s", 0.0)
    return Settings(**kw)


def run_script(rounds, table=None, *, cancel=None, registry=None, history=(), providers=None,
               question="What is it?", left_over: int = 0, **kw):
    """Run the loop on scripted rounds. Every round must be played, unless the test says how many
    it expects left over (``left_over``: a run stopped, cut off or refused before the end)."""
    s = settings(**kw)
    backend = ScriptedBackend(rounds=list(rounds), settings=s, strict=not left_over)
    chain = SearchChain(providers or [FakeProvider(table or {})], backoff_s=0.0)
    box = {}
    events = list(run(question, settings=s,
                      backend=backend, search=chain, registry=registry, history=history,
                      cancel=cancel or threading.Event(), on_conversation=lambda c: box.setdefault("c", c)))
    backend.check_played()
    if left_over:
        assert len(box["c"].unplayed) == left_over, box["c"].unplayed
    return events, box.get("c")


def done_of(events) -> Done:
    dones = [e for e in events if isinstance(e, Done)]
    assert len(dones) == 1, events
    return dones[0]


def search_error(message: str, retryable: bool = False) -> SearchError:
    return SearchError(message, provider="fake", retryable=retryable)


def memory_of(*turns, max_turns: int = 20) -> list[tuple[str, str]]:
    """What the model remembers after ``turns``, each ``(question, events)`` or
    ``(question, events, stopped_by_the_person)``, recorded as a chat records them."""
    from agent.records.conversation import Conversation

    record = Conversation()
    for question, events, *stopped in turns:
        recorded(record, question, events).stopped = bool(stopped and stopped[0])
    return record.memory(max_turns=max_turns)


def recorded(record, question: str, events, *, meta=None):
    """A turn of ``record`` asking ``question`` whose run said ``events``."""
    turn = record.begin(question, meta=meta)
    for event in events:
        turn.add(event)
    return turn
