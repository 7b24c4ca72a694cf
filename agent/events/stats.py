"""How a round and a run ended, and what a run measured (``RunStats``, carried by ``Done``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import ConfigDict, SerializerFunctionWrapHandler, TypeAdapter, model_serializer

from .fields import FORBID, Bool, Int, Number, Str, omit

# How one round of generation ended (``Conversation.finish_reason``).
FinishReason = Literal["stop", "tool_call", "length", "cancelled", "context"]

# How a whole run ended. Consumers ``match`` on this instead of probing stats:
#   answered          the model wrote a final answer
#   no_answer         the model ended its turn without writing one
#   stopped           the person stopped it (Stop, Ctrl-C)
#   token_limit       a round hit max_new_tokens before the answer was complete
#   context_full      the context window filled up before the answer was complete
#   rounds_exhausted  the round limit was reached and even the final, tool-less round gave no answer
RunEnd = Literal["answered", "no_answer", "stopped", "token_limit", "context_full", "rounds_exhausted"]
RUN_ENDS: tuple[str, ...] = get_args(RunEnd)

# Why the loop answered a tool call without running it.
RefusalReason = Literal["budget", "context", "malformed", "rounds"]
# Why a tool call was answered without running it, as people read it.
REFUSAL_REASONS: dict[RefusalReason, str] = {"budget": "over the search budget",
                                             "context": "context nearly full", "malformed": "malformed",
                                             "rounds": "over the round limit"}


@dataclass(frozen=True, kw_only=True)
class ReadStats:
    """What reading added to a run (``RunStats.reads``; None in runs that read nothing)."""

    pages_read: Int = 0
    pages_failed: Int = 0
    bytes: Int = 0
    read_s: Number = 0.0
    tokens_added: Int = 0
    reader_tokens: Int = 0  # tokens the model reader (--reader model) spent

    __pydantic_config__ = ConfigDict(extra="ignore")


@dataclass(frozen=True, kw_only=True)
class RefusedCall:
    """A tool call the loop answered without running: the query, or for a malformed call the problem."""

    reason: RefusalReason
    query: Str | None = None
    detail: Str | None = None

    __pydantic_config__ = FORBID

    @model_serializer(mode="wrap")
    def _written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit(handler(self), {"query": None, "detail": None})


@dataclass(frozen=True, kw_only=True)
class RunStats:
    """Measurements of one run. Every field has a default so older traces with fewer keys still read."""

    total_s: Number = 0.0
    ttft_s: Number | None = None
    thinking_tokens: Int = 0
    thinking_tok_s: Number = 0.0
    answer_tokens: Int = 0
    answer_tok_s: Number = 0.0
    prompt_tokens: Int = 0
    generated_tokens: Int = 0
    spliced_tokens: Int = 0
    prefilled_tokens: Int = 0
    reprefill_tokens: Int = 0
    prefill_saved_tokens: Int = 0
    context_tokens: Int = 0
    rounds: Int = 0
    search_latencies_s: tuple[Number, ...] = ()
    bad_calls: Int = 0
    refused_calls: tuple[RefusedCall, ...] = ()
    finish: FinishReason | None = None
    budget_exhausted: Bool = False
    context_forced: Bool = False
    truncated: Bool = False
    reads: ReadStats | None = None

    # Older traces have fewer keys, newer ones may have more: both read.
    __pydantic_config__ = ConfigDict(extra="ignore")

    def to_dict(self) -> dict[str, Any]:
        data = STATS.dump_python(self)
        if data["reads"] is None:  # a run that read nothing is written exactly as before reading existed
            del data["reads"]
        data["search_latencies_s"] = list(data["search_latencies_s"])
        data["refused_calls"] = list(data["refused_calls"])
        return data


def infer_end(*, answer: str, stopped: bool, stats: RunStats) -> RunEnd:
    """How a version-1 trace's run ended, from what it recorded (it had no ``end``)."""
    if stopped:
        return "stopped"
    if stats.finish == "context":
        return "context_full"
    if stats.truncated:
        return "token_limit"
    if answer.strip():
        return "answered"
    if stats.context_forced:
        return "context_full"
    # The tool-less last round still called: its refusal is the run's last, "rounds".
    last_refused = stats.refused_calls[-1].reason if stats.refused_calls else None
    return "rounds_exhausted" if stats.finish == "tool_call" and last_refused == "rounds" else "no_answer"


STATS: TypeAdapter[RunStats] = TypeAdapter(RunStats)
