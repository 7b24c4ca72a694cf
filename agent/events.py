"""The closed set of events the engine emits.

One event stream is the only interface between the engine and everything else
(UI, CLI ``--json``, traces, benchmarks). Consumers ``match`` on these classes
exhaustively. The dataclasses are the one definition of each event: pydantic validates
and serialises them from it (``EVENT``, a discriminated union on ``type``), so ``to_dict`` /
``from_dict`` are the stable JSON shape of the CLI contract in docs/DESIGN.md and the trace
reader's validation at once. Nothing is validated when the engine builds an event (that costs
per token); data from outside (traces, stored records) is validated on the way in.

Field types are strict where a reader must not be fooled (``"5"`` is no id, ``true`` no count),
and a number must be finite; the stats tolerate keys they do not know (newer or older traces).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (ConfigDict, Field, PlainValidator, SerializerFunctionWrapHandler, Strict, TypeAdapter,
                      ValidationError, computed_field, model_serializer, model_validator)

from .claims.record import Claim, summarise
from .text.citations import display_numbering
from .text.control import JSON_UNSAFE

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
# Why a tool call was answered without running it, as people read it.
REFUSAL_REASONS: dict[RefusalReason, str] = {"budget": "over the search budget",
                                             "context": "context nearly full", "malformed": "malformed",
                                             "rounds": "over the round limit"}


def _finite(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return value


# Strict scalars for data read back: a JSON list still reads as a tuple, nothing else converts.
Int = Annotated[int, Strict()]
Str = Annotated[str, Strict()]
Bool = Annotated[bool, Strict()]
# Seconds, rates: an int or a float kept as written (a replay prints what was recorded), finite.
Number = Annotated[float, PlainValidator(_finite)]
_FORBID = ConfigDict(extra="forbid")


def _omit(data: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """``data`` without the keys whose value is the given one: such a key was never written."""
    for name, value in defaults.items():
        if data[name] == value:
            del data[name]
    return data


@dataclass(frozen=True, kw_only=True)
class PassageRef:
    """A passage the model read: ``text`` is ``extracted[start:end]`` of the page's extracted text
    (a document's: its passages joined). ``page``: the PDF page it is on, where known (written
    only then: a web page's passage keeps the shape ``{"text", "start", "end"}``)."""

    text: Str
    start: Int
    end: Int
    page: Int | None = None

    __pydantic_config__ = _FORBID

    @model_serializer(mode="wrap")
    def _written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit(handler(self), {"page": None})


@dataclass(frozen=True, kw_only=True)
class SourceRef:
    """A numbered source. ``id`` is the model's handle (the number in its tool results, per
    answer from 1 in the order searches return sources); people see ``Done.display_numbers``.

    A web page has a ``url`` and, in ``done.sources``, its search ``snippet`` (what its claims
    are checked against when the page was not read; written in ``done.snippets``, so a source
    object keeps its shape). A passage of a document has no URL (``url`` is empty) but its
    ``file``, ``page`` (PDFs) and ``text``, so a citation can show the passage.
    """

    id: Int
    title: Str
    url: Str
    kind: Literal["web", "document"] = "web"
    file: Str | None = None
    page: Int | None = None
    text: Str | None = None
    # What the model read of this source (auto-read or open_page); None when it was not read.
    passages: tuple[PassageRef, ...] | None = None
    snippet: Str | None = None

    __pydantic_config__ = _FORBID

    @model_serializer(mode="wrap")
    def _written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A web source is written exactly as before documents existed: id, title, url.
        data = handler(self)
        data.pop("snippet", None)  # written in ``done.snippets``: a source object keeps its shape
        data = _omit(data, {"kind": "web", "file": None, "page": None, "text": None, "passages": None})
        if "passages" in data:
            data["passages"] = list(data["passages"])
        return data


@dataclass(frozen=True, kw_only=True)
class Thinking:
    """A delta of the model's reasoning (inside the think block)."""

    text: Str
    type: Literal["thinking"] = "thinking"


@dataclass(frozen=True, kw_only=True)
class Answer:
    """A delta of the final answer (after ``</think>``)."""

    text: Str
    type: Literal["answer"] = "answer"


@dataclass(frozen=True, kw_only=True)
class SearchStart:
    """A search the model asked for is about to run. ``round`` counts from 1."""

    query: Str
    round: Int
    max_searches: Int
    tool: Str = "web_search"  # or "search_documents"
    type: Literal["search_start"] = "search_start"


@dataclass(frozen=True, kw_only=True)
class SearchDone:
    """A search finished: its numbered results, or the error that stopped it."""

    query: Str
    provider: Str
    latency_s: Number
    results: tuple[SourceRef, ...] = ()
    error: Str | None = None
    tool: Str = "web_search"  # or "search_documents"
    type: Literal["search_done"] = "search_done"

    @model_serializer(mode="wrap")
    def _written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit(handler(self), {"error": None})  # ``error`` only when there is one


@dataclass(frozen=True, kw_only=True)
class ReadStart:
    """A source is about to be read (auto-read of a search's top results, or ``open_page``).
    ``id`` 0: an ``open_page`` call that names no source it may read (its ``read_done`` says why)."""

    id: Int
    url: Str
    title: Str
    type: Literal["read_start"] = "read_start"

    __pydantic_config__ = _FORBID


@dataclass(frozen=True, kw_only=True)
class ReadDone:
    """A source was read: the passages the model got, or ``error``, a sentence saying why not
    (the model then keeps the snippet). ``bytes`` is what was fetched (0 from the cache)."""

    id: Int
    url: Str
    latency_s: Number
    bytes: Int = 0
    passages: tuple[PassageRef, ...] = ()
    error: Str | None = None
    title: Str = ""
    type: Literal["read_done"] = "read_done"

    __pydantic_config__ = _FORBID

    @model_serializer(mode="wrap")
    def _written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        data["passages"] = list(data["passages"])
        return data


@dataclass(frozen=True, kw_only=True)
class ReadStats:
    """What reading added to a run (``RunStats.reads``; None in runs that read nothing)."""

    pages_read: Int = 0
    pages_failed: Int = 0
    bytes: Int = 0
    read_s: Number = 0.0
    tokens_added: Int = 0
    reader_tokens: Int = 0  # tokens the model reader (--reader model) spent

    __pydantic_config__ = ConfigDict(extra="ignore")


@dataclass(frozen=True, kw_only=True)
class Error:
    """Something went wrong that the person should read; never a traceback."""

    message: Str
    type: Literal["error"] = "error"


@dataclass(frozen=True, kw_only=True)
class RefusedCall:
    """A tool call the loop answered without running: the query, or for a malformed call the problem."""

    reason: RefusalReason
    query: Str | None = None
    detail: Str | None = None

    __pydantic_config__ = _FORBID

    @model_serializer(mode="wrap")
    def _written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit(handler(self), {"query": None, "detail": None})


@dataclass(frozen=True, kw_only=True)
class RunStats:
    """Measurements of one run. Every field has a default so older traces with fewer keys still read."""

    total_s: Number = 0.0
    ttft_s: Number | None = None
    thinking_tokens: Int = 0
    thinking_tok_s: Number = 0.0
    answer_tokens: Int = 0
    answer_tok_s: Number = 0.0
    prompt_tokens: Int = 0
    generated_tokens: Int = 0
    spliced_tokens: Int = 0
    prefilled_tokens: Int = 0
    reprefill_tokens: Int = 0
    prefill_saved_tokens: Int = 0
    context_tokens: Int = 0
    rounds: Int = 0
    search_latencies_s: tuple[Number, ...] = ()
    bad_calls: Int = 0
    refused_calls: tuple[RefusedCall, ...] = ()
    finish: FinishReason | None = None
    budget_exhausted: Bool = False
    context_forced: Bool = False
    truncated: Bool = False
    reads: ReadStats | None = None

    # Older traces have fewer keys, newer ones may have more: both read.
    __pydantic_config__ = ConfigDict(extra="ignore")

    def to_dict(self) -> dict[str, Any]:
        data = STATS.dump_python(self)
        if data["reads"] is None:  # a run that read nothing is written exactly as before reading existed
            del data["reads"]
        data["search_latencies_s"] = list(data["search_latencies_s"])
        data["refused_calls"] = list(data["refused_calls"])
        return data


@dataclass(frozen=True, kw_only=True)
class Done:
    """The run ended: final answer, every source, the cited ids that exist, how it ended, stats."""

    answer: Str
    sources: tuple[SourceRef, ...] = ()
    cited: tuple[Int, ...] = ()
    searches: Int = 0
    stopped: Bool = False
    end: RunEnd = "answered"
    stats: RunStats = field(default_factory=RunStats)
    # Each sentence's check against its sources (agent/claims); None when the check was off or
    # the run predates it.
    claims: tuple[Claim, ...] | None = None
    type: Literal["done"] = "done"

    __pydantic_config__ = _FORBID

    @model_validator(mode="before")
    @classmethod
    def _not_derived(cls, data: Any) -> Any:
        """``display_numbers`` and ``claims_summary`` are written for outside readers, never read
        back (see below); ``snippets`` go back into their sources."""
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if k not in ("display_numbers", "claims_summary")}
        snippets = data.pop("snippets", None)
        if snippets is not None:
            if not isinstance(snippets, dict) or not all(isinstance(v, str) for v in snippets.values()):
                raise ValueError(f"'snippets' must map source ids to text, got {snippets!r}")
            sources = data.get("sources", ())
            if isinstance(sources, (list, tuple)):
                data["sources"] = [{**s, "snippet": snippets[str(s.get("id"))]}
                                   if isinstance(s, dict) and str(s.get("id")) in snippets else s for s in sources]
        return data

    def __post_init__(self) -> None:
        # ``stopped`` predates ``end``; the two never disagree.
        if self.stopped and self.end != "stopped":
            object.__setattr__(self, "end", "stopped")

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def display_numbers(self) -> dict[int, int]:
        """Source id -> the number people see: cited sources from 1 in order of first citation in
        ``answer``, then the rest. Derived from ``answer`` and ``sources``, so a trace that predates
        it (or holds another) numbers the same."""
        return display_numbering(self.answer, (s.id for s in self.sources))

    @cached_property
    def claims_summary(self) -> dict[str, int] | None:
        """Counts of ``claims`` (``record.summarise``); derived, so it never disagrees with them."""
        return None if self.claims is None else summarise(self.claims)


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
    if stats.context_forced:
        return "context_full"
    # The tool-less last round still called: its refusal is the run's last, "rounds".
    last_refused = stats.refused_calls[-1].reason if stats.refused_calls else None
    return "rounds_exhausted" if stats.finish == "tool_call" and last_refused == "rounds" else "no_answer"


Event = Thinking | Answer | SearchStart | SearchDone | ReadStart | ReadDone | Error | Done
# An event in a field of a validated record (``type`` picks the class).
TaggedEvent = Annotated[Event, Field(discriminator="type")]
EVENT: TypeAdapter[Event] = TypeAdapter(TaggedEvent)

TYPES: tuple[str, ...] = ("thinking", "answer", "search_start", "search_done", "read_start", "read_done", "error",
                          "done")
STATS: TypeAdapter[RunStats] = TypeAdapter(RunStats)


def to_dict(event: Event) -> dict[str, Any]:
    """The JSON object of the CLI contract: ``type`` first, then the fields in order (``error``
    only when there is one, a web source as id, title, url), a ``done``'s ``display_numbers``
    last (keys as strings)."""
    data = EVENT.dump_python(event)
    if isinstance(event, Done):
        data["stats"] = event.stats.to_dict()
        data["display_numbers"] = {str(handle): n for handle, n in data["display_numbers"].items()}
        snippets = {str(s.id): s.snippet for s in event.sources if s.snippet is not None}
        if snippets:
            data["snippets"] = snippets
        if event.claims is None:
            del data["claims"]
        else:
            data["claims"] = [claim.to_dict() for claim in event.claims]
            data["claims_summary"] = event.claims_summary
    return {"type": data.pop("type"), **data}


def from_dict(data: dict[str, Any]) -> Event:
    """Inverse of ``to_dict``, validated; raises ``ValueError`` naming what is wrong.

    A trace line's ``t`` is not the event's; a ``done``'s ``display_numbers`` are derived from its
    answer and sources, never read back; a ``done`` without ``end`` (a version-1 trace) gets the
    one ``infer_end`` gives."""
    kind = data.get("type") if isinstance(data, dict) else None
    if kind is None:
        raise ValueError(f"the line has no event 'type'; expected one of {sorted(TYPES)}")
    if kind not in TYPES:
        raise ValueError(f"unknown event type {kind!r}; expected one of {sorted(TYPES)}")
    values = {k: v for k, v in data.items() if k != "t"}
    try:
        event = EVENT.validate_python(values)
    except ValidationError as exc:
        raise ValueError(_problem(kind, exc)) from None
    if isinstance(event, Done) and "end" not in values:
        event = replace(event, end=infer_end(answer=event.answer, stopped=event.stopped, stats=event.stats))
    return event


def _problem(kind: str, exc: ValidationError) -> str:
    """The first thing pydantic found wrong, in words: what is missing, or what a field must be
    and the value it held as it stood in the file (JSON's null, never Python's None)."""
    error = exc.errors(include_url=False)[0]
    loc = [part for part in error["loc"] if part != kind]
    names = [part for part in loc if isinstance(part, str)]
    name = names[-1] if names else ".".join(map(str, loc)) or kind
    what = f"a {kind!r} event"
    if any(isinstance(part, int) for part in loc) and len(names) > 1:  # a source in results/sources
        index = next(part for part in loc if isinstance(part, int))
        what = f"source {index + 1} in {names[0]!r} of {what}"
    if error["type"] in ("missing", "missing_keyword_only_argument", "missing_argument"):
        return f"bad fields for {what}: the field {name!r} is missing"
    if error["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"bad fields for {what}: it has no field {name!r}"
    return f"bad field {name!r} for {what}: it must be {expected_words(error)}, got {shown(error['input'])}"


_EXPECTED = {"string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number",
             "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
             "finite_number": "a finite number", "bool_type": "true or false", "bool_parsing": "true or false",
             "dict_type": "a JSON object", "model_type": "a JSON object", "dataclass_type": "a JSON object",
             "model_attributes_type": "a JSON object", "tuple_type": "a list", "list_type": "a list",
             "none_required": "null"}


def expected_words(error: Any) -> str:
    """What a pydantic error says a value must be, as a person reads it."""
    kind = error["type"]
    if kind == "literal_error":
        return "one of " + str(error.get("ctx", {}).get("expected", "the listed values"))
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[:1].lower() + message[1:].removeprefix("nput should be ").removeprefix("Input should be ")


def shown(value: Any, limit: int = 80) -> str:
    """A value as it stood in a JSON file: null, true and false, never None, True or False."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr, allow_nan=True)
    except ValueError:  # a structure too deep or circular to write back
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


# JSON leaves these raw inside strings, yet str.splitlines() (and many JSONL readers) break lines
# on U+0085/U+2028/U+2029, C1 controls (U+0080-U+009F, DEL) act on some terminals, and bidi
# controls reorder what a terminal shows of the line.
_RAW_IN_JSON = JSON_UNSAFE


def json_line(data: dict[str, Any]) -> str:
    """One JSON object on exactly one line under any line-splitting rule (traces, ``--json``)."""
    text = json.dumps(data, ensure_ascii=False)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
