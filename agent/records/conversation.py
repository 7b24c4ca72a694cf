"""One conversation as a record: the only memory of a chat.

Contract (the chat, the model's history, reports, exports, saved history and the share player all
read this; nothing is ever parsed back out of rendered HTML):

- A ``Conversation`` is a tree of ``Turn``s. Each turn has a stable ``id`` and a ``parent`` (the
  turn it follows; ``None`` for a first question). ``head`` names the newest turn of the branch
  being shown; ``path()`` is that branch, oldest first: one turn per question the chat shows.
- A turn holds its ``question``, the ``meta`` of its recording (``trace_meta``: model, backend,
  public settings, ``started_at``, ``scripted``), and the run's ``events`` in order, each stretch
  of thinking or answer deltas joined into one event (same text, same reports, a few events
  instead of thousands). Its ``done`` (if the run got one) and its ``display_numbers`` (source
  id -> the number people see) are read from those events, never stored beside them.
- ``kind`` is ``"answer"`` for a question this conversation asked, ``"replay"`` for a recorded
  trace played into the chat: a replay is shown, so it has a turn (the chat's questions and the
  path line up one to one), but it is neither remembered nor part of the conversation's export.
- What the model remembers (``memory``) is built from the path: every *remembered* turn (an
  answer with a ``done`` that is neither stopped nor empty, and not marked stopped by the person)
  as ``("user", question), ("assistant", answer with citations as domains)``, newest
  ``max_turns`` of them. Earlier numbers never reach the model (each answer numbers from [1]).
- Regenerating or editing a question is ``branch_at(i)``: the head goes back to the parent of
  the path's ``i``-th turn, so the next ``begin`` starts a sibling branch there. With
  ``keep_branches=False`` (the chat today, which shows one branch) the turns that left the path
  are dropped, so the record, the chat and its export always hold the same answers; with
  ``True`` they stay, reachable through ``children`` (for forks).
- Turns older than the newest ``keep_events`` of the path keep only their ``done`` (enough for
  the model's memory and numbering), so a long chat's record stays bounded.
- Events enter through ``Turn.add`` with every configured secret already redacted, like a trace:
  a record may be stored and shared. ``CONVERSATION`` (a pydantic ``TypeAdapter``) validates and
  serialises a whole record; ``dump``/``load`` are its JSON form.

Thread use: one thread (the engine's pump) adds a turn's events while it runs; other threads
read a turn once its run has ended.
"""

from __future__ import annotations

import re
import secrets as _secrets
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal
from urllib.parse import urlsplit

from pydantic import TypeAdapter

from ..text.citations import CITATION
from ..config import redact
from ..events import EVENT, Answer, Done, Error, Event, SourceRef, Thinking

TurnKind = Literal["answer", "replay"]
Meta = dict[str, Any]
DEFAULT_KEEP_EVENTS = 20


def new_turn_id() -> str:
    return f"t{_secrets.token_hex(6)}"


@dataclass(kw_only=True)
class Turn:
    """One question and everything its run said."""

    id: str = field(default_factory=new_turn_id)
    parent: str | None = None
    question: str
    kind: TurnKind = "answer"
    meta: Meta = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    # The person stopped it before the engine said so: shown as stopped, never remembered.
    stopped: bool = False
    # A fork (``Conversation.fork``): the turn it branched from, and the index of that turn's
    # events it continued from (0: the question asked again or replaced). None: no fork.
    fork_of: str | None = None
    fork_at: int | None = None

    def add(self, event: Event, *, secrets: Iterable[str] = ()) -> None:
        """Append ``event``; a delta extends the stretch of its kind it continues."""
        keys = [s for s in secrets if s]
        last = self.events[-1] if self.events else None
        if isinstance(event, (Thinking, Answer)):
            text = redact(event.text, keys) if keys else event.text
            if type(last) is type(event):
                self.events[-1] = type(event)(text=last.text + text)
            else:
                self.events.append(type(event)(text=text))
            return
        self.events.append(_redacted(event, keys) if keys else event)

    @property
    def done(self) -> Done | None:
        return next((e for e in reversed(self.events) if isinstance(e, Done)), None)

    @property
    def error(self) -> str | None:
        return next((e.message for e in reversed(self.events) if isinstance(e, Error)), None)

    @property
    def finished(self) -> bool:
        """The run ended with a ``done`` or an error (a recording of it can be reported)."""
        return self.done is not None or (bool(self.events) and isinstance(self.events[-1], Error))

    @property
    def display_numbers(self) -> dict[int, int]:
        """Source id -> the number people see (``Done.display_numbers``); empty before ``done``."""
        done = self.done
        return done.display_numbers if done is not None else {}

    @property
    def remembered(self) -> bool:
        """Whether the model is told this turn in later questions."""
        done = self.done
        return (self.kind == "answer" and not self.stopped and done is not None and not done.stopped
                and bool(done.answer.strip()))

    def memory(self) -> list[tuple[str, str]]:
        done = self.done
        if not self.remembered or done is None:
            return []
        return [("user", self.question), ("assistant", citations_as_domains(done.answer, done.sources).strip())]

    def compact(self) -> None:
        """Keep only ``done``: all an old turn's memory and numbering need."""
        done = self.done
        self.events = [done] if done is not None else []


@dataclass(kw_only=True)
class Conversation:
    """Every turn of one chat, and which branch of it is shown (see the module's contract)."""

    turns: dict[str, Turn] = field(default_factory=dict)
    head: str | None = None
    keep_branches: bool = False
    keep_events: int = DEFAULT_KEEP_EVENTS

    def path(self) -> list[Turn]:
        """The branch being shown, oldest first."""
        out: list[Turn] = []
        turn_id = self.head
        while turn_id is not None:
            turn = self.turns[turn_id]
            out.append(turn)
            turn_id = turn.parent
        return out[::-1]

    def children(self, turn_id: str | None) -> list[Turn]:
        """The turns that follow ``turn_id`` (``None``: first questions), in the order asked."""
        return [t for t in self.turns.values() if t.parent == turn_id]

    def begin(self, question: str, *, kind: TurnKind = "answer", meta: Meta | None = None) -> Turn:
        """A new turn after the head; it becomes the head."""
        turn = Turn(question=question, parent=self.head, kind=kind, meta=dict(meta or {}))
        self.turns[turn.id] = turn
        self.head = turn.id
        self._bound()
        return turn

    def fork(self, turn_id: str, *, at: int, question: str | None = None, meta: Meta | None = None) -> Turn:
        """A new branch beside ``turn_id``: a sibling (same parent) that continues that turn's
        events from index ``at`` (``agent/records/fork.py`` says where that makes sense), with
        ``question`` or the turn's own. It becomes the head; every branch is kept from now on."""
        original = self.turns.get(turn_id)
        if original is None:
            raise KeyError(f"no turn {turn_id!r} in this conversation; fork one of {sorted(self.turns)}")
        self.keep_branches = True
        turn = Turn(question=original.question if question is None else question, parent=original.parent,
                    meta=dict(meta or {}), fork_of=turn_id, fork_at=at)
        self.turns[turn.id] = turn
        self.head = turn.id
        self._bound()
        return turn

    def siblings(self, turn_id: str) -> list[Turn]:
        """The branches at ``turn_id``'s place (it and the turns sharing its parent), oldest
        first: what a "◀ 2/3 ▶" switcher steps through."""
        turn = self.turns[turn_id]
        return self.children(turn.parent)

    def show(self, turn_id: str) -> None:
        """Show the branch through ``turn_id``: the head becomes its newest descendant (following
        the latest child at each step), so the chat shows that branch to its end."""
        if turn_id not in self.turns:
            raise KeyError(f"no turn {turn_id!r} in this conversation")
        head = turn_id
        while (after := self.children(head)):
            head = after[-1].id
        self.head = head

    def branch_at(self, index: int) -> None:
        """The next question replaces the path's ``index``-th turn and everything after it.

        An index past the path (a chat longer than its record) leaves the head where it is.
        """
        path = self.path()
        if not 0 <= index < len(path):
            return
        self.head = path[index].parent
        if not self.keep_branches:
            kept = {t.id for t in path[:index]}
            gone = {t.id for t in path[index:]}
            self.turns = {k: t for k, t in self.turns.items() if k in kept or k not in gone}
            self._drop_unreachable()

    def memory(self, *, max_turns: int) -> list[tuple[str, str]]:
        """``(role, text)`` pairs the model reads before the next question (newest ``max_turns``)."""
        if max_turns <= 0:
            return []
        turns = [t for t in self.path() if t.remembered][-max_turns:]
        return [pair for turn in turns for pair in turn.memory()]

    def answers(self, *, last: int | None = None) -> list[tuple[Meta, list[Event]]]:
        """The path's finished answers as ``(meta, events)`` for the reports, newest ``last`` of them."""
        runs = [({"question": t.question, **t.meta}, list(t.events)) for t in self.path()
                if t.kind == "answer" and t.finished]
        return runs if last is None else runs[-last:] if last > 0 else []

    def _bound(self) -> None:
        """Compact every turn older than the newest ``keep_events`` answers of the path."""
        answers = 0
        for turn in reversed(self.path()):
            answers += turn.kind == "answer"
            if answers > self.keep_events and len(turn.events) > 1:
                turn.compact()

    def _drop_unreachable(self) -> None:
        """Turns whose parent went (a dropped branch's later turns) go too."""
        changed = True
        while changed:
            changed = False
            for key, turn in list(self.turns.items()):
                if turn.parent is not None and turn.parent not in self.turns:
                    del self.turns[key]
                    changed = True


CONVERSATION: TypeAdapter[Conversation] = TypeAdapter(Conversation)


def dump(conversation: Conversation) -> str:
    """The record as JSON text (for saved history and shares)."""
    return CONVERSATION.dump_json(conversation).decode()


def load(text: str | bytes) -> Conversation:
    """A record from ``dump``'s JSON; raises ``pydantic.ValidationError`` naming what is wrong."""
    return CONVERSATION.validate_json(text)


def _redacted(event: Event, secrets: list[str]) -> Event:
    """``event`` with every secret in any of its text replaced, as a trace writes it."""
    return EVENT.validate_python(_redact_strings(EVENT.dump_python(event), secrets))


def _redact_strings(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: _redact_strings(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_strings(v, secrets) for v in value)
    return value


# A citation as the model writes it (with the space before it, and the ``(url)`` of its
# ``[n](url)`` form when present).
_CITED = re.compile(r"[ \t]*" + CITATION.pattern)


def citations_as_domains(answer: str, sources: Iterable[SourceRef]) -> str:
    """``answer`` for the history: ``[1]`` becomes `` (example.org)`` (a document: `` (report.pdf)``);
    a number with no source goes.

    The next answer numbers its own sources from [1]; an old number left in the
    history would read as one of them.
    """
    where = {str(s.id): (s.file or "") if s.kind == "document" else _domain(s.url) for s in sources}

    def replace_one(match: re.Match[str]) -> str:
        found = [where.get(n.strip()) for n in match.group(1).split(",")]
        names = list(dict.fromkeys(n for n in found if n))
        return f" ({'; '.join(names)})" if names else ""

    return _CITED.sub(replace_one, answer)


def _domain(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").removeprefix("www.")
    except ValueError:
        return ""
