"""The whole conversation of one browser session as one HTML and one Markdown file.

Each finished answer's recording (meta and events, as its trace reads back) is kept in
memory; the two files are rewritten into the answer's export folder after every answer, so
the download always holds everything asked so far -- up to ``max_runs`` answers, the same
number of turns the model remembers, so a long chat neither grows a session's memory nor
each answer's export work without bound. The streamed deltas of a run are kept joined (one
event per stretch of thinking or answer, not one per token). The engine writes the reports
(``agent.records.report.export_runs``); this only keeps the runs and names the files.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from agent.api import Answer, Event, Thinking, export_runs

log = logging.getLogger(__name__)


@dataclass
class ConversationExport:
    max_runs: int = 20
    runs: list[tuple[dict[str, Any], list[Event]]] = field(default_factory=list)

    def add(self, meta: dict[str, Any], events: Sequence[Event]) -> None:
        self.runs.append((dict(meta), joined(events)))
        del self.runs[:-self.max_runs]

    def write(self, folder: Path) -> tuple[str | None, str | None]:
        """(html, md) paths of the whole conversation in ``folder``; ``None`` for what failed
        or when there is nothing to export yet."""
        if not self.runs:
            return None, None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out: list[str | None] = []
        for fmt in ("html", "md"):
            path = folder / f"deepsearch-conversation-{stamp}.{fmt}"
            try:
                path.write_text(export_runs(self.runs, fmt), encoding="utf-8")
                out.append(str(path))
            except Exception:  # noqa: BLE001 - the per-answer downloads are still offered
                if not folder.is_dir():
                    return self._abandon(folder, out)
                log.exception("cannot write the conversation's %s report", fmt)
                out.append(None)
        return out[0], out[1]

    @staticmethod
    def _abandon(folder: Path, written: list[str | None]) -> tuple[None, None]:
        """The session ended meanwhile (tab closed, app stopping) and took its folder: nothing to
        offer, nothing to report, and no file of this write may outlive it."""
        for path in filter(None, written):
            Path(path).unlink(missing_ok=True)
        log.debug("the conversation's folder %s went while it was written", folder)
        return None, None


def joined(events: Sequence[Event]) -> list[Event]:
    """``events`` with each run of consecutive thinking (or answer) deltas as one event: the
    same text, order and reports, a few events instead of thousands."""
    out: list[Event] = []
    parts: list[str] = []
    kind: type | None = None
    for event in list(events) + [None]:  # None: the end, which closes the last stretch
        if kind is not None and type(event) is not kind:
            out.append(kind(text="".join(parts)))
            parts, kind = [], None
        if isinstance(event, (Thinking, Answer)):
            kind = type(event)
            parts.append(event.text)
        elif event is not None:
            out.append(event)
    return out
