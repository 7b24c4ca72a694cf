"""What the chat's branch controls do: switch the branch shown, and *Continue from here*.

The controls are links in the chat (``ui/branch_links.py``); ``assets/ui.js`` turns a click into
an action string and clicks a hidden button whose event carries it here (``ACTION_JS``). Both
events read and change only this session's record: an action naming a turn the record does not
hold (an old page, a forged value) is refused with a message, never guessed at.
"""

from __future__ import annotations

from typing import Any, Iterator

import gradio as gr

from agent.api import ForkError, InputError, SettingsError, Turn, validate_question

from .answer_run import AnswerRun
from .branch_links import BranchAction, parse_action
from .branches import can_fork, fork_point, path_messages, show_branch
from .citations import escape_text
from .handlers import Handlers, begin_answer
from .history import _field
from .mapper import AnswerView
from .runtime import Runtime
from .session import UISession
from .visitor_log import refusal

# The hidden button's event reads the action the clicked link left (assets/ui.js) as its first
# input; every other input passes through as the browser has it.
ACTION_JS = "(action, ...rest) => [window.dsBranchAction || '', ...rest]"
NOT_NOW = "An answer is still running: stop it or wait for it, then switch branches."


def branch_carrier() -> tuple[gr.Textbox, gr.Button, gr.Button, gr.Button]:
    """What the chat's links start through: a value ui.js fills in (``ACTION_JS``) and the buttons
    it clicks (show a branch, continue from here, check an answer with the model), in the page
    but never seen."""
    action = gr.Textbox(visible=False, label="Branch action")
    show = gr.Button("Show branch", visible="hidden", elem_id="branch-show")
    fork = gr.Button("Continue from here", visible="hidden", elem_id="branch-fork")
    check = gr.Button("Check with the model", visible="hidden", elem_id="branch-check")
    return action, show, fork, check


def shown_chat(runtime: Runtime, session: UISession) -> list[Any]:
    """The whole chat of the branch the record shows."""
    record = session.record
    return path_messages(record, session.views, record.path(), max_searches=runtime.settings.max_searches,
                         secrets=runtime.secrets)


def _chat_above(history: list[Any], questions: int) -> list[Any]:
    """The browser's chat above its ``questions``-th question (0: nothing)."""
    asked = 0
    for i, message in enumerate(history):
        if _field(message, "role") == "user":
            if asked == questions:
                return history[:i]
            asked += 1
    return history


class BranchEvents:
    def __init__(self, runtime: Runtime, handlers: Handlers) -> None:
        self.rt, self.h = runtime, handlers

    def show(self, action: Any, session: UISession | None) -> Any:
        """The switcher's arrows: the chat shows the branch of the turn named, and the model will
        remember that branch for the next question."""
        act = parse_action(action)
        if act is None or act.kind != "show" or session is None:
            raise refusal("Branch not shown", "That control is out of date; reload the page.")
        if session.control.running:
            raise refusal("Branch not shown", NOT_NOW)
        if not show_branch(session.record, act.turn):
            raise refusal("Branch not shown", "That branch is not in this chat any more; reload the page.")
        return shown_chat(self.rt, session)

    def fork(self, action: Any, history: list[Any] | None, session: UISession | None, *controls: Any,
             request: gr.Request | None = None) -> Iterator[tuple]:
        """*Continue from here*: a new branch beside the turn named, from its question or after one
        of its steps (``fork_point``), streamed like any answer; the switcher then shows it as n/n."""
        act = parse_action(action)
        if act is None or act.kind != "fork" or session is None:
            raise refusal("Cannot continue from there", "That control is out of date; reload the page.")
        turn, at = self._target(session, act)
        settings = self.h.settings_for(*controls)
        cancel = begin_answer(session)
        try:
            try:
                session.configure(settings)
                session.answered()  # the model check offered for the last answer goes with it
                if turn.kind == "replay":  # a trace's question was nobody's typing here: checked as one
                    validate_question(turn.question, settings)
                events = session.chat.fork(turn.id, at=at, cancel=cancel)
            except (ForkError, InputError, SettingsError, ValueError) as exc:
                raise refusal("Cannot continue from there", exc) from None
            branch = session.record.turns[session.record.head or ""]
            place = next(i for i, t in enumerate(session.record.path()) if t is branch)
            view = AnswerView(max_searches=settings.max_searches, label=self.rt.label, secrets=self.rt.secrets)
            run = AnswerRun(session=session, history=_chat_above(list(history or []), place),
                            shown_question=escape_text(branch.question, limit=2000) if turn.kind == "replay"
                            else branch.question, turn=branch, view=view, cancel=cancel)
            yield run.first(clear_question=False).values()
            yield from self.h.play(run, settings, lambda: events)
        finally:
            session.control.end(cancel)

    @staticmethod
    def _target(session: UISession, act: BranchAction) -> tuple[Turn, int]:
        turn = session.record.turns.get(act.turn)
        if turn is None or not can_fork(turn):
            raise refusal("Cannot continue from there", "That answer is not in this chat any more; reload the page.")
        if session.control.running:
            raise refusal("Cannot continue from there", "An answer is still running: stop it or wait for it first.")
        at = fork_point(turn, act.step)
        if at is None:
            raise refusal("Cannot continue from there",
                          "Nothing of this answer can follow that step; continue from its question instead.")
        return turn, at
