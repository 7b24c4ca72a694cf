"""“Check with the model”: the judge layer on request, for an answer of the app's own local model.

A local model answers one question at a time, so its answers are checked lexically only; the
button under a finished answer (``#check-model``) asks the same model afterwards to judge the
sentences the lexical layer found supported (``agent.api.ChatSession.check_with_model``). It runs
in the answers' concurrency group, so it waits for the model like any question, and holds the
session like an answer: Stop ends it within a token, a new question or New chat stops it first.
Judged verdicts replace the answer's ``done`` in the conversation's record, its downloads and
its saved history entry; a check that could not run leaves the lexical verdicts and says why.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from agent.api import (Done, TraceError, export_events, has_claims_to_judge, offers_model_check, read_trace,
                       run_text)

from .branches import turn_bar
from .history import last_turn_start
from .runtime import Runtime
from .run_control import SessionBusy
from .session import UISession
from .visitor_log import log_shown, refusal

log = logging.getLogger(__name__)

LABEL = "Check with the model"
_WITHIN = re.compile(r"gave no verdicts within [\d.]+ s")
CHECKING = "Checking with the model…"


class ModelCheck:
    """The button's handlers; ``offer`` says whether it shows, ``check`` runs it."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def offered(self, session: UISession | None) -> bool:
        """The session's last answer streamed here, finished, has lexically supported claims and
        was not judged yet, and the app's backend is a local one (``offers_model_check``)."""
        view = session.last_view if session is not None else None
        return (session is not None and view is not None and not session.control.running
                and offers_model_check(session.chat.settings) and has_claims_to_judge(view.done))

    def offer(self, session: UISession | None) -> Any:
        return gr.Button(LABEL, visible=self.offered(session), interactive=True)

    def hide(self) -> Any:
        return gr.Button(visible=False)

    def interrupt(self, session: UISession | None) -> Any:
        """A new question was sent: a running check stops (its lexical verdicts stand), and the
        button goes until that question has finished."""
        if session is not None and session.checking:
            session.control.request_stop()
        return self.hide()

    def check(self, history: list[Any] | None, session: UISession | None,
              owner: Any = None) -> Iterator[tuple[Any, Any, Any, Any, Any, Any]]:
        """Frames of (chat, meter, button, trace, html, md)."""
        skip = gr.skip()
        if session is None or not self.offered(session):
            yield skip, skip, self.offer(session), skip, skip, skip
            return
        view, turn = session.last_view, session.last_turn
        assert view is not None and turn is not None and view.done is not None
        try:
            cancel = session.control.begin(wait_s=0)
        except SessionBusy as exc:
            raise refusal("Still stopping", exc) from None
        session.checking = True
        try:
            count = sum(1 for c in view.done.claims or () if c.verdict == "supported")
            yield skip, f"checking {count} cited sentence{'s' * (count != 1)} with the model…", \
                gr.Button(CHECKING, interactive=False), skip, skip, skip
            done, problem = session.chat.check_with_model(view.done, cancel=cancel)
            current = session.control.cancel is cancel and session.last_view is view
            if cancel.is_set() or not current:  # stopped, a new question or New chat: the chat is theirs
                yield skip, "model check stopped" if current else skip, self.hide() if not current else \
                    gr.Button(LABEL, interactive=True), skip, skip, skip
                return
            if problem is not None:
                log_shown("model check", problem, secrets=self.rt.secrets)
            view.recheck(done, note=visitor_note(problem) if problem else None)
            files = self._record(session, turn, done, owner) if problem is None else (skip,) * 3
            start = last_turn_start(list(history or []))
            session.views.keep(turn, turn.question, view.messages())  # a switch back shows the verdicts
            bar = turn_bar(session.record, turn, earlier=False)  # its branches, as before the check
            chat = list(history or [])[:start] + ([bar] if bar is not None else []) + view.messages()
            session.checking = False
            yield (chat, session.last_meter, gr.Button(LABEL, visible=problem is not None, interactive=True),
                   *files)
        finally:
            session.checking = False
            session.control.end(cancel)

    def _record(self, session: UISession, turn: Any, done: Done, owner: Any) -> tuple[Any, Any, Any]:
        """The judged ``done`` into the record's turn, the answer's downloads and the saved history;
        returns the three download buttons' new files (a download is copied when shown, so a
        rewritten file needs a new name)."""
        at = max(i for i, e in enumerate(turn.events) if isinstance(e, Done))
        turn.events[at] = done
        self._save(session, turn, done, owner)
        folder = session.downloads.export_folder
        if folder is None:
            return gr.skip(), gr.skip(), gr.skip()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out: list[Any] = [self._trace(session.last_trace, done, folder / f"deepsearch-trace-{stamp}-checked.jsonl")]
        for fmt in ("html", "md"):
            path = folder / f"deepsearch-report-{stamp}-checked.{fmt}"
            try:
                path.write_text(export_events(turn.meta, turn.events, fmt), encoding="utf-8")
                out.append(str(path))
            except OSError:
                log.exception("cannot write the checked %s report", fmt)
                out.append(gr.skip())
        return out[0], out[1], out[2]

    @staticmethod
    def _trace(old: Path | None, done: Done, path: Path) -> Any:
        """The answer's trace with its ``done`` replaced (at its time), under a new name."""
        if old is None:
            return gr.skip()
        try:
            meta, timed = read_trace(old)
            at = max(i for i, (_, e) in enumerate(timed) if isinstance(e, Done))
            timed[at] = (timed[at][0], done)
            path.write_text(run_text(meta, timed), encoding="utf-8")
        except (OSError, TraceError):
            log.exception("cannot rewrite the trace with the model's verdicts")
            return gr.skip()
        return str(path)

    def _save(self, session: UISession, turn: Any, done: Done, owner: Any) -> None:
        saved = self.rt.saved
        key = saved.owner(owner) if saved is not None else None
        if key is None or session.saved_id is None or turn.id not in session.saved_turns:
            return
        try:
            saved.store.replace_done(key, session.saved_id, turn.id, done)
        except Exception:  # noqa: BLE001 - the chat and downloads have the verdicts; the log says why not saved
            log.exception("cannot save the model's verdicts to the history")


def visitor_note(problem: str) -> str:
    """What the person reads under the answer when the check could not run: why in a few words,
    never the model's raw reply (that, and the whole problem, are in the server's log)."""
    late = _WITHIN.search(problem)
    if late:
        why = f"the model {late.group(0)}"
    elif "the model failed" in problem:
        why = "the model failed (the server log says why)"
    else:
        why = "the model's reply was not the verdicts asked for"
    return f"The model check could not run: {why}. The lexical check stands."
