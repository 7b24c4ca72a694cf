"""Where the code is in a Markdown text: the one definition every renderer here uses.

Text inside code is shown as written by the chat's Markdown renderer (Gradio's ``marked``,
GitHub-flavoured) and by markdown-it in the reports, so nothing may be escaped or linked there;
everything outside code is. Both follow CommonMark for the two kinds recognised here:

- a fenced block: a line of three or more backticks or tildes, up to a line of the same
  character at least as long with nothing else on it, or to the end of the text while it is
  still open (a streaming answer). A backtick fence's info string holds no backtick. A fence
  marker in the middle of a line is not a fence;
- an inline code span: a run of n backticks up to the next run of exactly n backticks. A
  backtick after an odd number of backslashes is a literal one.

A fence line may be indented and follow quote or list markers (``1. ```bash``), because models
put fences in lists, nested ones too; reading every such line as a fence keeps an opening and
its closing line paired. The price: a fence marker in an indented code block is taken for a
fence, as the older rule (any three backticks) took it too.

Left out on purpose, and escaped like ordinary text: spans that run over a line break, and
indented code blocks. Telling those apart from a paragraph needs the context before the line,
which a streaming answer's tail does not have; taking them for text only escapes a little too
much, while taking text for code would let raw HTML through.
"""

from __future__ import annotations

import re
from typing import Callable

# Indentation, then any quote (``>``) or list (``-``, ``1.``) markers, then the fence marker.
_FENCE_LINE = re.compile(r"^(?:[ \t]*(?:>|(?:[-+*]|\d{1,9}[.)])[ \t]))*[ \t]*(?P<marker>`{3,}|~{3,})(?P<rest>[^\n]*)$",
                         re.M)
_TICKS = re.compile(r"`+")


def code_regions(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every code region in ``text``, in order, not overlapping: fenced
    blocks from their opening line to the end of their closing line, and inline code spans."""
    regions: list[tuple[int, int]] = []
    pos = 0
    for start, end in _fences(text):
        regions += _spans(text, pos, start)
        regions.append((start, end))
        pos = end
    return regions + _spans(text, pos, len(text))


def unclosed_fence(text: str) -> str | None:
    """The marker of the fence ``text`` leaves open (``"````"``), or ``None``."""
    opening = None
    for match in _FENCE_LINE.finditer(text):
        opening = _next_fence_state(opening, match)
    return opening


def outside_code(text: str, change: Callable[[str], str]) -> str:
    """``text`` with ``change`` applied to everything outside code; code stays as written."""
    out, pos = [], 0
    for start, end in code_regions(text):
        out += [change(text[pos:start]), text[start:end]]
        pos = end
    return "".join(out) + change(text[pos:])


def _next_fence_state(opening: str | None, line: re.Match[str]) -> str | None:
    """The open fence's marker after ``line``: opened, closed, or as it was."""
    marker, rest = line.group("marker"), line.group("rest")
    if opening is None:
        return None if marker[0] == "`" and "`" in rest else marker
    if marker[0] == opening[0] and len(marker) >= len(opening) and not rest.strip(" \t\r"):
        return None
    return opening


def _fences(text: str) -> list[tuple[int, int]]:
    fences, opening, start = [], None, 0
    for match in _FENCE_LINE.finditer(text):
        state = _next_fence_state(opening, match)
        if opening is None and state is not None:
            start = match.start()
        elif opening is not None and state is None:
            fences.append((start, match.end()))
        opening = state
    if opening is not None:
        fences.append((start, len(text)))
    return fences


def _spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Inline code spans of ``text[start:end]``, each on one line."""
    spans: list[tuple[int, int]] = []
    pos = start
    while (run := _TICKS.search(text, pos, end)) is not None:
        opener, pos = run.start(), run.end()
        if _escaped(text, spans[-1][1] if spans else start, opener):
            opener += 1  # an escaped backtick is literal; the rest of the run may still open
            if opener == pos:
                continue
        close = _closing(text, pos, min(end, _line_end(text, pos)), pos - opener)
        if close is not None:
            spans.append((opener, close))
            pos = close
    return spans


def _escaped(text: str, floor: int, pos: int) -> bool:
    """Whether ``text[pos]`` follows an odd number of backslashes (none before ``floor`` count)."""
    back = pos
    while back > floor and text[back - 1] == "\\":
        back -= 1
    return (pos - back) % 2 == 1


def _closing(text: str, pos: int, end: int, length: int) -> int | None:
    """The end of the first run of exactly ``length`` backticks in ``text[pos:end]``."""
    while (run := _TICKS.search(text, pos, end)) is not None:
        if run.end() - run.start() == length:
            return run.end()
        pos = run.end()
    return None


def _line_end(text: str, pos: int) -> int:
    found = text.find("\n", pos)
    return len(text) if found == -1 else found
