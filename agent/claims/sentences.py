"""An answer cut into the sentences that make claims, as Markdown shows them.

Code (fenced blocks, inline spans) is never a claim: it is blanked before anything else.
Headings, rules, table separator lines and reference lines ("[1] Title - url") are no claims
either. A list item or a table row starts a new sentence; a paragraph's lines run on. A full
stop ends a sentence only before a space or the end ("3.5 m", "U.S.A" go on), not after an
abbreviation or an initial ("Dr.", "e.g.", "U.S.", "J. K."), nor before a lower-case word;
CJK full stops (。！？) end one wherever they are. Citations written right after the stop
("… in 1889. [1]") still belong to the sentence before them.

Offsets are into the answer as given, so a sentence can be found and marked where it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text.citations import CITATION, citation_numbers
from ..text.markdown_code import code_regions

_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]|$)")
_RULE = re.compile(r"^[ \t]{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TABLE_SEPARATOR = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_ITEM = re.compile(r"^(?:[ \t]*>)*[ \t]*(?:[-+*]|\d{1,9}[.)])[ \t]+")
_QUOTE = re.compile(r"^(?:[ \t]*>[ \t]?)+")
_TERMINATOR = re.compile(r"[.!?]+|[。！？]+|…")
_CLOSERS = "\"'”’)]」』»*_"
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "vs", "jr", "sr", "inc", "ltd", "co", "corp", "no",
    "fig", "approx", "ca", "cf", "al", "e.g", "i.e", "etc", "mt", "gen", "gov", "sen", "rep",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "vol",
    "pp", "ed", "est", "dept", "univ", "z.b", "bzw", "usw", "vgl",
})
_NEXT_CHAR = re.compile(r"\S")


@dataclass(frozen=True)
class Sentence:
    """One sentence: ``start``/``end`` in the answer, the ``text`` written there, the numbers
    its citations give (in the order written, repeats dropped), and ``claim``: the text to
    check, with citations and code blanked."""

    start: int
    end: int
    text: str
    numbers: tuple[int, ...]
    claim: str


def split(answer: str) -> list[Sentence]:
    """The sentences of ``answer`` outside code, headings, rules and reference lines."""
    work = _blank(answer, code_regions(answer))
    sentences: list[Sentence] = []
    for start, end in _blocks(work):
        for s, e in _cut(work, start, end):
            sentence = _sentence(answer, work, s, e)
            if sentence is not None:
                sentences.append(sentence)
    return sentences


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with the given spans blanked (line breaks kept, so lines stay lines)."""
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def _blocks(work: str) -> list[tuple[int, int]]:
    """Spans of paragraphs, list items, quotes and table rows; skipped lines split them."""
    blocks: list[tuple[int, int]] = []
    open_block: list[int] | None = None
    pos = 0
    lines = work.split("\n")
    for i, line in enumerate(lines):
        start, end = pos, pos + len(line)
        pos = end + 1
        kind, body = _line(line)
        if kind == "row" and i + 1 < len(lines) and _TABLE_SEPARATOR.match(lines[i + 1]):
            kind = "skip"  # a table's header row names columns; it claims nothing
        if kind in ("skip", "blank"):
            open_block = None
            continue
        if kind in ("item", "row") or open_block is None:
            open_block = [start + body, end]
            blocks.append((0, 0))
        else:
            open_block[1] = end
        blocks[-1] = (open_block[0], open_block[1])
        if kind == "row":
            open_block = None
    return blocks


def _line(line: str) -> tuple[str, int]:
    """What a line is, and where its text starts: blank, skip, item, row or text."""
    if not line.strip():
        return "blank", 0
    if _HEADING.match(line) or _RULE.match(line) or _TABLE_SEPARATOR.match(line) and "-" in line:
        return "skip", 0
    if line.lstrip().startswith("|") and line.count("|") >= 2:
        return "row", 0
    item = _ITEM.match(line)
    quote = _QUOTE.match(line)
    body = item.end() if item else (quote.end() if quote else 0)
    if CITATION.match(line, body):  # "[1] Title - url": a list of sources, not a claim
        return "skip", 0
    return ("item" if item else "text"), body


def _cut(work: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans within one block."""
    spans, begin, pos = [], start, start
    while (stop := _TERMINATOR.search(work, pos, end)) is not None:
        pos = stop.end()
        after = _after_stop(work, pos, end)
        if after is None or not _ends_here(work, begin, stop, after, end):
            continue
        spans.append((begin, after))
        begin = pos = after
    if work[begin:end].strip():
        spans.append((begin, end))
    return spans


def _after_stop(work: str, pos: int, end: int) -> int | None:
    """Where a sentence ending at ``pos`` ends, with its closing quotes and trailing citations;
    None when the stop is inside a word or number."""
    while pos < end and work[pos] in _CLOSERS:
        pos += 1
    while True:
        gap = pos
        while gap < end and work[gap] in " \t\n":
            gap += 1
        cite = CITATION.match(work, gap, end)
        if cite is None:
            break
        pos = cite.end()
        while pos < end and work[pos] in ".!?。" + _CLOSERS:
            pos += 1
    return pos


def _ends_here(work: str, begin: int, stop: re.Match[str], after: int, end: int) -> bool:
    if stop.group()[0] in "。！？":
        return True
    if after < end and not work[after].isspace():
        return False
    nxt = _NEXT_CHAR.search(work, after, end)
    if nxt is not None and nxt.group().islower():
        return False
    if stop.group() == ".":
        token = _word_before(work, begin, stop.start()).lower()
        if token and (token in _ABBREVIATIONS or len(token) == 1 and token.isalpha() or "." in token.strip(".")):
            return False
    return True


def _word_before(work: str, begin: int, stop: int) -> str:
    """The run of word characters and dots ending at ``stop`` (scanned backwards, so a long
    block costs the word's length, not the block's)."""
    start = stop
    while start > begin and (work[start - 1].isalnum() or work[start - 1] in "_."):
        start -= 1
    return work[start:stop]


def _sentence(answer: str, work: str, start: int, end: int) -> Sentence | None:
    while start < end and work[start].isspace():
        start += 1
    while end > start and work[end - 1].isspace():
        end -= 1
    numbers: list[int] = []
    cites = list(CITATION.finditer(work, start, end))
    for match in cites:
        numbers += [n for n in citation_numbers(match) if n not in numbers]
    claim = _blank(work[start:end], [(m.start() - start, m.end() - start) for m in cites]).replace("|", " ")
    if not any(c.isalnum() for c in claim):
        return None
    if not numbers and claim.rstrip().endswith(":"):  # "Here is what I found:" leads into a list
        return None
    return Sentence(start, end, answer[start:end], tuple(numbers), " ".join(claim.split()))
