"""One panel's text as it streams, rendered incrementally.

A block keeps the raw lines already rendered and the raw text since the last stable cut; an
update renders only that tail, so a long answer costs one join per UI update, not a render of
everything per token. ``AnswerView`` (ui/mapper.py) owns the blocks of one answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Literal

import gradio as gr

from agent.api import ReadDone, ReadStart, SearchDone, SearchStart, code_regions


def _stable_cut(text: str) -> int:
    """End of the last line break outside code (``code_regions``: a fenced block, open or
    closed, is one region), else 0.

    Citation links, inline code, HTML neutralising and Markdown links never cross
    a line break (bar a citation list like ``[1,\\n2]``, which is never cut), so
    rendering ``a + b`` equals rendering ``a`` then ``b`` there.
    """
    cut = text.rfind("\n")
    if cut == -1:
        return 0
    fences = [(start, end) for start, end in code_regions(text) if text.find("\n", start, end) != -1]
    while cut != -1 and (any(start <= cut < end for start, end in fences)
                         or _OPEN_CITATION.search(text, 0, cut + 1)):
        cut = text.rfind("\n", 0, cut)
    return cut + 1


_OPEN_CITATION = re.compile(r"\[[\d\s,]*\n$")


# draft: answer text a tool call made moot.
BlockKind = Literal["thinking", "search", "read", "answer", "draft", "notice"]


@dataclass(kw_only=True)
class Block:
    kind: BlockKind
    parts: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float | None = None
    title: str = ""
    dirty: bool = True
    cached: gr.ChatMessage | None = None
    # The text is kept as raw lines already rendered (``done_raw`` -> ``rendered``) plus
    # the raw text since the last stable cut (``pending``): an update renders only
    # ``pending`` and copies the whole message once, however long the answer is.
    done_raw: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)
    pending: str = ""
    # The sources an answer's text may cite: those found before it was written; None: all.
    known: frozenset[int] | None = None

    def markdown(self, render: Callable[[str], str]) -> str:
        """``render(text).strip()``, rendering only what came after the last stable cut."""
        self._take_parts()
        cut = _stable_cut(self.pending)
        if cut:
            self.done_raw.append(self.pending[:cut])
            self.rendered.append(render(self.pending[:cut]))
            self.pending = self.pending[cut:]
        pieces = [*self.rendered, render(self.pending)]
        # Strip the ends piece by piece: stripping the joined text would copy it again.
        while pieces and not pieces[-1].strip():
            pieces.pop()
        start = 0
        while start < len(pieces) and not pieces[start].strip():
            start += 1
        if start < len(pieces):
            pieces[start] = pieces[start].lstrip()
            pieces[-1] = pieces[-1].rstrip()
        return "".join(pieces[start:])

    def forget_rendering(self) -> None:
        self._take_parts()
        self.pending = "".join(self.done_raw) + self.pending
        self.done_raw, self.rendered, self.dirty = [], [], True

    def text(self) -> str:
        self._take_parts()
        return "".join(self.done_raw) + self.pending

    def _take_parts(self) -> None:
        if self.parts:
            self.pending += "".join(self.parts)
            self.parts.clear()


@dataclass(kw_only=True)
class SearchBlock(Block):
    """One search's panel: its query from the start, its results once done."""

    kind: BlockKind = "search"
    start: SearchStart
    done: SearchDone | None = None


@dataclass(kw_only=True)
class ReadBlock(Block):
    """One read's panel: the source being read, and how it went."""

    kind: BlockKind = "read"
    read_start: ReadStart
    read_done: ReadDone | None = None
