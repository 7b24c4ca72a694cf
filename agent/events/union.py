"""The closed union of events (``Event``) and its validating adapter (``EVENT``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (Field, SerializerFunctionWrapHandler, TypeAdapter, computed_field, model_serializer,
                      model_validator)

from ..claims.record import Claim, summarise
from ..text.citations import display_numbering
from .fields import FORBID, Bool, Int, Number, PassageRef, SourceRef, Str, omit
from .stats import RunEnd, RunStats

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
        return omit(handler(self), {"error": None})  # ``error`` only when there is one


@dataclass(frozen=True, kw_only=True)
class ReadStart:
    """A source is about to be read (auto-read of a search's top results, or ``open_page``).
    ``id`` 0: an ``open_page`` call that names no source it may read (its ``read_done`` says why)."""

    id: Int
    url: Str
    title: Str
    type: Literal["read_start"] = "read_start"

    __pydantic_config__ = FORBID


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

    __pydantic_config__ = FORBID

    @model_serializer(mode="wrap")
    def _written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        data["passages"] = list(data["passages"])
        return data


@dataclass(frozen=True, kw_only=True)
class Error:
    """Something went wrong that the person should read; never a traceback."""

    message: Str
    type: Literal["error"] = "error"


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

    __pydantic_config__ = FORBID

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

    @computed_field  # type: ignore[prop-decorator]  # mypy refuses any decorator over a property; pydantic's docs say so
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


Event = Thinking | Answer | SearchStart | SearchDone | ReadStart | ReadDone | Error | Done
# An event in a field of a validated record (``type`` picks the class).
TaggedEvent = Annotated[Event, Field(discriminator="type")]
EVENT: TypeAdapter[Event] = TypeAdapter(TaggedEvent)

TYPES: tuple[str, ...] = ("thinking", "answer", "search_start", "search_done", "read_start", "read_done", "error",
                          "done")
