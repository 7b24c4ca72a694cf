"""Reports: the answer's Markdown rendered safely, stats in words, whole conversations,
and the CLI's --export choosing the format from the output's extension."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from agent.config import Settings
from agent.events import Answer, Done, SearchDone, SearchStart, SourceRef, Thinking
from agent.records.conversation import Conversation
from tests.engine_helpers import recorded
from agent.records.report import export, export_events, export_runs
from agent.records.trace import TraceWriter, read_runs

ROOT = Path(__file__).resolve().parents[2]
SOURCE = SourceRef(id=1, title="Eiffel Tower", url="https://en.wikipedia.org/wiki/Eiffel_Tower")
META = {"question": "How tall?", "model": "m", "backend": "scripted", "scripted": True}

RICH_ANSWER = """The tower is **330 m** tall [1], *not* 300 m [7].

| Part | Height |
|---|---|
| Top | 330 m [1] |

- first point
- second point with `code [1]`

1. one
2. two
"""

# Every way a model's Markdown can link or load something that is not an http(s) page.
HOSTILE = {
    "javascript": "[click](javascript:alert(1))",
    "javascript-mixed-case": "[click](JaVaScRiPt:alert(1))",
    "javascript-spaced": "[click](  javascript:alert(1)  )",
    "javascript-angle": "[click](<javascript:alert(1)>)",
    "data": "[click](data:text/html;base64,PHNjcmlwdD4=)",
    "protocol-relative": "[click](//evil.example/x)",
    "reference": "[click][ref]\n\n[ref]: javascript:alert(2)",
    "reference-collapsed": "[ref][]\n\n[ref]: //evil.example/",
    "reference-shortcut": "[ref]\n\n  [ref]: data:text/html,x",
    "nested-brackets": "[a [1] b](javascript:alert(1))",
    "remote-image": "![pixel](https://tracker.example/p.png)",
    "image-reference": "![pixel][img]\n\n[img]: https://tracker.example/p.png",
    "autolink": "<javascript:alert(3)>",
    "entity": "[click](javascript&#58;alert(1))",
    "html": '<a href="javascript:alert(1)">click</a><img src="https://tracker.example/p.png">',
}


def links_and_images(markdown: str) -> tuple[list[str], int]:
    """What a CommonMark renderer would link and how many images it would load."""
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: True
    hrefs, images, stack = [], 0, list(md.parse(markdown))
    while stack:
        token = stack.pop()
        stack += token.children or []
        if token.type == "link_open":
            hrefs.append(str(token.attrGet("href")))
        images += token.type == "image" or (token.type in ("html_inline", "html_block") and "<img" in token.content)
        if token.type in ("html_inline", "html_block") and "href" in token.content:
            hrefs.append(token.content)
    return hrefs, images


def run_events(answer: str) -> list:
    return [Thinking(text="hm"), Answer(text=answer), Done(answer=answer, sources=(SOURCE,), cited=(1,))]


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(doc: str) -> Tags:
    parser = Tags()
    parser.feed(doc)
    return parser


# --------------------------------------------------------------------------- the answer's Markdown


def test_html_report_renders_the_answers_markdown() -> None:
    doc = export_events(META, run_events(RICH_ANSWER), "html")
    answer = doc.split("<h2>Answer</h2>")[1].split("<h2>Sources</h2>")[0]
    assert "<strong>330 m</strong>" in answer and "<em>not</em>" in answer
    assert "<table>" in answer and "<th>Height</th>" in answer
    assert answer.count("<li>") == 4 and "<ol>" in answer and "<ul>" in answer
    assert '[<a class="cite" href="#source-1">1</a>]' in answer  # citations still link, in tables too
    assert answer.count('href="#source-1"') == 2
    assert "<code>code [1]</code>" in answer  # not inside code
    assert 'class="cite-missing"' in answer and "7?" in answer


@pytest.mark.parametrize("name", HOSTILE)
def test_html_report_links_only_http_pages(name: str) -> None:
    doc = export_events(META, run_events(f"See {HOSTILE[name]} and [ok](https://ok.example/) [1]."), "html")
    answer = doc.split("<h2>Answer</h2>")[1].split("<h2>Sources</h2>")[0]
    hrefs = [attrs["href"] for tag, attrs in tags_of(answer).tags if tag == "a"]
    assert "https://ok.example/" in hrefs
    assert all(h.startswith(("https://", "#source-")) for h in hrefs), hrefs
    assert not any(tag in ("img", "script") for tag, _ in tags_of(answer).tags)


@pytest.mark.parametrize("name", HOSTILE)
def test_markdown_report_links_only_http_pages(name: str) -> None:
    """Issue 11.9: the same rule in the Markdown report, checked the way a renderer reads it."""
    md = export_events(META, run_events(f"See {HOSTILE[name]} and [ok](https://ok.example/) [1]."), "md")
    answer = md.split("## Answer")[1].split("## Sources")[0]
    hrefs, images = links_and_images(answer)
    assert images == 0
    assert "https://ok.example/" in hrefs and "https://en.wikipedia.org/wiki/Eiffel_Tower" in hrefs
    assert all(h.startswith(("https://ok.example", "https://en.wikipedia.org")) for h in hrefs), hrefs
    word = next(w for w in ("click", "pixel", "ref", "javascript") if w in HOSTILE[name])
    assert word in answer  # what the model wrote stays readable, as text
    if name in ("javascript", "javascript-mixed-case", "data"):
        assert "See click and [ok]" in answer  # a refused link leaves its text, and nothing else


def test_markdown_report_keeps_the_answers_own_formatting() -> None:
    md = export_events(META, run_events(RICH_ANSWER), "md")
    assert "**330 m**" in md and "| Top | 330 m [\\[1\\]](https://en.wikipedia.org/wiki/Eiffel_Tower) |" in md
    assert "- first point" in md and "\\[7?\\]" in md
    assert "- second point with `code [1]`" in md  # code as written, as the chat shows it: no citation link
    md = export_events(META, run_events("> As the site says, AT&T [1].\n\n`a && b < c`\n\n<b>x</b>"), "md")
    quoted = md.split("## Answer")[1].split("## Sources")[0]
    assert "> As the site says, AT&T" in quoted and "`a && b < c`" in quoted  # quotes and code as written
    assert "&lt;b>x&lt;/b>" in quoted and links_and_images(quoted) == (
        ["https://en.wikipedia.org/wiki/Eiffel_Tower"], 0)


# --------------------------------------------------------------------------- whole conversation


def write_session(path: Path) -> None:
    for n, (question, url) in enumerate([("First question?", "https://a.example/"),
                                         ("Second question?", "https://b.example/"),
                                         ("Third question?", "https://c.example/")], start=1):
        ref = SourceRef(id=1, title=f"Source {n}", url=url)
        with TraceWriter(path, question=question, settings=Settings(backend="scripted"), model="m") as writer:
            for event in [Thinking(text=f"thinking {n}"),
                          SearchStart(query=f"query {n}", round=1, max_searches=5),
                          SearchDone(query=f"query {n}", provider="fixture", latency_s=0.1, results=(ref,)),
                          Answer(text=f"Answer {n} [1]."),
                          Done(answer=f"Answer {n} [1].", sources=(ref,), cited=(1,), searches=1)]:
                writer.write(event)


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_a_whole_conversation_in_one_report(tmp_path: Path, fmt: str) -> None:
    session = tmp_path / "session.jsonl"
    write_session(session)
    doc = export(session, fmt=fmt, run=None)
    for n, word in enumerate(["First", "Second", "Third"], start=1):
        for part in (f"{word} question?", f"thinking {n}", f"query {n}", f"Source {n}", f"Answer {n}"):
            assert part in doc, part
    assert doc.index("First question?") < doc.index("Second question?") < doc.index("Third question?")
    if fmt == "html":
        # Each answer's [1] points at its own source.
        for n, host in enumerate("abc", start=1):
            assert f'href="#q{n}-source-1"' in doc and f'<li id="q{n}-source-1" value="1"><a href="https://{host}.example/"' in doc
    assert export_runs([(meta, [e for _, e in timed]) for meta, timed in read_runs(session)], fmt) == doc


def document_conversation() -> list:
    """Two answers, each citing its own document source [1]: different passages."""
    runs = []
    for question, file, passage in (("How did Lisbon do?", "lisbon.md", "Lisbon grew revenue."),
                                    ("And Porto?", "porto.md", "Porto cut costs.")):
        ref = SourceRef(id=1, title=file, url="", kind="document", file=file, text=passage)
        runs.append(({**META, "question": question}, [
            SearchStart(query=question, round=1, max_searches=5),
            SearchDone(query=question, provider="local", latency_s=0.1, results=(ref,)),
            Answer(text="See [1]."), Done(answer="See [1].", sources=(ref,), cited=(1,), searches=1)]))
    return runs


def test_a_conversations_document_citations_lead_to_their_own_answers_passage(tmp_path: Path) -> None:
    """The conversation export the chat offers: answer 2's [1] leads to answer 2's passage."""
    from ui.conversation_export import ConversationExport

    conversation = ConversationExport(record=Conversation())
    for meta, events in document_conversation():
        recorded(conversation.record, meta["question"], events, meta=meta)
    html_path, _ = conversation.write(tmp_path)
    doc = Path(html_path).read_text(encoding="utf-8")
    ids = [attrs["id"] for _, attrs in tags_of(doc).tags if attrs.get("id")]
    assert len(ids) == len(set(ids)) == 2, ids
    articles = doc.split("<article>")[1:]
    for article, passage, other in zip(articles, ("Lisbon grew", "Porto cut"), ("Porto cut", "Lisbon grew")):
        (href,) = set(re.findall(r'<a class="cite" href="#([^"]+)"', article))
        target = article.split(f'<li id="{href}"')[1].split("</li>")[0]
        assert passage in target and other not in target


def test_an_empty_conversation_is_refused() -> None:
    with pytest.raises(ValueError, match="no runs"):
        export_runs([], "html")


# --------------------------------------------------------------------------- the CLI


def test_the_ui_keeps_every_answer_for_one_conversation_download(tmp_path: Path) -> None:
    from ui.conversation_export import ConversationExport

    conversation = ConversationExport(record=Conversation())
    assert conversation.write(tmp_path) == (None, None)  # nothing asked yet: nothing offered
    session = tmp_path / "session.jsonl"
    write_session(session)
    for meta, timed in read_runs(session):
        recorded(conversation.record, meta["question"], [e for _, e in timed], meta=meta)
    html, md = conversation.write(tmp_path)
    assert html and md and Path(html).name.startswith("deepsearch-conversation-")
    assert Path(md).read_text(encoding="utf-8") == export(session, fmt="md", run=None)
