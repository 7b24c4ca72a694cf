"""The closed set of events the engine emits.

One event stream is the only interface between the engine and everything else
(UI, CLI ``--json``, traces, benchmarks). Consumers ``match`` on these classes
exhaustively; ``to_dict``/``from_dict`` give the stable JSON shape of the CLI
contract in docs/DESIGN.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from .citations import display_numbering

# How one round of generation ended (``Conversation.finish_reason``).
FinishReason = Literal["stop", "tool_call", "length", "cancelled", "context"]

# How a whole run ended. Consumers ``match`` on this instead of probing stats:
#   answered          the model wrote a final answer
#   no_answer         the model ended its turn without writing one
#   stopped           the person stopped it (Stop, Ctrl-C)
#   token_limit       a round hit max_new_tokens before the answer was complete
#   context_full      the context window filled up before the answer was complete
#   rounds_exhausted  the round limit was reached and even the final, tool-less round gave no answer
RunEnd = Literal["answered", "no_answer", "stopped", "token_limit", "context_full", "rounds_exhausted"]
RUN_ENDS: tuple[str, ...] = RunEnd.__args__  # type: ignore[attr-defined]

# Why the loop answered a tool call without running it.
RefusalReason = Literal["budget", "context", "malformed", "rounds"]


@dataclass(frozen=True, kw_only=True)
class SourceRef:
    """A numbered source. ``id`` is the model's handle (the number in its tool results, per
    answer from 1 in the order searches return sources); people see ``Done.display_numbers``.

    A web page has a ``url``. A passage of a document has no URL (``url`` is empty)
    but its ``file``, ``page`` (PDFs) and ``text``, so a citation can show the passage.
    """

    id: int
    title: str
    url: str
    kind: Literal["web", "document"] = "web"
    file: str | None = None
    page: int | None = None
    text: str | None = None


@dataclass(frozen=True, kw_only=True)
class Thinking:
    """A delta of the model's reasoning (inside the think block)."""

    text: str
    type: Literal["thinking"] = "thinking"


@dataclass(frozen=True, kw_only=True)
class Answer:
    """A delta of the final answer (after ``</think>``)."""

    text: str
    type: Literal["answer"] = "answer"


@dataclass(frozen=True, kw_only=True)
class SearchStart:
    """A search the model asked for is about to run. ``round`` counts from 1."""

    query: str
    round: int
    max_searches: int
    tool: str = "web_search"  # or "search_documents"
    type: Literal["search_start"] = "search_start"


@dataclass(frozen=True, kw_only=True)
class SearchDone:
    """A search finished: its numbered results, or the error that stopped it."""

    query: str
    provider: str
    latency_s: float
    results: tuple[SourceRef, ...] = ()
    error: str | None = None
    tool: str = "web_search"  # or "search_documents"
    type: Literal["search_done"] = "search_done"


@dataclass(frozen=True, kw_only=True)
class Error:
    """Something went wrong that the person should read; never a traceback."""

    message: str
    type: Literal["error"] = "error"


@dataclass(frozen=True, kw_only=True)
class RefusedCall:
    """A tool call the loop answered without running: the query, or for a malformed call the problem."""

    reason: RefusalReason
    query: str | None = None
    detail: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunStats:
    """Measurements of one run. Every field has a default so older traces with fewer keys still read."""

    total_s: float = 0.0
    ttft_s: float | None = None
    thinking_tokens: int = 0
    thinking_tok_s: float = 0.0
    answer_tokens: int = 0
    answer_tok_s: float = 0.0
    prompt_tokens: int = 0
    generated_tokens: int = 0
    spliced_tokens: int = 0
    prefilled_tokens: int = 0
    reprefill_tokens: int = 0
    prefill_saved_tokens: int = 0
    context_tokens: int = 0
    rounds: int = 0
    search_latencies_s: tuple[float, ...] = ()
    bad_calls: int = 0
    refused_calls: tuple[RefusedCall, ...] = ()
    finish: FinishReason | None = None
    budget_exhausted: bool = False
    context_forced: bool = False
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["search_latencies_s"] = list(self.search_latencies_s)
        data["refused_calls"] = [{k: v for k, v in asdict(c).items() if v is not None}
                                 for c in self.refused_calls]
        return data

    @classmethod
    def from_dict(cls, data: Any) -> "RunStats":
        """Lenient on missing and unknown keys (older traces); types are checked by the trace reader."""
        if not isinstance(data, dict):
            raise ValueError(f"'stats' must be a JSON object, got {data!r}")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if isinstance(values.get("search_latencies_s"), list):
            values["search_latencies_s"] = tuple(values["search_latencies_s"])
        calls = values.get("refused_calls")
        if isinstance(calls, list):
            if not all(isinstance(c, dict) for c in calls):
                raise ValueError(f"'refused_calls' must be a list of objects, got {calls!r}")
            values["refused_calls"] = tuple(RefusedCall(**c) for c in calls)
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class Done:
    """The run ended: final answer, every source, the cited ids that exist, how it ended, stats."""

    answer: str
    sources: tuple[SourceRef, ...] = ()
    cited: tuple[int, ...] = ()
    searches: int = 0
    stopped: bool = False
    end: RunEnd = "answered"
    stats: RunStats = field(default_factory=RunStats)
    type: Literal["done"] = "done"

    def __post_init__(self) -> None:
        # ``stopped`` predates ``end``; the two never disagree.
        if self.stopped and self.end != "stopped":
            object.__setattr__(self, "end", "stopped")

    @cached_property
    def display_numbers(self) -> dict[int, int]:
        """Source id -> the number people see: cited sources from 1 in order of first citation in
        ``answer``, then the rest. Derived from ``answer`` and ``sources``, so a trace that predates
        it (or holds another) numbers the same."""
        return display_numbering(self.answer, (s.id for s in self.sources))


def infer_end(*, answer: str, stopped: bool, stats: RunStats) -> RunEnd:
    """How a version-1 trace's run ended, from what it recorded (it had no ``end``)."""
    if stopped:
        return "stopped"
    if stats.finish == "context":
        return "context_full"
    if stats.truncated:
        return "token_limit"
    if answer.strip():
        return "answered"
    return "context_full" if stats.context_forced else "no_answer"


Event = Thinking | Answer | SearchStart | SearchDone | Error | Done
# An event in a field of a validated record (``type`` picks the class).
TaggedEvent = Annotated[Event, Field(discriminator="type")]
EVENT: TypeAdapter[Event] = TypeAdapter(TaggedEvent)

_BY_TYPE: dict[str, type] = {
    "thinking": Thinking,
    "answer": Answer,
    "search_start": SearchStart,
    "search_done": SearchDone,
    "error": Error,
    "done": Done,
}


def to_dict(event: Event) -> dict[str, Any]:
    """The JSON object of the CLI contract (``error`` omitted when there is none)."""
    data = asdict(event)
    if isinstance(event, SearchDone) and event.error is None:
        del data["error"]
    for key in ("results", "sources"):
        # A web source is written exactly as before documents existed: id, title, url.
        for ref in data.get(key, ()):
            if ref["kind"] == "web":
                del ref["kind"]
            for name in ("file", "page", "text"):
                if ref[name] is None:
                    del ref[name]
    if isinstance(event, Done):
        data["stats"] = event.stats.to_dict()
        data["display_numbers"] = {str(handle): n for handle, n in event.display_numbers.items()}
    return {"type": data.pop("type"), **data}


def from_dict(data: dict[str, Any]) -> Event:
    """Inverse of ``to_dict``; raises ``ValueError`` naming what is wrong."""
    kind = data.get("type") if isinstance(data, dict) else None
    cls = _BY_TYPE.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}; expected one of {sorted(_BY_TYPE)}")
    values = {k: v for k, v in data.items() if k not in ("type", "t")}
    if cls is Done:
        values.pop("display_numbers", None)  # derived from the answer and sources, never read back
    try:
        if cls in (SearchDone, Done):
            key = "results" if cls is SearchDone else "sources"
            values[key] = tuple(SourceRef(**s) for s in values.get(key, ()))
        if cls is Done:
            cited = values.get("cited", ())
            if not isinstance(cited, (list, tuple)) or any(
                    isinstance(i, bool) or not isinstance(i, int) for i in cited):
                raise ValueError(f"'cited' must be a list of source ids (whole numbers), got {cited!r}")
            values["cited"] = tuple(cited)
            values["stats"] = RunStats.from_dict(values.get("stats", {}))
            if "end" not in values:
                values["end"] = infer_end(answer=str(values.get("answer", "")),
                                          stopped=bool(values.get("stopped")), stats=values["stats"])
        return cls(**values)
    except TypeError as exc:
        raise ValueError(f"bad fields for a {kind!r} event: {exc}") from None


# JSON leaves these raw inside strings, yet str.splitlines() (and many JSONL readers) break lines
# on U+0085/U+2028/U+2029, C1 controls (U+0080-U+009F, DEL) act on some terminals, and bidi
# controls reorder what a terminal shows of the line.
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_line(data: dict[str, Any]) -> str:
    """One JSON object on exactly one line under any line-splitting rule (traces, ``--json``)."""
    text = json.dumps(data, ensure_ascii=False)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
