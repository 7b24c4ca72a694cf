"""Issues 25.16 and 25.22: how a run that spends its rounds ends. A search-r1 run that spends
every round on invalid actions is rounds_exhausted, with no refusal the model never reads; a
call refused at the round limit is recorded once."""

from __future__ import annotations

from tests.engine_helpers import call, done_of, run_script

INVALID = "<think>Hmm, let me think about it some more.</think>\nStill thinking."


def test_invalid_actions_in_every_round_end_rounds_exhausted() -> None:
    events, conv = run_script([INVALID] * 4, dialect="search-r1", max_rounds=3)
    done = done_of(events)
    assert done.end == "rounds_exhausted"
    # Rounds 1-3 are told their action was invalid and get another; the 4th, tool-less, is not.
    assert [r.reason for r in done.stats.refused_calls] == ["malformed"] * 3
    assert done.stats.bad_calls == 3
    assert conv.transcript().rstrip().endswith("Still thinking.")


def test_a_call_refused_at_the_round_limit_is_recorded_once() -> None:
    """7 scripted calls, --max-searches 2, DEEPSEARCH_MAX_ROUNDS=6 (issue 22's reproduction)."""
    events, _ = run_script([call(f"q{i}") for i in range(7)], max_searches=2, max_rounds=6)
    refused = [(r.reason, r.query) for r in done_of(events).stats.refused_calls]
    assert refused.count(("rounds", "q6")) == 1, refused
    assert len(refused) == len(set(refused)), refused
    assert done_of(events).end == "rounds_exhausted"
