"""Pages from --page-fixture, and passage selection shared with the document index."""

from __future__ import annotations

import base64
import json
import threading

import pytest

from agent.index.passages import Section, split_sections
from agent.read import FixturePages, PageFixtureError, PageReader, ReadCancelled, passages_of, select
from tests.index_helpers import make_pdf

HTML = ("<html><head><title>Lisbon trams</title></head><body><nav>Home</nav><article><p>"
        + "Tram 28 climbs through Alfama and Graça past the cathedral. " * 12 + "</p></article></body></html>")


def reader(table):
    return PageReader(FixturePages(table))


def test_fixture_pages_are_read_and_missing_or_failing_ones_say_why():
    pdf = base64.b64encode(make_pdf(["Intro.", "Tram 28 dates from 1914."])).decode()
    pages = reader({"https://www.example.org/trams/": HTML, "https://example.org/gone": {"status": 404},
                    "https://example.org/slow": {"error": "timed out"},
                    "https://example.org/t.pdf": {"content_type": "application/pdf", "body_base64": pdf}})
    cancel = threading.Event()
    ok = pages.read("http://example.org/trams?utm_source=x", queries=["tram 28"], k=2, cancel=cancel)
    assert ok.error is None and ok.title == "Lisbon trams" and "Alfama" in ok.passages[0].text
    assert pages.read("https://example.org/gone", queries=["x"], k=2, cancel=cancel).error == "HTTP 404"
    assert pages.read("https://example.org/slow", queries=["x"], k=2, cancel=cancel).error == "timed out"
    assert pages.read("https://example.org/else", queries=["x"], k=2, cancel=cancel).error.startswith("HTTP 404")
    pdf_read = pages.read("https://example.org/t.pdf", queries=["1914"], k=1, cancel=cancel)
    assert "1914" in pdf_read.passages[0].text and pdf_read.page_of == (2,)
    cancel.set()
    with pytest.raises(ReadCancelled):
        pages.read_many(["https://example.org/trams"], queries=["x"], k=1, cancel=cancel)


@pytest.mark.parametrize("table,message", [
    ([], "must be a JSON object"), ({"u": 3}, "must be HTML text"), ({"u": {"status": "404"}}, "whole number"),
    ({"u": {"content_type": "application/pdf", "body_base64": "%%%"}}, "not valid base64"),
])
def test_a_malformed_page_fixture_is_refused_naming_the_entry(tmp_path, table, message):
    path = tmp_path / "pages.json"
    path.write_text(json.dumps(table))
    with pytest.raises(PageFixtureError, match=message):
        FixturePages.from_file(path)


def test_passages_are_cut_as_the_index_cuts_and_carry_exact_offsets():
    text = " ".join(f"Sentence {i} says something about topic {i % 7}." for i in range(400))
    spans = passages_of(text, target_words=150, max_words=200)
    indexed = split_sections([Section(text=text)], title="t", id_prefix="t", markdown_headings=False)
    assert [" ".join(s.text.split()) for s in spans] == [p.text for p in indexed]  # one chunker for both
    assert all(text[s.start:s.end] == s.text for s in spans)
    overlapping = passages_of(text, target_words=150, max_words=200, overlap_words=20)
    assert overlapping[1].start < spans[1].start


def test_bm25_picks_the_passage_that_answers_in_page_order_and_falls_back_to_the_front():
    filler = "The committee met again and discussed the budget for the coming year at length. " * 40
    needle = "The lighthouse keeper Maria Santos logged the eclipse at 14:07 on the ninth of June. "
    text = filler + needle + filler + "The eclipse drew crowds to the harbour wall. " + filler
    passages = passages_of(text)
    best = select(passages, ["when did the keeper log the eclipse?"], k=2)
    assert any("Maria Santos" in p.text for p in best)
    assert [p.start for p in best] == sorted(p.start for p in best)
    assert select(passages, ["zzzz qqqq"], k=2) == passages[:2]
    assert select(passages, ["x"], k=0) == []


def test_a_read_that_finishes_as_stop_is_pressed_is_not_reported_as_read(monkeypatch):
    """Stop and a page's result arrive together, while the reader waits for results: the read is
    cancelled, never a read_done of a page cut short (its error would say "stopped" as if the
    page had failed)."""
    import queue

    import agent.read.reader as reader_module

    waiting = threading.Event()

    class Watched(queue.Queue):
        def get(self, block=True, timeout=None):
            waiting.set()  # the reader has checked for Stop and now waits for a result
            return super().get(block, timeout)

    class StoppedMidway(FixturePages):
        def fetch(self, url, *, cancel):
            assert waiting.wait(30), "the reader never waited for a result"
            cancel.set()  # Stop pressed while this page was on its way
            return super().fetch(url, cancel=cancel)

    monkeypatch.setattr(reader_module.queue, "Queue", Watched)
    cancel = threading.Event()
    pages = PageReader(StoppedMidway({"https://example.org/a": HTML}))
    with pytest.raises(ReadCancelled):
        list(pages.read_each(["https://example.org/a"], queries=["tram"], k=1, cancel=cancel))
