"""The text a claim is checked against: per source, the passages that were read, else the snippet.

A source carries its words in one of three ways, and this module is the one place that knows
them: a page that was read has ``passages`` (``[{"text", "start", "end"}]``, offsets in the
extracted page); a document passage has its ``text``; a web result that was not read has
only the search ``snippet``. A check against a snippet says so, since a snippet is a few
hundred characters of a page that may well say more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .normalise import fold
from .numbers import Figures, read
from .words import acronyms, content_words, negated, passage_sentences


@dataclass(frozen=True)
class Passage:
    """Text of a source and where it starts in that source (its page, document or snippet)."""

    text: str
    start: int = 0


@dataclass(frozen=True)
class CheckSource:
    """A source as the checker sees it: its engine ``id``, its ``passages`` and whether they
    are only the search snippet."""

    id: int
    passages: tuple[Passage, ...]
    snippet_only: bool = False
    title: str = ""


@dataclass(frozen=True)
class Span:
    """One sentence of a passage: offsets in the passage, its content words, whether it negates."""

    start: int
    end: int
    words: frozenset[str]
    negated: bool


@dataclass
class Prepared:
    """A passage read once for every claim that cites it: folded text, the figures and content
    words it holds, and its sentences."""

    source: CheckSource
    passage: Passage
    folded: str
    figures: Figures
    words: frozenset[str]
    sentences: list[Span]
    # The source's title: a page about the Eiffel Tower need not repeat its name in every passage.
    title: str
    # Initials of the names it spells out: a claim may write "ISS" for "International Space Station".
    acronyms: frozenset[str]


def check_source(ref: Any) -> CheckSource:
    """A ``CheckSource`` from a ``SourceRef`` (or its JSON object): passages if it has any,
    else a document's text, else the snippet."""
    get = _getter(ref)
    ident = get("id")
    if isinstance(ident, bool) or not isinstance(ident, int):
        raise ValueError(f"a source to check against needs a whole-number id, got {ident!r}")
    title = get("title")
    title = title if isinstance(title, str) else ""
    passages = tuple(_passages(get("passages")))
    if passages:
        return CheckSource(ident, passages, title=title)
    text = get("text")
    if isinstance(text, str) and text.strip():
        return CheckSource(ident, (Passage(text, 0),), title=title)
    snippet = get("snippet")
    if isinstance(snippet, str) and snippet.strip():
        return CheckSource(ident, (Passage(snippet, 0),), snippet_only=True, title=title)
    return CheckSource(ident, (), title=title)


def _passages(raw: Any) -> Iterable[Passage]:
    for item in raw or ():
        get = _getter(item)
        text, start = get("text"), get("start", 0)
        if isinstance(text, str) and text.strip():
            yield Passage(text, start if isinstance(start, int) and not isinstance(start, bool) else 0)


def _getter(value: Any) -> Any:
    """Field access for a JSON object or a record alike."""
    if isinstance(value, dict):
        return value.get
    return lambda key, default=None: getattr(value, key, default)


def prepare(source: CheckSource) -> list[Prepared]:
    prepared = []
    for passage in source.passages:
        folded = fold(passage.text)
        spans = []
        for start, end in passage_sentences(passage.text):
            part = fold(passage.text[start:end])
            spans.append(Span(start, end, frozenset(content_words(part)), negated(part)))
        words = frozenset().union(*(s.words for s in spans)) if spans else frozenset()
        prepared.append(Prepared(source, passage, folded, read(folded), words, spans, fold(source.title),
                                 frozenset(acronyms(passage.text) | acronyms(source.title))))
    return prepared
