"""One answer (or replayed recording) in one browser session, as an object.

An ``AnswerRun`` owns what a single answer needs while it streams: the chat before it, its
question's bubble, its turn in the conversation's record, its ``AnswerView`` and its cancel event.
It yields named frames (``ui/outputs.py``): ``first`` when the question is taken, ``streamed``
while events arrive, ``last`` once it ended (its downloads shown, or the run marked stopped).
The handlers in ``ui/handlers.py`` only validate input and pick what to run.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator

import gradio as gr

from agent.api import Event, Turn

from .branches import can_fork, chat_before, turn_bar, with_bar
from .mapper import AnswerView
from .outputs import AnswerOutputs
from .recording import Recorder
from .session import UISession

Files = tuple[str | None, str | None, str | None]


class AnswerRun:
    """One answer's state and frames; ``turn`` is its turn in the session's record."""

    def __init__(self, *, session: UISession, history: list[Any], shown_question: str, turn: Turn,
                 view: AnswerView, cancel: threading.Event) -> None:
        self.session, self.turn, self.view, self.cancel = session, turn, view, cancel
        self.question = shown_question
        self._browser_history = history
        self.bar: str | None = None  # the answer's footer: its branches, and once it ended its steps
        self.history = self._before(running=True)

    def _before(self, *, running: bool) -> list[Any]:
        """The chat down to this answer's question (the earlier questions' controls inert while it
        runs, back once it ended); its own footer bar is ``self.bar``."""
        session, rt = self.session, self.session.runtime
        before = chat_before(session.record, session.views, self.turn, self._browser_history,
                             max_searches=rt.settings.max_searches, secrets=rt.secrets, running=running)
        self.bar = turn_bar(session.record, self.turn, earlier=False, running=running)
        return [*before, gr.ChatMessage(role="user", content=self.question)]

    @property
    def finished(self) -> bool:
        return self.view.finished

    def first(self, *, clear_question: bool) -> AnswerOutputs:
        """The question's bubble, the session (it may be new) and the last answer's downloads hidden."""
        return self._frame(files=None, keep_state=False, question="" if clear_question else None)

    def streamed(self, *, meter: str | None = None) -> AnswerOutputs:
        """The answer so far (the downloads left as the first frame made them)."""
        return self._frame(meter=meter)

    def stream(self, events: Iterator[Event], *, recorder: Recorder | None = None,
               clean_errors: tuple[type[BaseException], ...] = ()) -> Iterator[AnswerOutputs]:
        """Feed the engine's events to the view, one frame per batch, until the run ends; the
        finished view comes once, from ``last``."""
        try:
            batches = self.session.control.stream(events, self.cancel, recorder=recorder, clean_errors=clean_errors)
            for batch in batches:
                for at, event in batch:
                    self.view.feed(event, at)  # when it arrived, as its recording says: not this batch's time
                if not self.view.finished:
                    yield self._frame()
        except GeneratorExit:  # Stop, or the tab closed: the chat keeps this answer as it stopped
            self._settle()
            raise

    def stopped(self) -> AnswerOutputs:
        """Stopped before the engine said so: open panels close, the turn is never remembered."""
        self.view.mark_stopped()
        self.turn.stopped = True
        return self._frame()

    def last(self, files: Files | None) -> AnswerOutputs:
        """The final frame: the finished answer with its downloads, or the run marked stopped."""
        self._settle()
        self.history = self._before(running=False)
        return self._frame(files=files, keep_state=False)

    def _settle(self) -> None:
        """The run is over: an unfinished one is marked stopped, its panels offer Continue from
        here, and the session keeps how it looks for the branch switcher (``TurnViews``)."""
        if not self.view.finished:
            self.view.mark_stopped()
            self.turn.stopped = True
        if can_fork(self.turn):
            self.view.allow_forks(self.turn.id)
            if self.session.views.offers_check and self.view.done is not None:
                self.view.offer_check(self.turn.id)
        self.session.views.keep(self.turn, self.question, self.view.messages(), view=self.view)

    def _frame(self, *, files: Any = "streaming", keep_state: bool = True, meter: str | None = None,
               question: str | None = None) -> AnswerOutputs:
        """While it streams the downloads stay as the run's first frame left them (hidden, empty),
        and a plain ``None`` says so for free: ``gr.skip()`` is a props update, for which Gradio
        rebuilds the DownloadButton and regenerates its JSON schema on every frame (40% of the
        app's CPU at one session, bench/load.py under py-spy)."""
        session = self.session
        session.last_meter = meter or self.view.meter()
        trace, html, md = (None,) * 3 if files == "streaming" else _downloads(session, files)
        answer = with_bar(self.view.messages(), self.bar, ended=self.view.finished or self.view.stopped)
        return AnswerOutputs(question=question, chat=self.history + answer,
                             meter=session.last_meter, session=None if keep_state else session,
                             trace=trace, html=html, md=md)


def _downloads(session: UISession, paths: Files | None) -> tuple[Any, Any, Any]:
    """The buttons for a finished answer's files, or hidden for a new one. Showing or hiding
    is a props update (a rebuilt component each), so buttons already hidden just get ``None``."""
    if paths is None:
        shown, session.downloads.shown = session.downloads.shown, False
        hidden = gr.DownloadButton(value=None, visible=False)
        return (hidden, hidden, hidden) if shown else (None, None, None)
    session.downloads.shown = any(p is not None for p in paths)
    trace, html, md = (gr.DownloadButton(value=p, visible=p is not None) for p in paths)
    return trace, html, md
