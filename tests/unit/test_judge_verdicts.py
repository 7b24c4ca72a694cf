"""Issue 25.20: the judge's verdict is read strictly, and a reply of the wrong shape is that
question's judge error, never a crash of the eval."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agent.eval.judge import OpenAIJudge, parse_verdict
from agent.eval.one import JudgeError


@pytest.mark.parametrize(("reply", "verdict"), [
    ("CORRECT", "correct"), ("INCORRECT", "incorrect"), ("correct.", "correct"),
    ("INCORRECT. The answer is not CORRECT.", "incorrect"),
    ("CORRECT. It is not INCORRECT to round.", "correct"),
    ("**Incorrect** - the reference says 330 m.", "incorrect"),
    ("<think>Is it CORRECT? Maybe INCORRECT.</think>\n\nCORRECT", "correct"),
    ("The reference says 330 m and so does the answer.\nVerdict: CORRECT", "correct"),
    ("Looking at it closely.\n\nINCORRECT", "incorrect"),
])
def test_the_verdict_is_the_opening_word_or_a_line_of_its_own(reply: str, verdict: str) -> None:
    assert parse_verdict(reply) == verdict


@pytest.mark.parametrize("reply", [
    "", "Maybe.", "The answer is not CORRECT.", "It is CORRECT or INCORRECT, hard to say.",
    "Hmm.\nCORRECT\nINCORRECT", "The answer is INCORRECTLY phrased",
    "Correct\nIncorrect", "INCORRECT. On reflection:\n\n**CORRECT**",  # the opening word and a verdict line disagree
])
def test_no_clear_verdict_is_a_judge_error(reply: str) -> None:
    with pytest.raises(JudgeError):
        parse_verdict(reply)


class Replying:
    """A stand-in client whose chat.completions.create returns ``reply`` (or raises it)."""

    base_url = "http://127.0.0.1:1/v1"

    def __init__(self, reply: object) -> None:
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))
        self._reply = reply

    def _create(self, **_kw: object) -> object:
        if isinstance(self._reply, Exception):
            raise self._reply
        return self._reply


@pytest.mark.parametrize("reply", [
    SimpleNamespace(choices=[SimpleNamespace(message=None)]),
    SimpleNamespace(choices="CORRECT"),
    SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=None))]),
    SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=["CORRECT"]))]),
    SimpleNamespace(choices=[]),
    SimpleNamespace(),
    ValueError("Expecting value: line 1 column 1 (char 0)"),  # a body that is not JSON
])
def test_a_garbled_reply_is_a_judge_error(reply: object) -> None:
    judge = OpenAIJudge(base_url="http://127.0.0.1:1/v1", model="m", client=Replying(reply))
    with pytest.raises(JudgeError):
        judge.grade(question="q", golden_answers=["a"], answer="a")
