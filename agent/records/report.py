"""Reports of recorded runs: one question, or a whole conversation, as HTML or Markdown.

Everything recorded (question, thinking, queries, titles, URLs, answer, errors)
is untrusted text from a model or the web. ``runs`` regroups the events the way
a person reads them and names the stats in words; ``report_html`` and
``report_md`` write the documents, this module picks one; ``answer_markdown`` renders the answer's own
Markdown under the same rule the chat uses (no raw HTML, no images, links only
to http(s)).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Sequence

from ..errors import UsageError
from ..events import Event
from .report_html import to_html
from .report_md import to_markdown
from .runs import Meta, RecordedRun
from .trace import read_runs, read_trace

Format = Literal["html", "md"]


def render(runs: Sequence[RecordedRun], fmt: Format) -> str:
    """One document for ``runs`` in order: a single answer, or a whole conversation."""
    if not runs:
        raise UsageError("no runs to report; record at least one answer first")
    if fmt == "html":
        return to_html(runs)
    if fmt == "md":
        return to_markdown(runs)
    raise UsageError(f"unknown report format {fmt!r}; use 'html' or 'md'")


def export(path: str | Path, *, fmt: Format, run: int | None = -1) -> str:
    """A self-contained HTML or Markdown report of one recorded run, or of every run in the
    file (``run=None``: the whole conversation of an ``app.py --trace`` session file)."""
    runs = read_runs(path) if run is None else [read_trace(path, run=run)]
    return export_runs([(meta, [event for _, event in timed]) for meta, timed in runs], fmt)


def export_events(meta: Meta, events: list[Event], fmt: Format) -> str:
    """A report from in-memory events (the UI's current answer) and a meta dict
    with at least ``question``; ``model``, ``backend``, ``scripted`` and
    ``started_at`` are shown when present."""
    return export_runs([(meta, events)], fmt)


def export_runs(runs: Sequence[RecordedRun], fmt: Format) -> str:
    """One report of several answers in order (a whole conversation), each ``(meta, events)``
    as ``read_runs`` gives them or as the UI keeps them."""
    return render(runs, fmt)
