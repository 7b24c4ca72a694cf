"""Whether a tool call runs or is refused, and why: a pure verdict the round records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..dialects import Notes
from ..events import RefusedCall
from ..parser import BadToolCall, ToolCall
from ..prompt import escape_untrusted


@dataclass(frozen=True)
class RunCall:
    """``decide_call``'s verdict: run this call."""

    call: ToolCall


@dataclass(frozen=True)
class Refuse:
    """``decide_call``'s verdict: answer the call without running it; why, and what the model reads."""

    refused: RefusedCall
    observation: str


CallDecision = RunCall | Refuse


def decide_call(call: ToolCall | BadToolCall, *, notes: Notes, searches: int, max_searches: int,
                last_round: bool, context_full: Callable[[], bool]) -> CallDecision:
    """Run the call, or refuse it: rounds spent, malformed, search budget spent, or no room
    left in the context (``context_full``, asked only when it decides). Pure: the caller
    records the verdict."""
    query = call.query if isinstance(call, ToolCall) else None
    if last_round:
        return Refuse(RefusedCall(reason="rounds", query=query,
                                  detail=call.problem if isinstance(call, BadToolCall) else None),
                      notes.rounds_spent)
    if isinstance(call, BadToolCall):
        return Refuse(RefusedCall(reason="malformed", detail=call.problem),
                      notes.bad_call.format(problem=escape_untrusted(call.problem)))
    if searches >= max_searches:
        return Refuse(RefusedCall(reason="budget", query=query), notes.budget_spent.format(n=max_searches))
    if context_full():
        return Refuse(RefusedCall(reason="context", query=query), notes.context_full)
    return RunCall(call)
