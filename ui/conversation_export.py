"""The whole conversation of one browser session as one HTML and one Markdown file.

The files render the session's record (``agent.api.Conversation``): the finished answers of the
branch the chat shows, up to ``max_runs`` of them, the same number of turns the model
remembers, so a long chat neither grows each answer's export work without bound. They are
rewritten into the answer's export folder after every answer, so the download always holds
what the chat shows (a regenerated or edited answer replaces the old one in the record). The
engine writes the reports (``agent.report.export_runs``); this only picks the runs and names
the files.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from agent.api import Conversation, export_runs

log = logging.getLogger(__name__)


def _nothing_left_out(question: str) -> bool:
    return False


@dataclass
class ConversationExport:
    record: Conversation
    max_runs: int = 20
    # A shown answer that is no answer (the demo's note that no model runs): left out, by question.
    leave_out: Callable[[str], bool] = _nothing_left_out

    def write(self, folder: Path) -> tuple[str | None, str | None]:
        """(html, md) paths of the whole conversation in ``folder``; ``None`` for what failed
        or when there is nothing to export yet."""
        runs = [run for run in self.record.answers() if not self.leave_out(str(run[0].get("question", "")))]
        runs = runs[-self.max_runs:] if self.max_runs > 0 else []
        if not runs:
            return None, None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out: list[str | None] = []
        for fmt in ("html", "md"):
            path = folder / f"deepsearch-conversation-{stamp}.{fmt}"
            try:
                path.write_text(export_runs(runs, fmt), encoding="utf-8")
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
