"""The branch the chat shows, drawn from the conversation's record, and switching between branches.

A turn whose parent has more than one child (Regenerate, an edited question, *Continue from
here*) is one of several branches: a small bar between its question and its answer shows
``◀ 2/3 ▶`` (``ui/branch_links.py``), and every earlier question offers *Continue from here*.
The chat of a branch is its turns, oldest first, each drawn as it was shown: a turn that ran in
this session keeps the messages its answer ended with (``TurnViews``); a saved one is drawn by
the same ``AnswerView`` from its recorded events and times; any other turn from its events.
Switching a branch moves the record's head (so what the model remembers follows the chat) to
the end of the branch chosen (``Conversation.show``: the latest turn at each step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import gradio as gr

from agent.api import Conversation, SearchStart, TimedTurn, Turn

from .branch_links import fork_link, switcher
from .history import _field
from .mapper import AnswerView

Span = tuple[float, float]


@dataclass
class TurnViews:
    """How each turn of one session's record is drawn: its question bubble and answer messages."""

    shown: dict[str, tuple[Any, list[Any]]] = field(default_factory=dict)
    timed: dict[str, TimedTurn] = field(default_factory=dict)  # saved turns: their events' times
    views: dict[str, AnswerView] = field(default_factory=dict)  # the view that drew each turn
    offers_check: bool = False  # answers link to "Check with the model" (ui/model_check.py)

    def keep(self, turn: Turn, question: Any, answer: list[Any], view: AnswerView | None = None) -> None:
        self.shown[turn.id] = (question, list(answer))
        if view is not None:
            self.views[turn.id] = view

    def messages(self, turn: Turn, *, max_searches: int, secrets: Sequence[str]) -> tuple[Any, list[Any]]:
        if turn.id not in self.shown:
            view = self.view(turn, max_searches=max_searches, secrets=secrets)
            self.shown[turn.id] = (turn.question, view.messages())
        return self.shown[turn.id]

    def view(self, turn: Turn, *, max_searches: int, secrets: Sequence[str]) -> AnswerView:
        """The view ``turn`` is drawn by: the one its answer streamed into, else one fed its
        recorded events (at their saved times, when it was saved)."""
        if turn.id not in self.views:
            timed = self.timed.get(turn.id)
            times = timed.times if timed is not None else [(0.0, 0.0)] * len(turn.events)
            view = turn_view(turn, times, max_searches=max_searches, secrets=secrets)
            if self.offers_check and turn.kind == "answer":
                view.offer_check(turn.id)
            self.views[turn.id] = view
        return self.views[turn.id]


def turn_view(turn: Turn, times: Sequence[Span], *, max_searches: int, secrets: Sequence[str]) -> AnswerView:
    """A finished turn's ``AnswerView``, fed its events on a clock that reads their recorded times.

    A joined stretch is fed at its first delta, as the live view first saw it: the panel's
    "Thought for N s" then runs to the next event, exactly as it did live.
    """
    now = [0.0]
    budget = next((e.max_searches for e in turn.events if isinstance(e, SearchStart)), max_searches)
    view = AnswerView(max_searches=budget, clock=lambda: now[0], secrets=tuple(secrets))
    for (start, _), event in zip(times, turn.events):
        now[0] = start
        view.feed(event)
    if not view.finished or turn.stopped:
        view.mark_stopped()
    if turn.kind == "answer":
        view.allow_forks(turn.id)
    return view


def turn_bar(record: Conversation, turn: Turn, *, earlier: bool, running: bool = False) -> gr.ChatMessage | None:
    """The bar under a question: its branches (inert while an answer runs), and *Continue from
    here* on an earlier question. None when there is nothing to offer."""
    parts = []
    siblings = record.siblings(turn.id)
    if len(siblings) > 1 and turn in siblings:
        i = siblings.index(turn)
        previous = siblings[i - 1].id if i > 0 and not running else None
        following = siblings[i + 1].id if i + 1 < len(siblings) and not running else None
        parts.append(switcher(position=i + 1, count=len(siblings), previous=previous, following=following))
    if earlier and not running and turn.kind == "answer":
        parts.append(fork_link(turn.id, "q"))
    if not any(parts):
        return None
    return gr.ChatMessage(role="assistant", content=f'<div class="ds-turn-bar">{"".join(parts)}</div>')


def path_messages(record: Conversation, views: TurnViews, turns: Sequence[Turn], *, max_searches: int,
                  secrets: Sequence[str], running: bool = False) -> list[Any]:
    """The chat of ``turns`` (the start of the record's path): question, bar, answer, each."""
    out: list[Any] = []
    last = len(record.path()) - 1
    for i, turn in enumerate(turns):
        question, answer = views.messages(turn, max_searches=max_searches, secrets=secrets)
        out.append(gr.ChatMessage(role="user", content=question))
        bar = turn_bar(record, turn, earlier=i < last, running=running)
        out += [bar] if bar is not None else []
        out += answer
    return out


def chat_before(record: Conversation, views: TurnViews, turn: Turn, history: list[Any], *,
                max_searches: int, secrets: Sequence[str], running: bool = False) -> list[Any]:
    """The chat above ``turn`` (the record's head, just begun): drawn from the record, so earlier
    questions gain *Continue from here*; the browser's own ``history`` when the record does not
    hold every question it shows (a session that started after the page did)."""
    path = record.path()
    before = path[:-1] if path and path[-1] is turn else path
    asked = sum(1 for message in history if _field(message, "role") == "user")
    if asked != len(before):
        return history
    return path_messages(record, views, before, max_searches=max_searches, secrets=secrets, running=running)


def show_branch(record: Conversation, turn_id: str) -> bool:
    """Show the branch through ``turn_id`` to its end (``Conversation.show``: the latest turn at
    each step); False for a turn this record does not hold."""
    if turn_id not in record.turns:
        return False
    record.show(turn_id)
    return True
