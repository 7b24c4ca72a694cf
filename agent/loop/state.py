"""What one run carries from round to round, and how a round ended, as values."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from ..config import Settings
from ..dialects import Dialect
from ..events import FinishReason, RefusedCall
from ..reading import RunReading
from ..search import SearchChain, SourceRegistry

# How one round ended. The first three let the run go on; the rest end it.
RoundKind = Literal["searched", "refused", "retried", "answered", "stopped", "cut_off", "context_full",
                    "rounds_out"]


@dataclass(frozen=True)
class RoundOutcome:
    """One round's result as a value: what happened, and the call it refused, if any."""

    kind: RoundKind
    refused: RefusedCall | None = None

    @property
    def goes_on(self) -> bool:
        return self.kind in ("searched", "refused", "retried")


@dataclass
class Phase:
    """Tokens and seconds spent producing thinking vs answer text."""

    tokens: dict[str, int] = field(default_factory=lambda: {"thinking": 0, "answer": 0})
    seconds: dict[str, float] = field(default_factory=lambda: {"thinking": 0.0, "answer": 0.0})

    def rates(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("thinking", "answer"):
            out[f"{name}_tokens"] = self.tokens[name]
            s = self.seconds[name]
            out[f"{name}_tok_s"] = round(self.tokens[name] / s, 2) if s > 0 else 0.0
        return out


@dataclass
class RunState:
    """One run: what it was given, and what it has seen so far."""

    settings: Settings
    dialect: Dialect
    search: SearchChain
    registry: SourceRegistry
    cancel: threading.Event
    clock: Callable[[], float]
    t0: float
    # The search_documents tool's chain (QwQ only: the tag dialects have one search tag), or None.
    documents: SearchChain | None = None
    # What this run may read (pages, whole documents) and what it read; None: snippets only.
    reading: RunReading | None = None
    # The final answer: only what the model wrote after its last tool call (cleared at each call).
    answer: list[str] = field(default_factory=list)
    phase: Phase = field(default_factory=Phase)
    # The thinking tokens and seconds counted before the current round began.
    round_start: tuple[int, float] = (0, 0.0)
    latencies: list[float] = field(default_factory=list)
    reprefill: int = 0
    searches: int = 0
    bad_calls: int = 0
    # Calls the loop answered without running, so a person can see why a search never happened.
    refused: list[RefusedCall] = field(default_factory=list)
    shown: list[int] = field(default_factory=list)  # source ids this run's searches returned, in order
    budget_exhausted: bool = False
    context_forced: bool = False
    truncated: bool = False
    ttft: float | None = None
    finish: FinishReason | None = None
    # How the last round ended: the run's end is read from it (``finish.end_of``).
    last: RoundOutcome | None = None

    def record(self, outcome: RoundOutcome) -> None:
        """Apply one round's outcome: the only place a refusal is counted."""
        self.last = outcome
        if outcome.refused is not None:
            self.refused.append(outcome.refused)
            reason = outcome.refused.reason
            self.bad_calls += reason == "malformed"
            self.budget_exhausted |= reason == "budget"
            self.context_forced |= reason == "context"
        self.truncated |= outcome.kind in ("cut_off", "context_full")
