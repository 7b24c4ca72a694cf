"""One Markdown defanger (agent/text/defang.py), one table of hostile answers, run against every
renderer: the chat (the defanger alone, and the answer as the chat streams it, with its
citation chips), the HTML report, the Markdown report, the conversation export, the share
player and the terminal. No javascript:/data:/vbscript: link, no remote image and no raw HTML
survives in any form."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from agent.events import Answer, Done, SourceRef
from agent.player import player_html
from agent.records.report import export_events, export_runs
from agent.records.timed import turns_from_runs
from agent.terminal import TerminalPrinter
from ui.citations import neutralise
from ui.mapper import AnswerView

HOSTILE = {
    "inline": "see [y](javascript:alert(1)) now",
    "nested parens": "see [y](javascript:f(1)) now",
    "data URL": "[d](data:text/html;base64,PHNjcmlwdD4=)",
    "vbscript, any case": "[v](VbScRiPt:msgbox(1))",
    "angle destination": "[a](<javascript:alert(1)>)",
    "titled": '[t](javascript:alert(1) "title")',
    "reference": "[click][r]\n\n[r]: javascript:alert(1)",
    "reference, indented": "[click][r]\n\n   [r]: data:text/html,x",
    "collapsed reference": "[r][]\n\n[r]: javascript:alert(1)",
    "autolink": "<javascript:alert(1)>",
    "raw HTML link": '<a href="javascript:alert(1)">x</a>',
    "raw HTML image": '<img src="https://tracker.example/p.png" onerror="alert(1)">',
    "remote image": "![pixel](https://tracker.example/p.png)",
    "image by reference": "![pixel][p]\n\n[p]: https://tracker.example/p.png",
    "script": "<script>alert(1)</script>",
    # Forms a regular expression over one line misses: brackets, escapes or code in the link
    # text, a title holding ")", a line break, definitions inside quotes and lists, a fence that
    # CommonMark reads as an indented code block.
    "nested brackets": "[a [b]](javascript:alert(1))",
    "escaped bracket": "[a\\]](javascript:alert(1))",
    "code in the link text": "[a `]`](javascript:alert(1))",
    "title with a parenthesis": "[x](javascript:alert(1) 'a)b')",
    "link text over two lines": "[a\nb](javascript:alert(1))",
    "link in link text": "[[x]](javascript:a)",
    "reference in a quote": "[x][r]\n\n> [r]: javascript:alert(1)",
    "reference in a list": "- [x][r]\n\n- [r]: javascript:alert(1)\n",
    "reference, label over lines": "[x][a b]\n\n[a\nb]: javascript:alert(1)",
    "indented fence": "    ```\n[x](javascript:alert(1))\n    ```",
    "citation with a target": "[1](javascript:alert(1)) and [1, 2](data:x)",
    "image inside a link": "[![i](https://tracker.example/p.png)](https://ok.example)",
    "HTML comment": "<!-- x --><a href=javascript:alert(1)>y</a>",
}
UNSAFE_URL = re.compile(r"^\s*(javascript|data|vbscript):", re.I)
_CHECK = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_CHECK.validateLink = lambda url: True


def markdown_problems(markdown: str) -> list[str]:
    """What a CommonMark renderer would make of ``markdown`` that is unsafe."""
    problems = []

    def walk(tokens):
        for t in tokens:
            if t.type in ("image", "html_inline", "html_block"):
                problems.append(f"{t.type}: {t.content!r}")
            if t.type == "link_open" and UNSAFE_URL.match(str(t.attrGet("href") or "")):
                problems.append(f"link to {t.attrGet('href')!r}")
            walk(t.children or [])

    walk(_CHECK.parse(markdown))
    return problems


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src", "action", "formaction") and UNSAFE_URL.match(value or ""):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}>")
        if tag in ("img", "script", "iframe", "object", "embed") or (
                tag == "a" and not any(n == "href" and (v or "").startswith(("http://", "https://", "#"))
                                       for n, v in attrs)):
            self.problems.append(f"<{tag}>")


def html_problems(page: str) -> list[str]:
    body = page.split("<body", 1)[-1]
    tags = Tags()
    tags.feed(body)
    return tags.problems


def _done(text: str) -> Done:
    return Done(answer=text, sources=(SourceRef(id=1, title="t", url="https://good.example/"),), cited=())


def _events(text: str) -> list:
    return [Answer(text=text), _done(text)]


def chat_problems(markdown: str) -> list[str]:
    """The chat's Markdown holds inline HTML of its own (citation chips, hidden labels): each piece
    is checked as HTML; anything else as in ``markdown_problems``."""
    problems = []

    def walk(tokens):
        for t in tokens:
            if t.type in ("html_inline", "html_block"):
                tags = Tags()
                tags.feed(t.content)
                problems.extend(tags.problems)
            elif t.type == "image":
                problems.append(f"image: {t.content!r}")
            elif t.type == "link_open" and UNSAFE_URL.match(str(t.attrGet("href") or "")):
                problems.append(f"link to {t.attrGet('href')!r}")
            walk(t.children or [])

    walk(_CHECK.parse(markdown))
    return problems


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_chat(text):
    assert not markdown_problems(neutralise(text))


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_chat_as_it_streams(text):
    """Fed a few characters at a time, as tokens come, then finished with its sources: every
    frame the chat shows, and the last, with citation chips."""
    view = AnswerView(max_searches=2)
    for start in range(0, len(text), 3):
        view.feed(Answer(text=text[start:start + 3]))
        assert not [p for m in view.messages() for p in chat_problems(str(m.content))]
    view.feed(_done(text))
    assert not [p for m in view.messages() for p in chat_problems(str(m.content))]


def _player(text: str) -> str:
    return player_html("q", turns_from_runs([({"question": "q"}, [(float(i), e) for i, e in enumerate(_events(text))])]))


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_share_player(text):
    page = _player(text)
    # The page's own scripts (the player, its timeline) are left out of the check, once counted.
    assert page.count("<script") == _player("fine [1]").count("<script")
    assert not html_problems(re.sub(r"<script\b.*?</script>", "", page, flags=re.S))


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_html_report(text):
    assert not html_problems(export_events({"question": "q"}, _events(text), "html"))


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_markdown_report(text):
    assert not markdown_problems(export_events({"question": "q"}, _events(text), "md"))


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_conversation_export(text):
    runs = [({"question": "first"}, _events("fine [1]")), ({"question": "second"}, _events(text))]
    assert not html_problems(export_runs(runs, "html"))
    assert not markdown_problems(export_runs(runs, "md"))


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_terminal(text):
    out = io.StringIO()
    printer = TerminalPrinter(out)
    for event in _events(text):
        printer(event)
    shown = out.getvalue()
    assert "\x1b" not in shown  # not a terminal: no escape sequence at all, so no OSC 8 hyperlink


def test_a_link_with_parentheses_in_its_target_goes_whole():
    """``[y](javascript:f(1))`` used to leave a stray ``)`` in the chat."""
    assert neutralise("see [y](javascript:f(1)) now") == "see y now"
    assert neutralise("[ok](https://en.wikipedia.org/wiki/Python_(language))") == \
        "[ok](https://en.wikipedia.org/wiki/Python_(language))"
