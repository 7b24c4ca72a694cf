"""The run's claims check: lexical by default, off when asked, the judge after the answer."""

import json

from agent.events import Done, Error
from agent.judge import JudgeError, OpenAIJudge
from tests.engine_helpers import answer, call, done_of, result, run_script

TABLE = {"tower": [result(1, content="The Eiffel Tower is 330 metres tall.")]}
SCRIPT = [call("tower"), answer("The Eiffel Tower is 330 m tall [1]. It is 300 m tall [1]. Lovely.")]
JUDGE = {"check_claims": "judge", "judge_base_url": "http://127.0.0.1:9/v1", "judge_model": "judge"}


def test_every_run_is_checked_lexically_by_default_and_not_when_off():
    done = done_of(run_script(SCRIPT, TABLE)[0])
    assert [c.verdict for c in done.claims] == ["supported", "not_supported", "uncited"]
    assert done.sources[0].snippet == "The Eiffel Tower is 330 metres tall."
    assert done_of(run_script(SCRIPT, TABLE, check_claims="off")[0]).claims is None


def test_the_judge_runs_after_the_answer(monkeypatch):
    def complete(self, prompt, *, schema=None):
        token = prompt.split('"batch": "', 1)[1].split('"', 1)[0]
        return json.dumps({"batch": token, "verdicts": [{"claim": 1, "verdict": "partly"}]})
    monkeypatch.setattr(OpenAIJudge, "complete", complete)
    events, _ = run_script(SCRIPT, TABLE, **JUDGE)
    done = done_of(events)
    assert [(c.verdict, c.layer) for c in done.claims] == [
        ("partly", "judge"), ("not_supported", "lexical"), ("uncited", "lexical")]
    assert not any(isinstance(e, Error) for e in events)


def test_a_judge_that_times_out_leaves_the_answer_and_says_so(monkeypatch):
    def complete(self, prompt, *, schema=None):
        raise JudgeError("the judge at 'http://127.0.0.1:9/v1/' failed: Request timed out.")
    monkeypatch.setattr(OpenAIJudge, "complete", complete)
    events, _ = run_script(SCRIPT, TABLE, **JUDGE)
    done = done_of(events)
    assert isinstance(events[-1], Done) and done.answer.startswith("The Eiffel Tower is 330 m tall")
    errors = [e.message for e in events if isinstance(e, Error)]
    assert len(errors) == 1 and "could not run" in errors[0] and "timed out" in errors[0]
    assert [c.layer for c in done.claims] == ["lexical"] * 3


def test_a_scripted_model_without_a_judge_server_stays_lexical():
    done = done_of(run_script(SCRIPT, TABLE, check_claims="judge")[0])
    assert [c.layer for c in done.claims] == ["lexical"] * 3
