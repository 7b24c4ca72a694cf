"""One rule for untrusted text in every renderer: what a citation is, and which URL may be a link.

The loop (``done.cited``), the UI, the HTML report and the Markdown report must agree:
a person never sees a citation counted but not linked, or one host shown and another opened.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from agent.text.citations import cited_ids
from agent.events import Answer, Done, SearchDone, SearchStart, SourceRef
from agent.text.safe_url import safe_http_url
from agent.records.report import export_events
from tests.engine_helpers import answer, call, done_of, result, run_script
from ui.citations import link_citations, neutralise, safe_url
from ui.mapper import events_to_messages

GOOD = SourceRef(id=1, title="Good page", url="https://good.example/page")

# (url, may it be a link?)
URLS = [
    ("https://good.example/page", True),
    ("http://good.example/a b", True),  # a plain space is percent-encoded by each renderer
    ("http://evil.example\\@good.example/", False),  # browsers open evil.example; urlsplit says good
    ("http://good.example@evil.example/", False),  # user info shows one host, opens another
    ("https://good.example/\u202egpj.exe", False),  # right-to-left override
    ("https://good\u200f.example/", False),  # right-to-left mark
    ("https://good.example/\u2066x\u2069", False),  # isolates
    ("javascript:alert(1)", False),
    ("https://good.example/\u00a0x", False),
    ('https://good.example/"onmouseover=x', False),
]


class Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def report_links(url: str, fmt: str) -> str:
    source = SourceRef(id=1, title="T", url=url)
    events = [SearchStart(query="q", round=1, max_searches=5),
              SearchDone(query="q", provider="p", latency_s=0.1, results=(source,)),
              Answer(text="A [1]."), Done(answer="A [1].", sources=(source,), cited=(1,), searches=1)]
    return export_events({"question": "q"}, events, fmt)


@pytest.mark.parametrize("url,ok", URLS)
def test_every_renderer_applies_the_same_url_rule(url: str, ok: bool) -> None:
    assert (safe_http_url(url) is not None) == ok
    assert (safe_url(url) is not None) == ok  # the UI
    html = report_links(url, "html")
    parser = Hrefs()
    parser.feed(html)
    external = [h for h in parser.hrefs if not h.startswith("#")]
    assert bool(external) == ok, external
    md = report_links(url, "md")
    assert ("](http" in md) == ok


@pytest.mark.parametrize("url", ["https://good.example/\u202egpj.exe", "https://a.example/\u2067x"])
def test_a_bidi_override_in_a_url_is_shown_visibly_not_applied(url: str) -> None:
    for fmt in ("html", "md"):
        text = report_links(url, fmt)
        assert "\u202e" not in text and "\u2067" not in text
        assert "\\u202e" in text or "\\u2067" in text


def test_a_linked_citation_counts_and_links_its_source_in_every_renderer() -> None:
    """``[1](url)`` is cited in ``done`` and linked everywhere to source 1, never to the model's target."""
    text = "It is 330 m [1](https://elsewhere.example/x)."
    assert cited_ids(text, [1]) == (1,)
    ui = link_citations(neutralise(text), {1: GOOD}, {1: 1}, scope="a1")
    assert "good.example/page" in ui and "elsewhere" not in ui
    events = [Answer(text=text), Done(answer=text, sources=(GOOD,), cited=(1,))]
    html = export_events({"question": "q"}, events, "html")
    md = export_events({"question": "q"}, events, "md")
    assert 'href="#' in html and "elsewhere" not in html
    assert "good.example/page" in md and "elsewhere" not in md


def test_an_unsafe_target_on_a_citation_never_becomes_a_link_even_in_thinking() -> None:
    shown = neutralise("see [1](javascript:alert(1)) and [2](https://evil.example)")
    assert "javascript" not in shown.split(")")[0] and "](https://evil" not in shown


def test_a_citation_with_thousands_of_digits_is_text_and_the_run_ends_with_its_answer() -> None:
    """int() refuses more than 4300 digits; that must never kill a run and lose the answer."""
    huge = "9" * 5000
    events, _ = run_script([call("q"), answer(f"It is 330 m [1] and [{huge}] and [1, {huge}].")],
                           {"q": [result(1)]})
    done = done_of(events)
    assert done.answer.startswith("It is 330 m [1]") and done.cited == (1,)
    messages = events_to_messages(events, max_searches=5)
    assert any(huge in str(m.content) for m in messages)
    for fmt in ("html", "md"):
        assert huge in export_events({"question": "q"}, events, fmt)
