"""The ``<think>`` / ``<search>`` / ``<answer>`` protocol shared by Search-R1 and ReSearch.

``TagParser`` reads one round of such a model's text, fed in arbitrary chunks
(a tag may be split at any character). Unlike QwQ, these models open
``<think>`` themselves, so a round starts *outside* any tag; text outside the
tags is shown as thinking. The parser only ever sees the model's own output of
the current round, never spliced results, so a result cannot forge a search.

``escape_tags`` neutralises those tags (and everything ``escape_untrusted``
covers) in text the model did not write: results, the question, history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Literal

from ..config import encodable
from ..parser import BadToolCall, Delta, MAX_QUERY_CHARS, ToolCall, cut_at_tags
from ..prompt import TOOL_NAME, escape_untrusted
from ..records.fork import RecordedRound
from .base import escaped_chunks

SEARCH_OPEN, SEARCH_CLOSE = "<search>", "</search>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
_TAGS = (THINK_OPEN, THINK_CLOSE, SEARCH_OPEN, SEARCH_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)

State = Literal["outside", "thinking", "search", "answer", "after_call", "done"]

# Every tag either protocol reads or writes, in any case, with spaces inside the brackets.
_PROTOCOL_OPEN = re.compile(r"<(?=\s*/?\s*(?:search|answer|information|result|think)\b)", re.I)
_LOOKALIKE_LT = "\u2039"  # the same stand-in escape_untrusted uses


def escape_tags(text: str) -> str:
    """``escape_untrusted`` plus this protocol's tags, so outside text can never open,
    close or forge a ``<search>``, ``<answer>``, ``<information>`` or ``<result>``."""
    return _PROTOCOL_OPEN.sub(_LOOKALIKE_LT, escape_untrusted(text))


def write_round(recorded: RecordedRound) -> list[str]:
    """A recorded round as these models write it: ``<think>`` and its text (left open in the
    round a fork continues, so the model goes on thinking), the answer, then ``<search>``.
    Recorded text is escaped like results: a recording must not forge a tag."""
    chunks = [THINK_OPEN] if recorded.thinking else []
    chunks += escaped_chunks(recorded.thinking, escape_tags)
    if recorded.thinking and (recorded.answer or recorded.call is not None):
        chunks.append(f"{THINK_CLOSE}\n")
    if recorded.answer:
        chunks += [ANSWER_OPEN, " ", *escaped_chunks(recorded.answer, escape_tags)]
    if recorded.call is not None:
        chunks.append(f"{SEARCH_OPEN} {escape_tags(recorded.call.query)} {SEARCH_CLOSE}")
    return chunks


def title_line(title: str) -> str:
    """``title`` on one line: both protocols read a passage's title as the first line of its
    ``"Title"\\ntext``, so a line break in it (a file name can hold one) would move words of
    the title into the text."""
    return " ".join(title.split())


def parse_query(raw: str) -> ToolCall | BadToolCall:
    """The text between ``<search>`` and ``</search>`` is the query itself. It runs the
    main search chain, so events name it ``web_search`` as they do for QwQ's one tool."""
    query = " ".join(encodable(raw).split())
    if not query:
        return BadToolCall(raw, "the search query is empty; write what to search for")
    return ToolCall(TOOL_NAME, query[:MAX_QUERY_CHARS])


def last_answer(text: str) -> str | None:
    """The content of the last ``<answer>…</answer>`` in ``text``; an answer cut off
    before ``</answer>`` counts. None when the model never opened one."""
    start = text.rfind(ANSWER_OPEN)
    if start == -1:
        return None
    body = text[start + len(ANSWER_OPEN):]
    end = body.find(ANSWER_CLOSE)
    return (body if end == -1 else body[:end]).strip()


@dataclass
class TagParser:
    """One round of a tag-protocol model's output -> thinking and answer deltas plus
    at most one search request (``call_text``).

    ``finish_answer`` None streams the answer as it comes; otherwise the answer is
    held until it closes (or the round ends) and passed through it (ReSearch's
    ``\\boxed{}`` unwrapping needs the whole answer).
    """

    finish_answer: Callable[[str], str] | None = None
    state: State = "outside"
    saw_think_close: bool = False
    call_text: str | None = None
    _pending: str = ""
    _call_buf: list[str] = field(default_factory=list)
    _answer_buf: list[str] = field(default_factory=list)
    _answer_started: bool = False
    _held_space: str = ""  # trailing whitespace of the answer, shown only if more text follows

    def feed(self, chunk: str) -> list[Delta]:
        out: list[Delta] = []
        pieces, text, self._pending = cut_at_tags(self._pending + chunk, _TAGS)
        for before, tag in pieces:
            self._emit(before, out)
            self._on_tag(tag, out)
        self._emit(text, out)
        return out

    def close(self) -> list[Delta]:
        """Flush held text; an answer cut off by the round's end still counts."""
        out: list[Delta] = []
        self._emit(self._pending, out)
        self._pending = ""
        if self.state == "answer":
            self._end_answer(out)
        return out

    def _on_tag(self, tag: str, out: list[Delta]) -> None:
        match (self.state, tag):
            case ("after_call" | "done", _):
                pass
            case ("search", "</search>"):
                self.call_text = "".join(self._call_buf)
                self.state = "after_call"
            case ("search", "<search>"):
                self._call_buf.clear()  # the query is what follows the last <search>
            case ("search", _):
                self._call_buf.append(tag)
            case ("answer", "</answer>"):
                self._end_answer(out)
                self.state = "done"
            case ("answer", _):
                self._emit(tag, out)  # inside an answer, other tags are just text
            case (_, "<search>"):
                self.state = "search"
            case (_, "<answer>"):
                self.state = "answer"
            case (_, "<think>"):
                self.state = "thinking"
            case ("thinking", "</think>"):
                self.saw_think_close = True
                self.state = "outside"
            case _:
                pass  # a stray closing tag: markup with no meaning here, never shown

    def _emit(self, text: str, out: list[Delta]) -> None:
        if not text:
            return
        match self.state:
            case "outside" | "thinking":
                out.append(("thinking", text))
            case "search":
                self._call_buf.append(text)
            case "answer":
                self._answer_text(text, out)
            case _:
                pass

    def _answer_text(self, text: str, out: list[Delta]) -> None:
        if self.finish_answer is not None:
            self._answer_buf.append(text)
            return
        text = self._held_space + (text if self._answer_started else text.lstrip())
        body = text.rstrip()
        self._held_space = text[len(body):]
        if body:
            self._answer_started = True
            out.append(("answer", body))

    def _end_answer(self, out: list[Delta]) -> None:
        self._held_space = ""
        if self.finish_answer is not None and self._answer_buf:
            final = self.finish_answer("".join(self._answer_buf))
            self._answer_buf.clear()
            if final:
                out.append(("answer", final))
