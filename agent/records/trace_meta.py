"""A trace's meta line: the format's versions, what it records of the run (what ran it, with no
secret and no local folder in it) and what a reader requires of it. ``agent.records.trace``
re-exports the public names."""

from __future__ import annotations

import secrets as _secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import Strict, TypeAdapter
from typing_extensions import NotRequired, TypedDict  # pydantic reads typing.TypedDict only from Python 3.12

from ..config import REDACTED, Settings, redact

TRACE_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
RECORDER = "deepsearch"

Meta = dict[str, Any]


def trace_meta(*, question: str, settings: Settings, model: str) -> Meta:
    """A run's meta line: what ran it, with no secret and no local folder in it (a trace, and a
    conversation's record, are shared)."""
    public = {k: _file_name(v) for k, v in settings.public().items()}
    if public.get("base_url"):
        public["base_url"] = _strip_userinfo(public["base_url"])
    return {
        "type": "meta",
        "version": TRACE_VERSION,
        "question": question,
        "model": _file_name(model),
        "backend": settings.backend,
        "settings": public,
        "started_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scripted": settings.backend == "scripted",
        "recorder": RECORDER,
        # Names the run for lines added later (``judged.py``: the model's verdicts on its claims).
        "run": _secrets.token_hex(8),
    }


def redact_values(value: Any, secrets: list[str]) -> Any:
    """``value`` (a line's object) with every secret in its strings replaced."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: redact_values(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_values(v, secrets) for v in value]
    return value


def _strip_userinfo(url: str) -> str:
    """``https://user:key@host/v1`` -> ``https://host/v1``: credentials in a URL are secrets too."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _file_name(value: Any) -> Any:
    """A local path as its file name: a trace is shared (UI downloads), and the recording
    machine's folders (``/tmp/...``, a home directory) are nobody else's business."""
    if isinstance(value, str) and (Path(value).is_absolute() or value.startswith(("~", "./", "../"))):
        return Path(value).name or value
    return value


class _MetaFields(TypedDict):
    """What a meta line must hold (it may hold more: ``recorder``, keys of later versions)."""

    question: Annotated[str, Strict()]
    model: Annotated[str, Strict()]
    backend: Annotated[str, Strict()]
    settings: Annotated[dict[str, Any], Strict()]
    started_at: Annotated[str, Strict()]
    scripted: Annotated[bool, Strict()]
    # A fork's run (``--fork-at``): the trace file's name, the run and the events it continued from.
    fork: NotRequired[Annotated[dict[str, Any], Strict()]]
    run: NotRequired[Annotated[str, Strict()]]  # the run's id, for its ``claims_judged`` line


META = TypeAdapter(_MetaFields)
