"""Where a recorded run may be forked, and what a fork reuses (pure: events in, a plan out).

A fork starts a new branch from a point of a recorded conversation: everything before the
point is kept as it was (the model's recorded text, the recorded search results and pages),
and the model generates afresh from there. ``plan_fork`` reads one or more recorded runs
(a trace's runs, or a conversation record's path) and a point, checks that a fork makes
sense there, and returns a ``ForkPlan``: the question, the earlier runs (the model's
memory), the recorded rounds to put back into the model's context, and the recorded tool
results the engine (``agent/forking.py``) serves instead of searching and reading again.

Points are event indices. ``at`` counts the events of all the runs from 0, one run after
another (the numbering of a trace's event lines, meta lines not counted; for a one-run trace
that of ``--replay --json``). A fork makes sense:

- at a run's first event: the question is asked again (with the same earlier turns);
- at a step: before a ``search_start``, or before a ``read_start`` that opens a page
  (``open_page``): the model continues the round from the text it wrote before that call;
- after a step (the event after its ``search_done``, or after the last ``read_done`` of its
  reads), or inside a stretch of thinking or answer text: the model continues from there;
- at an ``error`` that ended the run: the run is retried from just before the failure.

It makes no sense inside a step (a ``search_done``, or a ``read_start``/``read_done`` of a
search's reads: the step's results are reused whole or not at all), at the run's ``done``
(nothing follows the finished answer: fork at the start of its last round instead), or at
an ``error`` a ``done`` follows (a check after the answer). ``question`` (a new question)
forks at the start of the run that holds ``at``: that turn is asked anew with the new
question and everything before it is kept; ``at`` one past the last event with a question
asks it as a new turn after the whole conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ..errors import UsageError
from ..events import Answer, Done, Error, Event, ReadDone, ReadStart, SearchDone, SearchStart, SourceRef, Thinking
from ..parser import ToolCall
from ..prompt import OPEN_PAGE_TOOL_NAME

Meta = dict[str, Any]
Run = tuple[Meta, Sequence[Event]]


class ForkError(UsageError):
    """A fork point or a recording a fork cannot start from; the message names the value and
    says what to do."""


@dataclass(frozen=True, kw_only=True)
class RecordedRound:
    """What the model wrote in one recorded round: its thinking and answer text (as the events
    carried it) and the call that ended it (None: the round the fork continues)."""

    thinking: tuple[str, ...] = ()
    answer: tuple[str, ...] = ()
    call: ToolCall | None = None

    @property
    def empty(self) -> bool:
        return not (self.thinking or self.answer or self.call)


@dataclass(frozen=True, kw_only=True)
class RecordedSearch:
    """One recorded search: its results (with the snippet or passage text the model read), or
    the error it failed with."""

    tool: str
    query: str
    provider: str
    results: tuple[SourceRef, ...] = ()
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class ForkPlan:
    """What a fork reuses and where it generates afresh (see the module's rules)."""

    at: int  # the point as given (counted over all runs)
    run: int  # the run it forks, 0 first
    event: int  # the point inside that run: events before it are kept
    question: str  # the forked run's question (the new one, when one was given)
    meta: Meta  # the forked run's recorded meta (``{}`` for a new turn after the last)
    earlier: tuple[Run, ...]  # the runs before it: the conversation the model remembers
    kept: tuple[Event, ...]  # the forked run's events before the point
    rounds: tuple[RecordedRound, ...] = ()  # finished rounds, each ended by a call
    partial: RecordedRound = field(default_factory=RecordedRound)  # the round the model continues
    searches: tuple[RecordedSearch, ...] = ()
    reads: tuple[ReadDone, ...] = ()  # every page or document read, in the order they finished


def plan_fork(runs: Sequence[Run], at: int, *, question: str | None = None, where: str = "the trace") -> ForkPlan:
    """The plan for forking ``runs`` at event ``at`` (a new ``question``, or None to keep the
    recorded one). Raises ``ForkError`` naming ``at`` when a fork makes no sense there."""
    total = sum(len(events) for _, events in runs)
    if isinstance(at, bool) or not isinstance(at, int):
        raise ForkError(f"the fork point must be a whole number, got {at!r}")
    limit = total if question is not None else total - 1
    if not runs or at < 0 or at > limit:
        span = f"0..{limit}" if limit >= 0 else "none"
        raise ForkError(f"fork point {at!r} is out of range: {where} has {total} event(s) (numbered from 0), so "
                        f"N must be in {span}" + ("" if question is not None else
                                                  f"; give a QUESTION to ask a new one after event {total - 1}"))
    run, event = _locate(runs, at)
    earlier = tuple(runs[:run])
    if run == len(runs):  # a new question after the whole conversation
        return ForkPlan(at=at, run=run, event=0, question=question or "", meta={}, earlier=earlier, kept=())
    meta, events = runs[run]
    if question is not None:
        return ForkPlan(at=at, run=run, event=0, question=question, meta=dict(meta), earlier=earlier, kept=())
    _check_point(events, event, at)
    rounds, partial, searches, reads = _replayable(events[:event])
    return ForkPlan(at=at, run=run, event=event, question=str(meta.get("question", "")), meta=dict(meta),
                    earlier=earlier, kept=tuple(events[:event]), rounds=rounds, partial=partial,
                    searches=_with_snippets(searches, events), reads=reads)


def fork_points(events: Sequence[Event]) -> list[int]:
    """Every index of ``events`` (one run) a fork may start from, in order (one pass)."""
    inside, done_after = _inside_flags(events), _done_after(events)
    return [i for i in range(len(events)) if _problem(events, i, i, inside[i], done_after[i]) is None]


def after_step(events: Sequence[Event], start: int) -> int:
    """The fork point that keeps the step beginning at ``events[start]`` (a ``search_start``, or
    an ``open_page`` ``read_start``) with its results: the index just after its last result
    ("Continue from here" on a search or read panel). Raises ``ForkError`` for any other index."""
    inside = _inside_flags(events)
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start < len(events) \
            or not isinstance(events[start], (SearchStart, ReadStart)) or inside[start]:
        raise ForkError(f"event {start!r} does not start a search or read step; give the index of a "
                        f"'search_start' or of an open_page 'read_start'")
    end = start + 1
    while end < len(events) and (inside[end] or isinstance(events[end], (SearchDone, ReadDone))):
        end += 1
    return end


def _locate(runs: Sequence[Run], at: int) -> tuple[int, int]:
    """``at`` as (run, index in that run); one past the end is (number of runs, 0)."""
    for number, (_, events) in enumerate(runs):
        if at < len(events):
            return number, at
        at -= len(events)
    return len(runs), 0


def _check_point(events: Sequence[Event], index: int, at: int) -> None:
    problem = _problem(events, index, at, _inside_flags(events)[index], _done_after(events)[index])
    if problem is not None:
        raise ForkError(problem)


def _problem(events: Sequence[Event], index: int, at: int, inside: bool, done_after: bool) -> str | None:
    """Why a fork makes no sense at ``events[index]`` (``at`` as the caller counts it), or None."""
    if index == 0:
        return None
    event = events[index]
    if isinstance(event, Done):
        return (f"event {at} is the run's 'done': nothing follows the finished answer; fork at the start "
                f"of the round to regenerate (e.g. the event after the last search or read), or at the "
                f"run's first event")
    if isinstance(event, Error) and done_after:
        return f"event {at} is an error reported after the answer was finished; fork at an earlier event"
    if inside:
        return (f"event {at} ({event.type!r}) is inside a search or read step, whose results are reused "
                f"whole or not at all; fork at the step's first event (before it) or at the event after "
                f"its last result")
    return None


def _inside_flags(events: Sequence[Event]) -> list[bool]:
    """For each index, whether a tool step is in progress just before that event: a search with
    no result yet, reads not all finished, or a search whose reads start right there."""
    flags, searching, reading = [], False, 0
    for index, event in enumerate(events):
        starts_reads = isinstance(event, ReadStart) and index > 0 and isinstance(events[index - 1], SearchDone)
        flags.append(searching or reading > 0 or starts_reads)
        if isinstance(event, SearchStart):
            searching = True
        elif isinstance(event, SearchDone):
            searching = False
        elif isinstance(event, ReadStart):
            reading += 1
        elif isinstance(event, ReadDone):
            reading = max(0, reading - 1)
    return flags


def _done_after(events: Sequence[Event]) -> list[bool]:
    """For each index, whether a ``done`` comes at or after it."""
    out, seen = [False] * len(events), False
    for index in range(len(events) - 1, -1, -1):
        seen = seen or isinstance(events[index], Done)
        out[index] = seen
    return out


def _replayable(kept: Sequence[Event]) -> tuple[tuple[RecordedRound, ...], RecordedRound,
                                                tuple[RecordedSearch, ...], tuple[ReadDone, ...]]:
    """The kept events as the rounds the model wrote and the tool results they got."""
    rounds: list[RecordedRound] = []
    thinking: list[str] = []
    answer: list[str] = []
    searches: list[RecordedSearch] = []
    reads: list[ReadDone] = []
    search_reads = False  # the read_start events of a search's own reads (auto-read), not open_page
    previous: Event | None = None
    for event in kept:
        call: ToolCall | None = None
        if isinstance(event, Thinking):
            thinking.append(event.text)
        elif isinstance(event, Answer):
            answer.append(event.text)
        elif isinstance(event, SearchStart):
            call = ToolCall(event.tool, event.query)
        elif isinstance(event, SearchDone):
            searches.append(RecordedSearch(tool=event.tool, query=event.query, provider=event.provider,
                                           results=event.results, error=event.error))
        elif isinstance(event, ReadStart):
            search_reads = isinstance(previous, SearchDone) or (isinstance(previous, ReadStart) and search_reads)
            if not search_reads:
                call = ToolCall(OPEN_PAGE_TOOL_NAME, "", source_id=event.id or None,
                                url=None if event.id else event.url)
        elif isinstance(event, ReadDone):
            reads.append(event)
        previous = event
        if call is not None:
            rounds.append(RecordedRound(thinking=tuple(thinking), answer=tuple(answer), call=call))
            thinking, answer = [], []
    return tuple(rounds), RecordedRound(thinking=tuple(thinking), answer=tuple(answer)), tuple(searches), tuple(reads)


def _with_snippets(searches: tuple[RecordedSearch, ...], events: Sequence[Event]) -> tuple[RecordedSearch, ...]:
    """Each recorded result with the text its search returned, from the run's ``done`` (a
    ``search_done`` carries ids, titles and links only); a run that ended without one gives "" ."""
    done = next((e for e in events if isinstance(e, Done)), None)
    by_id = {s.id: s for s in done.sources} if done is not None else {}
    out = []
    for search in searches:
        results = tuple(by_id.get(r.id, r) if by_id.get(r.id, r).url == r.url else r for r in search.results)
        out.append(RecordedSearch(tool=search.tool, query=search.query, provider=search.provider, results=results,
                                  error=search.error))
    return tuple(out)
