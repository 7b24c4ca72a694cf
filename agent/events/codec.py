"""An event as the JSON object of the CLI contract and back (``to_dict``, ``from_dict``), what a
bad field is said to be, and the one-line JSON of traces and ``--json``."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from ..text.control import JSON_UNSAFE
from .stats import infer_end
from .union import EVENT, TYPES, Done, Event


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
