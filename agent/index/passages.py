"""Splitting a document's text into passages of about 100-200 words.

Retrieval works on passages, not files: a passage is short enough to hand the
model whole and long enough to carry a fact with its context. Each passage
keeps the page and the heading it came from, so a citation can say where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

TARGET_WORDS = 150
MAX_WORDS = 200
MIN_TAIL_WORDS = 40
# A "word" is whatever lies between spaces: in minified text, base64 or a language written without
# spaces it can run to megabytes. Such runs are cut, and a passage is also capped in characters,
# so every passage stays a size the model can be handed whole.
MAX_WORD_CHARS = 200
MAX_PASSAGE_CHARS = 2400

_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True, kw_only=True)
class Section:
    """A run of a file's text from one place: a page of a PDF, a whole text file."""

    text: str
    page: int | None = None


@dataclass(frozen=True, kw_only=True)
class Passage:
    """One retrievable unit. ``pid`` is stable for a given file and content."""

    pid: str
    title: str
    text: str
    page: int | None = None
    heading: str | None = None


def split_sections(sections: Iterable[Section], *, title: str, id_prefix: str,
                   markdown_headings: bool) -> list[Passage]:
    """Passages of ``sections`` in order; ``markdown_headings`` tracks ``# Heading`` lines."""
    passages: list[Passage] = []
    heading: str | None = None
    for section in sections:
        for block, heading in _blocks(section.text, heading, markdown_headings):  # noqa: B020 - carried on
            for start, end in _pieces(block, target=TARGET_WORDS, maximum=MAX_WORDS):
                passages.append(Passage(pid=f"{id_prefix}#{len(passages) + 1}", title=title,
                                        text=" ".join(block[start:end]), page=section.page, heading=heading))
    return passages


def chunk_spans(text: str, *, target_words: int = TARGET_WORDS, max_words: int = MAX_WORDS,
                overlap_words: int = 0) -> list[tuple[int, int]]:
    """(start, end) character offsets of ``text`` cut into passages by the rules the index cuts
    documents by (about ``target_words``, at a sentence end when one is near, no runt tail, at
    most MAX_PASSAGE_CHARS), each reaching back ``overlap_words`` into the one before.
    Page reading (agent/read) uses it, so a page and an indexed document are cut alike."""
    places: list[tuple[int, int]] = []
    for match in re.finditer(r"\S+", text):
        start, end = match.span()
        places.extend((i, min(i + MAX_WORD_CHARS, end)) for i in range(start, end, MAX_WORD_CHARS))
    words = [text[s:e] for s, e in places]
    return [(places[max(0, a - overlap_words)][0], places[b - 1][1])
            for a, b in _pieces(words, target=target_words, maximum=max_words)]


def _pieces(words: Sequence[str], *, target: int, maximum: int) -> Iterator[tuple[int, int]]:
    """Index ranges of ``words``: runs of about ``target`` words, each within MAX_PASSAGE_CHARS."""
    for start, end in _chunks(words, target=target, maximum=maximum):
        yield from _within_chars(words, start, end)


def _blocks(text: str, heading: str | None,
            markdown_headings: bool) -> Iterator[tuple[list[str], str | None]]:
    """Paragraph groups between headings, each with the heading above it.

    A heading carries over from one section to the next (a chapter spans pages).
    """
    words: list[str] = []
    for line in text.splitlines():
        match = _MD_HEADING.match(line) if markdown_headings else None
        if match:
            if words:
                yield words, heading
            words, heading = [], match.group(1).strip()
            continue
        words.extend(_cut_long(line.split()))
    if words:
        yield words, heading


def _cut_long(words: list[str]) -> Iterator[str]:
    for word in words:
        if len(word) <= MAX_WORD_CHARS:
            yield word
        else:
            yield from (word[i:i + MAX_WORD_CHARS] for i in range(0, len(word), MAX_WORD_CHARS))


def _within_chars(words: Sequence[str], start: int, end: int) -> Iterator[tuple[int, int]]:
    """``words[start:end]`` as it is, or cut into runs of at most MAX_PASSAGE_CHARS characters."""
    first, size = start, 0
    for i in range(start, end):
        if i > first and size + 1 + len(words[i]) > MAX_PASSAGE_CHARS:
            yield first, i
            first, size = i, 0
        size += len(words[i]) + (1 if i > first else 0)
    if first < end:
        yield first, end


def _chunks(words: Sequence[str], *, target: int, maximum: int) -> Iterator[tuple[int, int]]:
    """Word runs of about ``target``, never over ``maximum``, cut at a sentence end when one
    is near, and no runt tail: a short remainder joins the run before it."""
    start, tail = 0, min(MIN_TAIL_WORDS, maximum // 4)
    while start < len(words):
        if len(words) - start <= maximum:
            yield start, len(words)
            return
        end = _cut(words, start, target=target, maximum=maximum)
        if len(words) - end < tail:
            end = len(words) - tail
        yield start, end
        start = end


def _cut(words: Sequence[str], start: int, *, target: int, maximum: int) -> int:
    """The index after the last sentence end between ``target``*0.7 and ``maximum``."""
    low, high = start + int(target * 0.7), start + maximum
    for i in range(min(high, len(words)) - 1, low - 1, -1):
        if words[i].endswith((".", "!", "?", ".\"", ".)")):
            return i + 1
    return start + target
