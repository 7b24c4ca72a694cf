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
from typing import Any, Callable, Iterator

import gradio as gr

from agent.api import (Done, TraceError, Turn, export_events, has_claims_to_judge, judged_line, offers_model_check,
                       read_trace, run_text)

from .branch_links import CHECK_LABEL, parse_action
from .branches import path_messages, turn_bar, with_bar
from .history import last_turn_start
from .mapper import AnswerView
from .runtime import Runtime
from .run_control import SessionBusy
from .session import UISession
from .visitor_log import log_shown, refusal

log = logging.getLogger(__name__)

LABEL = CHECK_LABEL
NOT_CHECKED = "Not checked"
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
        """A new question, Regenerate or an edit was sent: a running check stops (its lexical
        verdicts stand; the chat is the new answer's), and the button goes until that answer has
        finished. The check's end then leaves Ask and Stop to the new answer (``settle``)."""
        if session is not None and session.check_pending:  # running, or ended but not yet settled
            session.check_overtaken, session.check_chat = True, None
            if session.checking:
                session.control.request_stop()
        return self.hide()

    def redraw(self, session: UISession | None) -> Any:
        """The chat with a finished check's verdicts. The check event does not output the chat,
        so while it runs Gradio leaves the chat's Regenerate and Edit usable (``interrupt``)."""
        chat = session.check_chat if session is not None else None
        if session is not None:
            session.check_chat = None
        return chat if chat is not None else gr.skip()

    def settle(self, session: UISession | None) -> tuple[Any, Any, Any]:
        """(Ask, Stop, meter) after a check however it ended: Ask back, unless an answer overtook
        it (Stop stays for that answer) or Stop ended it (Stop's follow-up gave Ask back already);
        the meter keeps its text and loses any error badge."""
        overtaken = session is not None and (session.check_overtaken or session.check_stopped)
        if session is not None:
            session.check_pending = session.check_overtaken = session.check_stopped = False
        if overtaken:
            return gr.skip(), gr.skip(), gr.skip()
        return gr.Button(visible=True), gr.Button(visible=False), gr.skip()

    def check(self, history: list[Any] | None, session: UISession | None,
              owner: Any = None) -> Iterator[tuple[Any, Any, Any, Any, Any]]:
        """``#check-model``: the last answer. Frames of (meter, button, trace, html, md); the chat
        follows from ``redraw``."""
        skip = gr.skip()
        if session is None or not self.offered(session):
            yield skip, self.offer(session), skip, skip, skip
            return
        view, turn = session.last_view, session.last_turn
        assert view is not None and turn is not None

        def redraw() -> list[Any]:  # the browser's chat above this answer, then the answer
            start = last_turn_start(list(history or []))
            bar = turn_bar(session.record, turn, earlier=False)  # its branches and steps, as before the check
            return list(history or [])[:start] + with_bar(view.messages(), bar)
        yield from self._run(session, view, turn, owner, redraw, last=True)

    def check_turn(self, action: Any, session: UISession | None,
                   owner: Any = None) -> Iterator[tuple[Any, Any, Any, Any, Any]]:
        """"Check with the model" under any answer (``check:<turn>``, ``ui/branch_links.py``): that
        turn's answer; the chat is drawn afresh from the record. Same frames as ``check``."""
        act = parse_action(action)
        if act is None or act.kind != "check" or session is None:
            raise refusal(NOT_CHECKED, "That control is out of date; reload the page.")
        turn = session.record.turns.get(act.turn)
        if turn is None or turn.kind != "answer":
            raise refusal(NOT_CHECKED, "That answer is not in this chat any more; reload the page.")
        if session.control.running:
            raise refusal(NOT_CHECKED, "An answer or a check is still running: stop it or wait for it, then check.")
        rt = self.rt
        view = session.views.view(turn, max_searches=rt.settings.max_searches, secrets=rt.secrets)
        if not session.views.offers_check or not has_claims_to_judge(view.done):
            raise refusal(NOT_CHECKED, "That answer has no cited claims left for the model to check.")

        def redraw() -> list[Any]:
            return path_messages(session.record, session.views, session.record.path(),
                                 max_searches=rt.settings.max_searches, secrets=rt.secrets)
        yield from self._run(session, view, turn, owner, redraw, last=view is session.last_view)

    def _run(self, session: UISession, view: AnswerView, turn: Turn, owner: Any, redraw: Callable[[], list[Any]],
             *, last: bool) -> Iterator[tuple[Any, Any, Any, Any, Any]]:
        """Judge ``view``'s answer (``turn`` in the record); ``last``: it is the answer whose
        downloads the page shows. The judged ``done`` replaces the turn's in the record, its
        downloads, the saved history and the ``--trace`` file; ``redraw`` gives the chat then."""
        skip = gr.skip()
        assert view.done is not None
        try:
            cancel = session.control.begin(wait_s=0)
        except SessionBusy as exc:
            raise refusal("Still stopping", exc) from None
        session.checking = session.check_pending = True
        try:
            count = sum(1 for c in view.done.claims or () if c.verdict == "supported")
            yield f"checking {count} cited sentence{'s' * (count != 1)} with the model…", \
                gr.Button(CHECKING, interactive=False), skip, skip, skip
            done, problem = session.chat.check_with_model(view.done, cancel=cancel)
            current = session.control.cancel is cancel and session.record.turns.get(turn.id) is turn \
                and (not last or session.last_view is view)
            if cancel.is_set() or not current:  # stopped, a new question or New chat: the chat is theirs
                yield "model check stopped" if current else skip, self.hide() if not current else \
                    gr.Button(LABEL, interactive=True), skip, skip, skip
                return
            if problem is not None:
                log_shown("model check", problem, secrets=self.rt.secrets)
            view.recheck(done, note=visitor_note(problem) if problem else None)
            files = self._record(session, turn, done, owner, last=last) if problem is None else (skip,) * 3
            question = session.views.shown.get(turn.id, (turn.question, []))[0]
            session.views.keep(turn, question, view.messages(), view=view)  # a switch back shows the verdicts
            session.check_chat = redraw()  # sent by ``redraw`` once this event has ended
            session.checking = False
            # The last answer's button goes once it is judged; otherwise what follows the event
            # (``check.offer``) shows or hides it, once this check no longer holds the session.
            button = gr.Button(LABEL, visible=problem is not None, interactive=True) if last else \
                gr.Button(LABEL, interactive=True)
            yield session.last_meter, button, *files
        finally:
            session.checking = False
            session.control.end(cancel)

    def _record(self, session: UISession, turn: Turn, done: Done, owner: Any, *, last: bool) -> tuple[Any, Any, Any]:
        """The judged ``done`` into the record's turn, the saved history, the ``--trace`` file and,
        for the ``last`` answer, its downloads; returns the three download buttons' new files (a
        download is copied when shown, so a rewritten file needs a new name)."""
        at = max(i for i, e in enumerate(turn.events) if isinstance(e, Done))
        turn.events[at] = done
        self._save(session, turn, done, owner)
        self._log(turn, done)
        folder = session.downloads.export_folder
        if folder is None or not last:
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

    def _log(self, turn: Turn, done: Done) -> None:
        """The judged verdicts appended to the app's ``--trace`` file, naming the run they judge
        (``agent.api.judged_line``), when that run was recorded there."""
        rt = self.rt
        line = judged_line(turn.meta, done, secrets=rt.secrets)
        if not rt.trace_path or line is None or turn.meta.get("run") not in rt.trace_runs:
            return
        try:
            with rt.trace_lock, open(rt.trace_path, "a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError:
            log.exception("cannot append the model's verdicts to the trace file %r", rt.trace_path)

    def _save(self, session: UISession, turn: Turn, done: Done, owner: Any) -> None:
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
