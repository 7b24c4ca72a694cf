"""--reader model: members quote their chunk; quotes not in the chunk are dropped; tokens counted."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from agent.backends.base import Usage
from agent.backends.scripted import ScriptedBackend
from agent.events import ReadDone
from agent.loop import run
from agent.read import FixturePages, PageReader
from agent.reading_model import quoted_sentences
from agent.search import SearchChain
from tests.engine_helpers import FakeProvider, answer, call, done_of, result, settings

NEEDLE = "The ferry to the island leaves at seven every morning from pier four."
PAGE = ("<html><head><title>Timetable</title></head><body><article><p>"
        + "The harbour office sells maps and postcards to visitors. " * 120 + "</p><p>" + NEEDLE + "</p><p>"
        + "Fishing boats unload their catch at dawn near the market. " * 120 + "</p></article></body></html>")


def test_a_member_keeps_only_sentences_its_chunk_holds():
    chunk = "Alpha beta gamma delta. The ferry leaves at seven. Epsilon zeta."
    assert quoted_sentences('{"res": "ans", "content": "The ferry leaves at seven."}', chunk) == [
        "The ferry leaves at seven."]
    assert quoted_sentences('{"res": "ans", "content": "The ferry leaves at nine."}', chunk) == []
    assert quoted_sentences('{"res": "none"}', chunk) == []
    assert quoted_sentences("not json at all", chunk) == []
    assert quoted_sentences('<think>hm</think>{"res": "ans", "content": "Epsilon   zeta."}', chunk) == ["Epsilon zeta."]


@dataclass
class _MemberConv:
    chunk: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"

    def generate(self, *, cancel):
        self.usage.prompt_tokens, self.usage.generated_tokens = 100, 10
        if "ferry" in self.chunk:
            yield json.dumps({"res": "ans", "content": NEEDLE})
        else:  # a member that invents a quote: dropped
            yield json.dumps({"res": "ans", "content": "The ferry leaves at midnight from pier nine."})


@dataclass
class _KeywordConv:
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"

    def generate(self, *, cancel):
        self.usage.prompt_tokens, self.usage.generated_tokens = 100, 10
        yield '{"keywords": ["ferry", "pier"], "keywords_en": ["ferry", "island"]}'


class _Backend(ScriptedBackend):
    def start(self, messages, tools, *, settings):
        text = messages[0]["content"]
        if text.startswith("Write search keywords"):
            return _KeywordConv()
        if text.startswith("Decide whether"):
            return _MemberConv(chunk=text.split("Text:\n", 1)[1])
        return super().start(messages, tools, settings=settings)


def test_model_reading_picks_the_passage_the_members_quoted_and_counts_their_tokens():
    s = settings(reader="model", read_passages=1)
    reader = PageReader(FixturePages({"https://example.com/1": PAGE}))
    chain = SearchChain([FakeProvider({"q": [result(1)]})], backoff_s=0.0)
    events = list(run("When is the boat?", settings=s, search=chain, reader=reader, cancel=threading.Event(),
                      backend=_Backend(rounds=[call("q"), answer("At seven [1].")], settings=s)))
    [read] = [e for e in events if isinstance(e, ReadDone)]
    assert read.error is None and NEEDLE in read.passages[0].text  # BM25 on the question alone misses it
    done = done_of(events)
    assert done.stats.reads.reader_tokens >= 220 and done.stats.reads.reader_tokens % 110 == 0  # keywords + members


def test_keywords_are_asked_once_per_run_in_both_languages():
    from agent.reading_model import ModelReader

    s = settings(reader="model")
    model = ModelReader(backend=_Backend(rounds=[], settings=s), settings=s, question="q", cancel=threading.Event())
    assert model.keywords() == ["ferry", "pier", "ferry", "island"] and model.tokens == 110
    assert model.keywords() == ["ferry", "pier", "ferry", "island"] and model.tokens == 110
