"""How a run ended is one value, ``Done.end``: the engine sets it, an old trace infers it, and
the UI reads it (never the stats flags)."""

import threading

import pytest

from agent.events import Done, RefusedCall, RunStats, infer_end
from tests.engine_helpers import FakeProvider, answer, call, done_of, result, run_script


def _cancelled() -> threading.Event:
    cancel = threading.Event()
    cancel.set()
    return cancel


ENDINGS = [
    ("answered", lambda: run_script([call("q"), answer("It is [1].")], {"q": [result(1)]})),
    ("rounds_exhausted", lambda: run_script([call(f"q{i}") for i in range(1, 8)], max_searches=2, max_rounds=6)),
    ("token_limit", lambda: run_script(["x" * 200 + call("q")], max_new_tokens=60)),
    ("context_full", lambda: run_script([], context_limit=100, answer_reserve_tokens=10)),
    ("stopped", lambda: run_script([], cancel=_cancelled())),
    ("no_answer", lambda: run_script(["only thinking</think>\n\n"])),
]


@pytest.mark.parametrize("end,script", ENDINGS, ids=[e for e, _ in ENDINGS])
def test_a_version_1_trace_infers_the_end_the_engine_gave(end, script):
    """A v1 trace recorded no ``end``; what it recorded (answer, stopped, stats) gives the same one."""
    events, _ = script()
    done = done_of(events)
    assert done.end == end
    assert infer_end(answer=done.answer, stopped=done.stopped, stats=done.stats) == end


def test_the_round_limit_without_an_answer_is_inferred_from_the_refused_last_call():
    stats = RunStats(rounds=7, finish="tool_call", refused_calls=(RefusedCall(reason="rounds", query="q"),))
    assert infer_end(answer="", stopped=False, stats=stats) == "rounds_exhausted"
    # A round-limit refusal the model then answered after is an answer.
    assert infer_end(answer="It is 5.", stopped=False, stats=stats) == "answered"


def test_the_stats_panel_notes_follow_the_end_not_the_flags():
    from ui.stats import format_stats

    # The flags a v1 trace or an odd recording may carry disagree with the end: the end wins.
    done = Done(answer="", end="context_full", stats=RunStats(finish="context", truncated=True))
    text = format_stats(done)
    assert "cut off: context full" in text and "token limit" not in text
    done = Done(answer="partial", end="token_limit", stats=RunStats(finish="length", truncated=True))
    assert "cut off at the token limit" in format_stats(done)
    assert "notes" not in format_stats(Done(answer="It is.", end="answered", stats=RunStats()))


def test_the_provider_was_never_asked_for_a_refused_call():
    provider = FakeProvider({f"q{i}": [result(i)] for i in range(1, 8)})
    events, _ = run_script([call(f"q{i}") for i in range(1, 8)], providers=[provider], max_searches=2,
                           max_rounds=6)
    assert provider.calls == ["q1", "q2"]
    assert [c.query for c in done_of(events).stats.refused_calls] == ["q3", "q4", "q5", "q6", "q7"]


def test_a_strict_script_with_rounds_left_over_fails_the_test_that_forgot_them():
    from agent.backends.scripted import ScriptLeftOver

    with pytest.raises(ScriptLeftOver, match="1 scripted round\\(s\\) unplayed: 'Enough.*never asked"):
        run_script([answer("It is."), answer("never asked for")])
    events, conv = run_script([answer("It is."), answer("never asked for")], left_over=1)
    assert done_of(events).answer == "It is." and conv.unplayed == (answer("never asked for"),)
