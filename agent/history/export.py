"""A saved conversation's shown branch as a file: a trace, a report, or the share player."""

from __future__ import annotations

from typing import Literal

from .errors import HistoryError
from .store import Saved

ExportFormat = Literal["jsonl", "html", "md", "player"]


def render_conversation(conversation: Saved, fmt: ExportFormat) -> str:
    runs = conversation.runs()
    if not runs:
        raise HistoryError(f"conversation {conversation.summary.id!r} has no readable turn")
    if fmt == "jsonl":
        from ..records.trace import run_text

        return "".join(run_text(meta, timed) for meta, timed in runs)
    if fmt == "player":
        from ..player import player_html

        return player_html(conversation.summary.title, list(conversation.turns.values()), head=conversation.head)
    from ..records.report import export_runs

    return export_runs([(meta, [e for _, e in timed]) for meta, timed in runs], "md" if fmt == "md" else "html")
