"""The run's ``Done``: its answer, sources, citations, statistics, claims and why it ended."""

from __future__ import annotations

from dataclasses import replace

from ..backends.base import Conversation
from ..claims import check_answer
from ..events import Done, RunEnd, RunStats
from ..text.citations import cited_ids
from .state import RunState


def finish(conv: Conversation, state: RunState) -> Done:
    final = "".join(state.answer)
    read = state.reading.passages if state.reading is not None else {}
    sources = tuple(replace(s.ref(snippet=True), passages=read[s.id]) if s.id in read else s.ref(snippet=True)
                    for s in state.registry.all())
    stats = _stats(conv, state)  # before the claims are checked, as the run's time always was
    # A dialect whose model never writes [n] counts every source its searches returned as cited.
    cited = (cited_ids(final, (s.id for s in sources)) if state.dialect.cites
             else tuple(state.shown) if final.strip() else ())
    claims = None if state.settings.check_claims == "off" else tuple(check_answer(final, sources))
    return Done(answer=final, sources=sources, cited=cited, searches=state.searches, stopped=_stopped(state),
                end=_end(state, final), stats=stats, claims=claims)


def _stats(conv: Conversation, state: RunState) -> RunStats:
    usage = conv.usage
    return RunStats(
        total_s=round(state.clock() - state.t0, 3),
        ttft_s=round(state.ttft, 3) if state.ttft is not None else None,
        **state.phase.rates(),
        prompt_tokens=usage.prompt_tokens,
        generated_tokens=usage.generated_tokens,
        spliced_tokens=usage.spliced_tokens,
        prefilled_tokens=usage.prefilled_tokens,
        reprefill_tokens=state.reprefill,
        prefill_saved_tokens=max(0, state.reprefill - usage.prefilled_tokens),
        context_tokens=usage.context_tokens,
        rounds=usage.rounds,
        search_latencies_s=tuple(round(x, 3) for x in state.latencies),
        bad_calls=state.bad_calls,
        refused_calls=tuple(state.refused),
        finish=state.finish,
        budget_exhausted=state.budget_exhausted,
        context_forced=state.context_forced,
        truncated=state.truncated,
        reads=state.reading.stats() if state.reading is not None else None,
    )


def _stopped(state: RunState) -> bool:
    return state.last is not None and state.last.kind == "stopped"


def _end(state: RunState, answer: str) -> RunEnd:
    last = state.last.kind if state.last is not None else "answered"
    if last == "stopped":
        return "stopped"
    if state.finish == "length":
        return "token_limit"
    if state.finish == "context":
        return "context_full"
    if answer.strip():
        return "answered"
    if state.context_forced:
        return "context_full"
    return "rounds_exhausted" if last == "rounds_out" else "no_answer"
