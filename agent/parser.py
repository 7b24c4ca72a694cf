"""Incremental tag parser over one round of streamed model text.

Fed arbitrary chunks (a tag may be split at any byte), it splits the stream
into thinking and answer deltas and captures at most one tool call. It starts
in *thinking* because the chat template pre-fills ``<think>``. It only ever
sees the model's own generated text of the current round, never tool
responses, history or the question, so a call cannot be forged from outside.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .config import encodable
from .prompt import OPEN_PAGE_TOOL_NAME, TOOL_NAME

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
_TAGS = (THINK_OPEN, THINK_CLOSE, CALL_OPEN, CALL_CLOSE)

State = Literal["thinking", "answer", "tool_call", "after_call"]
Delta = tuple[Literal["thinking", "answer"], str]

MAX_QUERY_CHARS = 400


@dataclass(frozen=True)
class ToolCall:
    name: str
    query: str  # for open_page: the goal ("" when none was given)
    source_id: int | None = None  # open_page: the number of the source to read
    url: str | None = None  # open_page: an address instead of a number (allowed only if the user wrote it)


@dataclass(frozen=True)
class BadToolCall:
    """A call the model got wrong; ``problem`` is fed back so it can correct itself."""

    raw: str
    problem: str


@dataclass
class StreamParser:
    state: State = "thinking"
    saw_think_close: bool = False
    call_text: str | None = None  # raw text between the call tags, once closed
    _pending: str = ""
    _call_buf: list[str] = field(default_factory=list)
    _answer_started: bool = False

    @property
    def call_open(self) -> bool:
        """A ``<tool_call>`` was opened but never closed (e.g. cut by max tokens)."""
        return self.state == "tool_call"

    def feed(self, chunk: str) -> list[Delta]:
        out: list[Delta] = []
        pieces, text, self._pending = cut_at_tags(self._pending + chunk)
        for before, tag in pieces:
            self._emit(before, out)
            self._on_tag(tag)
        self._emit(text, out)
        return out

    def close(self) -> list[Delta]:
        """Flush text held back as a possible tag start; call at the round's end."""
        out: list[Delta] = []
        self._emit(self._pending, out)
        self._pending = ""
        return out

    def _on_tag(self, tag: str) -> None:
        match (self.state, tag):
            case ("tool_call", "</tool_call>"):
                self.call_text = "".join(self._call_buf)
                self.state = "after_call"
            case ("tool_call", _):
                self._call_buf.append(tag)
            case ("after_call", _):
                pass
            case (_, "<tool_call>"):
                self.state = "tool_call"
            case ("thinking", "</think>"):
                self.saw_think_close = True
                self.state = "answer"
            case ("answer", "<think>"):
                self.state = "thinking"
            case _:
                # A repeated <think> while thinking, or a stray </think> or
                # </tool_call>: markup with no meaning here, never shown.
                pass

    def _emit(self, text: str, out: list[Delta]) -> None:
        if not text:
            return
        match self.state:
            case "thinking":
                out.append(("thinking", text))
            case "answer":
                if not self._answer_started:
                    text = text.lstrip()
                    if not text:
                        return
                    self._answer_started = True
                out.append(("answer", text))
            case "tool_call":
                self._call_buf.append(text)
            case "after_call":
                pass


def earliest_tag(text: str, tags: tuple[str, ...] = _TAGS) -> tuple[int, str] | None:
    """The first of ``tags`` in ``text`` and where it starts."""
    best: tuple[int, str] | None = None
    for tag in tags:
        pos = text.find(tag)
        if pos != -1 and (best is None or pos < best[0]):
            best = (pos, tag)
    return best


def cut_at_tags(text: str, tags: tuple[str, ...] = _TAGS) -> tuple[list[tuple[str, str]], str, str]:
    """Split streamed ``text`` at ``tags``: the (text before, tag) pairs in order, the text after
    them that is safe to show, and a possible tag start held back for the next chunk."""
    pieces: list[tuple[str, str]] = []
    while (hit := earliest_tag(text, tags)) is not None:
        pos, tag = hit
        pieces.append((text[:pos], tag))
        text = text[pos + len(tag):]
    keep = partial_tag_suffix(text, tags)
    return pieces, text[: len(text) - keep], text[len(text) - keep:]


def partial_tag_suffix(text: str, tags: tuple[str, ...] = _TAGS) -> int:
    """Length of the longest suffix of ``text`` that could start one of ``tags``."""
    start = text.rfind("<", max(0, len(text) - max(map(len, tags))))
    if start == -1:
        return 0
    tail = text[start:]
    return len(tail) if any(tag.startswith(tail) for tag in tags) else 0


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def parse_call(raw: str, *, tools: tuple[str, ...] = (TOOL_NAME,)) -> ToolCall | BadToolCall:
    """Validate a call in either shape: native ``{"name", "arguments"}`` or the
    seed prompt's ``{"action", "action_input"}``, to one of ``tools``."""
    text = _FENCE.sub("", raw.strip())
    try:
        obj: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        return BadToolCall(raw, f"the tool call is not valid JSON ({exc.msg} at char {exc.pos})")
    except RecursionError:
        return BadToolCall(raw, "the tool call is JSON nested far too deeply; write a flat object")
    if not isinstance(obj, dict):
        return BadToolCall(raw, "the tool call must be a JSON object with \"name\" and \"arguments\"")
    name = obj.get("name", obj.get("action"))
    args = obj.get("arguments", obj.get("action_input"))
    if name not in tools:
        known = f"the only tool is {tools[0]!r}" if len(tools) == 1 else f"the tools are {list(tools)!r}"
        return BadToolCall(raw, f"unknown tool {name!r}; {known}")
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except (json.JSONDecodeError, RecursionError):
            pass
    if not isinstance(args, dict):
        return BadToolCall(raw, f"\"arguments\" must be an object like {{\"query\": \"...\"}}, got {args!r}")
    if name == OPEN_PAGE_TOOL_NAME:
        return _open_page(raw, args)
    query = args.get("query")
    if not isinstance(query, str):
        return BadToolCall(raw, f"\"query\" must be a string, got {query!r}")
    # A JSON escape such as \ud800 decodes to a lone surrogate, which no UTF-8 output can hold.
    query = " ".join(encodable(query).split())
    if not query:
        return BadToolCall(raw, "the search query is empty; write what to search for")
    return ToolCall(name, query[:MAX_QUERY_CHARS])


def _open_page(raw: str, args: dict[str, Any]) -> ToolCall | BadToolCall:
    """``{"id": n, "goal": "..."}`` (a number written as text is taken too); ``url`` instead of ``id``."""
    goal = args.get("goal", "")
    if not isinstance(goal, str):
        return BadToolCall(raw, f"\"goal\" must be a string, got {goal!r}")
    goal = " ".join(goal.split())[:MAX_QUERY_CHARS]
    ident, url = args.get("id"), args.get("url")
    if isinstance(ident, str) and ident.strip().strip("[]").isdigit():
        ident = int(ident.strip().strip("[]"))
    if isinstance(ident, int) and not isinstance(ident, bool):
        return ToolCall(OPEN_PAGE_TOOL_NAME, goal, source_id=ident)
    if ident is None and isinstance(url, str) and url.strip():
        return ToolCall(OPEN_PAGE_TOOL_NAME, goal, url=url.strip()[:2000])
    return BadToolCall(raw, f"\"id\" must be the number of a source you were shown, e.g. 3, got {ident!r}")
