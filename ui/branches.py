"""The branch the chat shows, drawn from the conversation's record, and switching between branches.

A turn whose parent has more than one child (Regenerate, an edited question, *Continue from
here*) is one of several branches: a small bar at the foot of its answer shows ``◀ 2/3 ▶``
(``ui/branch_links.py``), every earlier question offers *Continue from here* there, and every
finished answer a link per search or read step to continue after it (as inside the step's
panel, but reachable with the panel closed). The bar is part of the answer's message (of its
open Stopped or Error panel when it wrote no text), never a message of its own: the chat keeps
one bot message per answer plus its panels.
The chat of a branch is its turns, oldest first, each drawn as it was shown: a turn that ran in
this session keeps the messages its answer ended with (``TurnViews``); a saved one is drawn by
the same ``AnswerView`` from its recorded events and times; any other turn from its events.
Switching a branch moves the record's head (so what the model remembers follows the chat) to
the end of the branch chosen (``Conversation.show``: the latest turn at each step).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import gradio as gr

from agent.api import Conversation, ReadStart, SearchStart, TimedTurn, Turn, fork_points

from .branch_links import fork_link, step_links, switcher
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
    if can_fork(turn):
        view.allow_forks(turn.id)
    return view


def turn_bar(record: Conversation, turn: Turn, *, earlier: bool, running: bool = False) -> str | None:
    """The footer of a turn's answer (HTML): its branches (inert while an answer runs), *Continue
    from here* on an earlier question, and once its run has ended one link per step to continue
    after (the same as the link inside that step's panel, reachable with the panel closed). None
    when there is nothing to offer."""
    parts = []
    siblings = record.siblings(turn.id)
    if len(siblings) > 1 and turn in siblings:
        i = siblings.index(turn)
        previous = siblings[i - 1].id if i > 0 and not running else None
        following = siblings[i + 1].id if i + 1 < len(siblings) and not running else None
        parts.append(switcher(position=i + 1, count=len(siblings), previous=previous, following=following))
    if not running and can_fork(turn):
        if earlier:
            parts.append(fork_link(turn.id, "q"))
        parts.append(step_links(turn.id, forkable_steps(turn)))
    if not any(parts):
        return None
    return f'<div class="ds-turn-bar ds-extra">{"".join(parts)}</div>'


def can_fork(turn: Turn) -> bool:
    """Whether *Continue from here* is offered on ``turn``: an answer, or a trace replayed into
    the chat (its recorded steps are reused and the app's model goes on from there; the new
    branch is an answer of this chat) that holds any event."""
    return turn.kind == "answer" or (turn.kind == "replay" and bool(turn.events))


def forkable_steps(turn: Turn) -> list[tuple[str, str]]:
    """``(at, what)`` for each step of ``turn`` a branch may continue after, in order: ``s<j>`` for
    its ``j``-th search, ``r<j>`` for its ``j``-th read when that read is a step of its own (a
    page the model opened; a search's own reads go with their search)."""
    events = turn.events
    points = set(fork_points(events))
    out: list[tuple[str, str]] = []
    searches = reads = 0
    for i, event in enumerate(events):
        if isinstance(event, SearchStart):
            if fork_point(turn, ("search", searches)) is not None:
                out.append((f"s{searches}", event.query))
            searches += 1
        elif isinstance(event, ReadStart):
            if i in points and fork_point(turn, ("read", reads)) is not None:
                out.append((f"r{reads}", event.title or event.url))
            reads += 1
    return out


def fork_point(turn: Turn, step: tuple[str, int] | None) -> int | None:
    """Where *Continue from here* forks ``turn`` (an index of its events, ``agent.api.fork_points``):
    0 for its question; for its ``j``-th search or read, the first point after that step, so
    its results are kept. None when there is no such step or nothing may follow it."""
    if step is None:
        return 0
    kind, j = step
    starts = [i for i, e in enumerate(turn.events) if isinstance(e, SearchStart if kind == "search" else ReadStart)]
    if not 0 <= j < len(starts):
        return None
    return next((p for p in fork_points(turn.events) if p > starts[j]), None)


def with_bar(answer: list[Any], bar: str | None, *, ended: bool = True) -> list[Any]:
    """An answer's messages with its footer ``bar`` at the end of its text (the one message of
    the answer that is no panel), so the bar adds no message to the chat. An answer with no
    text (stopped early, failed, no answer) has it at the end of its last panel that shows open
    (Stopped, Error, No answer: Gradio opens a panel whose status is not "done"), else of its
    last panel. While the answer runs (not ``ended``) only its text takes the bar: a panel
    still streaming does not."""
    if bar is None:
        return list(answer)
    out = list(answer)
    text = _last(out, lambda m: not _title(m))
    if text is None and ended:
        text = _last(out, lambda m: _status(m) != "done")
        text = text if text is not None else _last(out, lambda m: True)
    if text is not None:
        out[text] = _appended(out[text], bar)
    return out


def _last(messages: list[Any], wanted: Callable[[Any], bool]) -> int | None:
    """The index of the last assistant message with text that is ``wanted``."""
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if _field(message, "role") == "assistant" and isinstance(_field(message, "content"), str) and wanted(message):
            return i
    return None


def _appended(message: Any, bar: str) -> Any:
    text = f"{_field(message, 'content')}\n\n{bar}"
    return replace(message, content=text) if isinstance(message, gr.ChatMessage) else {**message, "content": text}


def _status(message: Any) -> str:
    metadata = _field(message, "metadata") or {}
    return str(metadata.get("status") or "") if isinstance(metadata, dict) else ""


def _title(message: Any) -> str:
    metadata = _field(message, "metadata") or {}
    return str(metadata.get("title") or "") if isinstance(metadata, dict) else ""


def path_messages(record: Conversation, views: TurnViews, turns: Sequence[Turn], *, max_searches: int,
                  secrets: Sequence[str], running: bool = False) -> list[Any]:
    """The chat of ``turns`` (the start of the record's path): each question and its answer, the
    answer ending with its footer bar (``with_bar``)."""
    out: list[Any] = []
    last = len(record.path()) - 1
    for i, turn in enumerate(turns):
        question, answer = views.messages(turn, max_searches=max_searches, secrets=secrets)
        out.append(gr.ChatMessage(role="user", content=question))
        out += with_bar(answer, turn_bar(record, turn, earlier=i < last, running=running))
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
