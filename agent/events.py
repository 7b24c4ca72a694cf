"""The closed set of events the engine emits.

One event stream is the only interface between the engine and everything else
(UI, CLI ``--json``, traces, benchmarks). Consumers ``match`` on these classes
exhaustively; ``to_dict``/``from_dict`` give the stable JSON shape of the CLI
contract in DESIGN.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, kw_only=True)
class SourceRef:
    """A numbered source as shown to people: the number is global per conversation.

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
class Done:
    """The run ended: final answer, every source, the cited ids that exist, stats."""

    answer: str
    sources: tuple[SourceRef, ...] = ()
    cited: tuple[int, ...] = ()
    searches: int = 0
    stopped: bool = False
    stats: dict[str, Any] = field(default_factory=dict)
    type: Literal["done"] = "done"


Event = Thinking | Answer | SearchStart | SearchDone | Error | Done

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
    return {"type": data.pop("type"), **data}


def from_dict(data: dict[str, Any]) -> Event:
    """Inverse of ``to_dict``; raises ``ValueError`` naming what is wrong."""
    kind = data.get("type") if isinstance(data, dict) else None
    cls = _BY_TYPE.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}; expected one of {sorted(_BY_TYPE)}")
    fields = {k: v for k, v in data.items() if k not in ("type", "t")}
    try:
        if cls in (SearchDone, Done):
            key = "results" if cls is SearchDone else "sources"
            fields[key] = tuple(SourceRef(**s) for s in fields.get(key, ()))
        if cls is Done:
            cited = fields.get("cited", ())
            if not isinstance(cited, (list, tuple)) or any(
                    isinstance(i, bool) or not isinstance(i, int) for i in cited):
                raise ValueError(f"'cited' must be a list of source ids (whole numbers), got {cited!r}")
            fields["cited"] = tuple(cited)
        return cls(**fields)
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
