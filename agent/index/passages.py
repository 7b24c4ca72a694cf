"""Splitting a document's text into passages of about 100-200 words.

Retrieval works on passages, not files: a passage is short enough to hand the
model whole and long enough to carry a fact with its context. Each passage
keeps the page and the heading it came from, so a citation can say where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

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
            for words in (piece for chunk in _chunks(block) for piece in _within_chars(chunk)):
                passages.append(Passage(pid=f"{id_prefix}#{len(passages) + 1}", title=title,
                                        text=" ".join(words), page=section.page, heading=heading))
    return passages


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


def _within_chars(words: list[str]) -> Iterator[list[str]]:
    """``words`` as it is, or cut into runs of at most MAX_PASSAGE_CHARS characters."""
    run: list[str] = []
    size = 0
    for word in words:
        if run and size + 1 + len(word) > MAX_PASSAGE_CHARS:
            yield run
            run, size = [], 0
        size += len(word) + (1 if run else 0)
        run.append(word)
    if run:
        yield run


def _chunks(words: list[str]) -> Iterator[list[str]]:
    """Word runs of about TARGET_WORDS, never over MAX_WORDS, cut at a sentence end when one
    is near, and no runt tail: a short remainder joins the run before it."""
    start = 0
    while start < len(words):
        remaining = len(words) - start
        if remaining <= MAX_WORDS:
            yield words[start:]
            return
        end = _cut(words, start)
        if len(words) - end < MIN_TAIL_WORDS:
            end = len(words) - MIN_TAIL_WORDS
        yield words[start:end]
        start = end


def _cut(words: list[str], start: int) -> int:
    """The index after the last sentence end between TARGET_WORDS*0.7 and MAX_WORDS."""
    low, high = start + int(TARGET_WORDS * 0.7), start + MAX_WORDS
    for i in range(min(high, len(words)) - 1, low - 1, -1):
        if words[i].endswith((".", "!", "?", ".\"", ".)")):
            return i + 1
    return start + TARGET_WORDS
