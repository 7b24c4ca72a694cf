"""Recording one answer as a trace, and its downloads (trace, HTML, Markdown).

The pump thread writes and closes a ``Recorder``; the handler's thread asks it
for ``reports`` once the answer has ended. The reports render the answer's turn in the
conversation's record (the same events, deltas joined), as the whole-conversation export does.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from agent.api import (Event, Settings, TraceError, TraceWriter, Turn, export_events, json_line, read_trace, to_dict,
                       trace_meta)

from .pump import stamp_ms
from .runtime import Runtime

log = logging.getLogger(__name__)


class Recorder:
    """Records one answer as a trace (downloads, ``--trace``).

    ``write`` and ``close`` run on the pump thread; ``reports`` on the handler's.
    """

    def __init__(self, folder: Path, *, question: str, runtime: Runtime, settings: Settings,
                 fork: dict[str, Any] | None = None) -> None:
        """``fork``: where a branch made by *Continue from here* came from, kept in the meta line."""
        self.path: Path | None = None
        self.meta: dict[str, Any] = trace_meta(question=question, settings=settings, model=runtime.model_label())
        self._writer = None
        self._runtime = runtime
        self._closed = threading.Event()
        path = folder / f"deepsearch-trace-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
        try:
            # The pump's clock: each event's time in the trace is the stamp the live view was fed.
            self._writer = TraceWriter(path, question=question, settings=settings,
                                       model=runtime.model_label(), clock=stamp_ms, fork=fork)
            self.meta = self._writer.meta
            self.path = path
        except Exception:  # noqa: BLE001 - a recording must never break an answer
            log.exception("cannot open a trace for this answer")
            self._closed.set()

    def write(self, event: Event, at: float) -> None:
        """``event`` at its arrival stamp (``ui.pump.stamp_ms``)."""
        if self._writer is None:
            return
        try:
            self._writer.write(event, at=at)
        except Exception:  # noqa: BLE001
            log.exception("cannot write to the trace")
            self._writer = None

    def close(self) -> None:
        """End the recording and append it, whole, to the ``--trace`` file."""
        if self._closed.is_set():
            return
        try:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
                self._append_to_session_trace()
        except Exception:  # noqa: BLE001
            log.exception("cannot close the trace")
            self.path = None
        finally:
            self._closed.set()

    def _append_to_session_trace(self) -> None:
        target = self._runtime.trace_path
        if not target or self.path is None:
            return
        try:  # whole runs under a lock: answers of two sessions never interleave
            with self._runtime.trace_lock, open(target, "a", encoding="utf-8") as out:
                out.write(self.path.read_text(encoding="utf-8"))
                if isinstance(self.meta.get("run"), str):  # its judged verdicts may follow (ui/model_check.py)
                    self._runtime.trace_runs.add(self.meta["run"])
        except OSError:
            log.exception("cannot append to the trace file %r", target)

    def recorded(self, timeout: float = 5.0) -> tuple[dict[str, Any], list[tuple[float, Event]]] | None:
        """The finished recording read back, validated (its meta and timed events); ``None`` when
        there is none (no trace could be opened, or the session ended and took the file)."""
        self._closed.wait(timeout)
        if self.path is None:
            return None
        try:
            return read_trace(self.path)
        except (TraceError, OSError):
            if self.path.parent.exists():
                log.exception("cannot read back the trace of this answer")
            return None

    def reports(self, turn: Turn, timeout: float = 5.0) -> tuple[str | None, str | None, str | None]:
        """(trace, html, md) paths of the finished recording of ``turn``; ``None`` for what is missing."""
        self._closed.wait(timeout)
        if self.path is None or not self.path.exists():
            return None, None, None
        try:
            html = self.path.with_name(self.path.stem.replace("trace", "report") + ".html")
            md = html.with_suffix(".md")
            html.write_text(export_events(turn.meta, turn.events, "html"), encoding="utf-8")
            md.write_text(export_events(turn.meta, turn.events, "md"), encoding="utf-8")
        except Exception:  # noqa: BLE001 - the trace alone is still worth offering
            if not self.path.parent.exists():
                return None, None, None  # the session ended meanwhile (tab closed, app stopping)
            log.exception("cannot write the reports for this answer")
            return str(self.path), None, None
        return str(self.path), str(html), str(md)


def replay_exports(folder: Path, meta: dict[str, Any],
                   pairs: list[tuple[float, Event]]) -> tuple[str | None, str | None, str | None]:
    """(trace, html, md) of a replayed run, as a live answer offers them; ``None`` for what failed."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    trace = folder / f"deepsearch-trace-{stamp}.jsonl"
    try:
        lines = [json_line(meta)] + [json_line({**to_dict(event), "t": t}) for t, event in pairs]
        trace.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except (OSError, TypeError, ValueError):
        log.exception("cannot write the replayed trace")
        return None, None, None
    events = [event for _, event in pairs]
    out: list[str | None] = [str(trace)]
    for fmt in ("html", "md"):
        path = folder / f"deepsearch-report-{stamp}.{fmt}"
        try:
            path.write_text(export_events(meta, events, fmt), encoding="utf-8")
            out.append(str(path))
        except Exception:  # noqa: BLE001 - the trace alone is still worth offering
            log.exception("cannot write the %s report of a replay", fmt)
            out.append(None)
    return out[0], out[1], out[2]
