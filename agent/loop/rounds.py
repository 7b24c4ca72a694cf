"""The rounds of one run: generate, then search, refuse, retry, or end; each round's outcome a value."""

from __future__ import annotations

from typing import Generator, Iterator

from ..backends.base import Conversation, round_token_limit
from ..backends.prefix import PrefixConversation
from ..config import encodable
from ..dialects import RoundParser
from ..document_tool import parse_tool_call
from ..events import Answer, Event, RefusedCall, Thinking
from ..parser import ToolCall
from ..prompt import OPEN_PAGE_TOOL_NAME
from .decide import Refuse, decide_call
from .state import RoundOutcome, RunState
from .tools import can_open, no_room, run_call


def rounds(conv: Conversation, state: RunState) -> Iterator[Event]:
    """Generate round after round until the model answers, or the run must end.

    After ``max_rounds`` rounds a pending call is refused and one last round asks
    for the answer without tools, as a spent search budget does.
    """
    last = state.settings.max_rounds
    for index in range(last + 1):
        outcome = yield from _round(conv, state, last_round=index >= last - 1, tool_less=index == last)
        state.record(outcome)
        if not outcome.goes_on:
            return


def _round(conv: Conversation, state: RunState, *, last_round: bool,
           tool_less: bool) -> Generator[Event, None, RoundOutcome]:
    """One round: generate, then search, refuse, retry, or end; its outcome as a value."""
    # Checked here once, so no backend is ever asked for a round it cannot run.
    if state.cancel.is_set():
        return RoundOutcome("stopped")
    if round_token_limit(state.settings, conv.usage.context_tokens) <= 0:
        state.finish = "context"
        return RoundOutcome("context_full")
    parser, thinking = yield from _stream_round(conv, state)
    state.finish = conv.finish_reason
    if state.cancel.is_set() or state.finish == "cancelled":
        return RoundOutcome("stopped")
    if state.finish in ("length", "context"):
        return RoundOutcome("cut_off")  # a call cut off here is never executed
    if parser.call_text is None:
        retry = _retry_without_action(conv, state, tool_less=tool_less)
        if retry is not None:
            return retry
        yield from _promote_thinking(parser, thinking, state)
        return RoundOutcome("answered")
    state.answer.clear()  # text before a tool call may cite sources that do not exist yet
    call = parse_tool_call(parser.call_text, state.dialect, state.documents, open_page=can_open(state))
    notes, settings = state.dialect.notes, state.settings
    opens = isinstance(call, ToolCall) and call.name == OPEN_PAGE_TOOL_NAME  # opening a page is no search
    decision = decide_call(call, notes=notes, searches=0 if opens else state.searches,
                           max_searches=settings.max_searches,
                           last_round=last_round,
                           context_full=lambda: no_room(conv, settings, notes.context_full))
    if tool_less:  # the tool-less last round still called: no answer will come
        assert isinstance(decision, Refuse)  # in the last rounds every call is refused
        return RoundOutcome("rounds_out", refused=decision.refused)
    if isinstance(decision, Refuse):
        conv.add_tool_result(decision.observation)
        return RoundOutcome("refused", refused=decision.refused)
    yield from run_call(decision.call, conv, state)
    return RoundOutcome("searched")


def _stream_round(conv: Conversation, state: RunState) -> Generator[Event, None, tuple[RoundParser, str]]:
    """Stream one round as events; returns its parser and the round's thinking text."""
    state.reprefill += conv.usage.context_tokens
    parser, thinking = state.dialect.new_parser(), list[str]()
    state.round_start = (state.phase.tokens["thinking"], state.phase.seconds["thinking"])
    gen = conv.generate(cancel=state.cancel)
    last_t, last_tokens = state.clock(), conv.usage.generated_tokens
    try:
        for chunk in gen:
            now = state.clock()
            if state.ttft is None and not (isinstance(conv, PrefixConversation) and conv.replaying):
                state.ttft = now - state.t0  # a fork's recorded text is no token of the model's
            kind = "answer" if parser.state == "answer" else "thinking"
            state.phase.tokens[kind] += conv.usage.generated_tokens - last_tokens
            state.phase.seconds[kind] += now - last_t
            last_t, last_tokens = now, conv.usage.generated_tokens
            for delta_kind, delta in parser.feed(encodable(chunk)):
                yield _delta(delta_kind, delta, state.answer, thinking)
        for delta_kind, delta in parser.close():
            yield _delta(delta_kind, delta, state.answer, thinking)
    finally:
        gen.close()
    return parser, "".join(thinking)


def _delta(kind: str, text: str, answer: list[str], thinking: list[str]) -> Event:
    if kind == "answer":
        answer.append(text)
        return Answer(text=text)
    thinking.append(text)
    return Thinking(text=text)


def _retry_without_action(conv: Conversation, state: RunState, *, tool_less: bool) -> RoundOutcome | None:
    """The dialect's own retry when a round ended with neither a search nor an answer. In the
    last round there is no retry: the rounds are spent, and a note no round reads is no note."""
    no_action = state.dialect.notes.no_action
    if no_action is None or state.answer or state.finish == "tool_call":
        return None
    if tool_less:
        return RoundOutcome("rounds_out")
    conv.add_tool_result(no_action)
    return RoundOutcome("retried", refused=RefusedCall(reason="malformed", detail="neither a search nor an answer"))


def _promote_thinking(parser: RoundParser, thinking: str, state: RunState) -> Iterator[Event]:
    """QwQ ended without ``</think>``: its reasoning is all the answer there is."""
    if state.dialect.promote_unclosed_thinking and not parser.saw_think_close and not state.answer and thinking:
        promoted = thinking.strip()
        state.answer.append(promoted)
        # The round's tokens were counted as thinking while they streamed: they are the answer's.
        tokens, seconds = (state.phase.tokens["thinking"] - state.round_start[0],
                           state.phase.seconds["thinking"] - state.round_start[1])
        state.phase.tokens["thinking"] -= tokens
        state.phase.tokens["answer"] += tokens
        state.phase.seconds["thinking"] -= seconds
        state.phase.seconds["answer"] += seconds
        yield Answer(text=promoted)
