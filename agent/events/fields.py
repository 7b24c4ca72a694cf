"""The fields events are made of: strict scalars for data read back, and the sources and
passages a search or a read reports (``SourceRef``, ``PassageRef``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, PlainValidator, SerializerFunctionWrapHandler, Strict, model_serializer


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
FORBID = ConfigDict(extra="forbid")


def omit(data: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
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

    __pydantic_config__ = FORBID

    @model_serializer(mode="wrap")
    def _written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit(handler(self), {"page": None})


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

    __pydantic_config__ = FORBID

    @model_serializer(mode="wrap")
    def _written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A web source is written exactly as before documents existed: id, title, url.
        data = handler(self)
        data.pop("snippet", None)  # written in ``done.snippets``: a source object keeps its shape
        data = omit(data, {"kind": "web", "file": None, "page": None, "text": None, "passages": None})
        if "passages" in data:
            data["passages"] = list(data["passages"])
        return data

