"""A conversation record's turn with the times its events happened: what history stores and the
player plays.

The record (``agent.records.conversation.Turn``) joins each stretch of thinking or answer deltas
into one event; a trace times every delta. ``times`` keeps, per record event, when its first and
last delta came (seconds since the run started), so a replay types each stretch out over the
time it took, and a turn made from any trace (v1, v2 or later, through ``read_trace``) keeps its
pace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from pydantic import TypeAdapter

from .conversation import Turn, TurnKind
from .trace import RECORDER, TRACE_VERSION, Meta, TimedEvent

Span = tuple[float, float]  # (first delta, last delta) of one record event, seconds since the run started


@dataclass(kw_only=True)
class TimedTurn:
    """A record turn, when each of its events happened, and (for a branch) where it forked."""

    turn: Turn
    times: list[Span] = field(default_factory=list)
    fork_at: int | None = None  # the index in the parent's events this branch started from

    def __post_init__(self) -> None:
        if self.fork_at is None:  # a fork's turn says where it started (``Turn.fork_at``)
            self.fork_at = self.turn.fork_at

    def timed(self) -> list[TimedEvent]:
        """``(t, event)`` pairs, as a trace reads back (each joined stretch at its last delta)."""
        return [(end, event) for (_, end), event in zip(self.times, self.turn.events)]

    @property
    def meta(self) -> Meta:
        """The trace meta line of this turn's run (for reports and trace exports): written in
        today's format, whatever version it was recorded in, with every field a reader needs."""
        return {**_META_DEFAULTS, **self.turn.meta, "type": "meta", "version": TRACE_VERSION,
                "question": self.turn.question}


_META_DEFAULTS: Meta = {"model": "", "backend": "", "settings": {}, "started_at": "", "scripted": False,
                        "recorder": RECORDER}
TURN: TypeAdapter[Turn] = TypeAdapter(Turn)
SPANS: TypeAdapter[list[Span]] = TypeAdapter(list[Span])


def turn_from_run(meta: Meta, timed: Iterable[TimedEvent], *, parent: str | None = None,
                  kind: TurnKind = "answer", secrets: Sequence[str] = ()) -> TimedTurn:
    """A record turn of one recorded run, joined by the record's own ``Turn.add``."""
    question = str(meta.get("question", ""))
    kept = {k: v for k, v in meta.items() if k not in ("question", "type")}
    turn = Turn(question=question, parent=parent, kind=kind, meta=kept)
    fork = meta.get("fork")
    if isinstance(fork, dict) and isinstance(fork.get("turn"), str) and type(fork.get("at")) is int:
        turn.fork_of, turn.fork_at = fork["turn"], fork["at"]  # a session's fork (ChatSession.fork)
    times: list[Span] = []
    for t, event in timed:
        before = len(turn.events)
        turn.add(event, secrets=secrets)
        if len(turn.events) > before:
            times.append((t, t))
        else:  # a delta joined onto the stretch before it
            times[-1] = (times[-1][0], t)
    return TimedTurn(turn=turn, times=times, fork_at=turn.fork_at)


def untimed(turn: Turn) -> TimedTurn:
    """A turn recorded without times (events at 0 s): it still plays, one event a step."""
    return TimedTurn(turn=turn, times=[(0.0, 0.0)] * len(turn.events))


def turns_from_runs(runs: Iterable[tuple[Meta, Iterable[TimedEvent]]]) -> list[TimedTurn]:
    """A trace's runs (one after another, as ``app.py --trace`` writes a session) as one branch."""
    turns: list[TimedTurn] = []
    for meta, timed in runs:
        turns.append(turn_from_run(meta, timed, parent=turns[-1].turn.id if turns else None))
    return turns
