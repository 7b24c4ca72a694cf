"""The loop reads sources: auto-read after a search, open_page, refusals, budgets, Stop."""

from __future__ import annotations

import json
import threading

from agent.backends.scripted import ScriptedBackend
from agent.events import ReadDone, ReadStart, SearchDone, to_dict
from agent.loop import run
from agent.read import FixturePages, PageReader
from agent.search import SearchChain
from tests.engine_helpers import FakeProvider, answer, call, done_of, result, settings

ARTICLE = ("<html><head><title>Page {n}</title></head><body><nav>Home | About</nav><article><p>"
           + "Filler about the city council budget and parking rules. " * 60
           + "</p><p>The bridge was opened in 1932 by the mayor of Harbour Town. </p><p>"
           + "More filler about the weather and the local football club results. " * 60
           + "</p></article></body></html>")


def open_call(**args) -> str:
    return f'Opening.\n</think>\n\n<tool_call>\n{json.dumps({"name": "open_page", "arguments": args})}\n</tool_call>'


def go(rounds, *, pages=None, question="When did the bridge open?", cancel=None, **kw):
    s = settings(**kw)
    table = pages if pages is not None else {f"https://example.com/{n}": ARTICLE.format(n=n) for n in (1, 2, 3)}
    reader = PageReader(FixturePages(table))
    chain = SearchChain([FakeProvider({"bridge": [result(1), result(2), result(3), result(4)]})], backoff_s=0.0)
    box = {}
    events = list(run(question, settings=s, backend=ScriptedBackend(rounds=list(rounds), settings=s), search=chain,
                      cancel=cancel or threading.Event(), reader=reader,
                      on_conversation=lambda c: box.setdefault("c", c)))
    return events, box["c"]


def test_auto_read_puts_the_best_passages_of_the_top_results_in_place_of_snippets():
    events, conv = go([call("bridge"), answer("It opened in 1932 [1].")])
    kinds = [e.type for e in events if e.type not in ("thinking", "answer")]
    assert kinds[:2] == ["search_start", "search_done"] and kinds[-1] == "done"
    assert sorted(e.id for e in events if isinstance(e, ReadStart)) == [1, 2, 3]  # read_top 3, not the 4th
    reads = [e for e in events if isinstance(e, ReadDone)]
    assert all(r.error is None and r.passages for r in reads)
    transcript = conv.transcript()
    assert "opened in 1932" in transcript and "content 1" not in transcript and "content 4" in transcript
    done = done_of(events)
    read_source = next(s for s in done.sources if s.id == 1)
    assert read_source.passages and any("1932" in p.text for p in read_source.passages)
    assert next(s for s in done.sources if s.id == 4).passages is None
    assert done.stats.reads.pages_read == 3 and done.stats.reads.tokens_added > 0
    assert "passages" in to_dict(done)["sources"][0] and "passages" not in to_dict(done)["sources"][3]


def test_a_failed_read_says_why_and_the_model_keeps_the_snippet():
    events, conv = go([call("bridge"), answer("x")], pages={"https://example.com/1": {"status": 404},
                                                              "https://example.com/2": {"error": "timed out"}})
    errors = {e.id: e.error for e in events if isinstance(e, ReadDone)}
    assert errors[1] == "HTTP 404" and errors[2] == "timed out" and errors[3].startswith("HTTP 404")
    assert "content 1" in conv.transcript() and done_of(events).sources[0].passages is None


def test_search_r1_gets_passages_in_its_own_doc_format():
    events, conv = go(["<think>x</think><search>bridge</search>", "<answer>1932</answer>"], dialect="search-r1")
    text = conv.transcript()
    assert 'Doc 1(Title: "Title 1") ' in text and "opened in 1932" in text


def test_open_page_reads_a_shown_source_and_refuses_others_with_a_reason():
    events, conv = go([call("bridge"), open_call(id=2, goal="opening year"), open_call(id=9),
                       open_call(url="http://169.254.169.254/latest/meta-data/"), answer("1932 [2].")], read="ask")
    reads = [e for e in events if isinstance(e, ReadDone)]
    assert [r.id for r in reads] == [2, 0, 0]
    assert any("1932" in p.text for p in reads[0].passages)
    assert "no source [9]" in reads[1].error and "not opened" in reads[2].error
    text = conv.transcript()
    assert "Passage 1 of" in text and "open_page was not run" in text
    assert done_of(events).searches == 1  # opening a page is no search


def test_open_page_reads_an_address_the_user_wrote():
    events, _ = go([open_call(url="https://example.com/3"), answer("1932 [1].")], read="ask",
                   question="When did the bridge in https://example.com/3 open?")
    done = done_of(events)
    assert done.sources[0].url == "https://example.com/3" and done.sources[0].passages


def test_passages_that_do_not_fit_the_token_budget_are_dropped_whole():
    events, conv = go([call("bridge"), answer("x")], read_tokens=60)
    done = done_of(events)
    assert done.stats.reads.tokens_added <= 60
    kept = [s for s in done.sources if s.passages]
    for source in kept:
        assert all(p.text in conv.transcript() or " ".join(p.text.split()) in conv.transcript()
                   for p in source.passages)


def test_stop_during_reads_ends_the_run_stopped():
    cancel = threading.Event()

    class Slow(FixturePages):
        def fetch(self, url, *, cancel):
            cancel.wait(30)
            return super().fetch(url, cancel=cancel)

    s = settings()
    reader = PageReader(Slow({"https://example.com/1": ARTICLE}))
    chain = SearchChain([FakeProvider({"bridge": [result(1)]})], backoff_s=0.0)
    events = []
    for event in run("q?", settings=s, backend=ScriptedBackend(rounds=[call("bridge"), answer("x")], settings=s),
                     search=chain, cancel=cancel, reader=reader):
        events.append(event)
        if isinstance(event, ReadStart):
            cancel.set()
    assert done_of(events).end == "stopped" and not any(isinstance(e, ReadDone) for e in events)


def test_without_a_reader_the_run_is_as_before():
    s = settings()
    chain = SearchChain([FakeProvider({"bridge": [result(1)]})], backoff_s=0.0)
    events = list(run("q?", settings=s, backend=ScriptedBackend(rounds=[call("bridge"), answer("x [1]")], settings=s),
                      search=chain))
    assert [e.type for e in events if isinstance(e, (SearchDone, ReadStart, ReadDone))] == ["search_done"]
    assert done_of(events).stats.reads is None and "reads" not in to_dict(done_of(events))["stats"]
