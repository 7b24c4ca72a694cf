"""An LLM judge: grades an answer correct or incorrect against the golden answers.

EM misses right answers phrased differently ("330 m" vs "330 metres"); a judge
model reads them as a person would. It runs on any OpenAI-compatible chat
server (``--judge-base-url``, ``--judge-model``) through ``agent/judge.py``, the
connection the claims judge shares; its verdict is reported beside
EM, never instead of it. A reasoning judge may think first: only the text after
its last ``</think>`` counts.
"""

from __future__ import annotations

import re
from typing import Sequence

from ..judge import JudgeError
from ..judge import OpenAIJudge as JudgeConnection
from .results import Verdict

JUDGE_PROMPT = """You grade answers to questions against reference answers.

Question: {question}
Reference answer(s): {golden}
Answer to grade: {answer}

The answer is CORRECT if it states the same thing as any reference answer (wording, units, \
spelling, extra context and hedging do not matter), and INCORRECT if it contradicts them, \
gives a different answer, or gives no answer. Reply with one word: CORRECT or INCORRECT."""

# The verdict opens the reply ("CORRECT", "**Incorrect.** The answer ..."), or is a line of its own
# ("Verdict: CORRECT"); any other place is prose ("... is not CORRECT"), never a verdict.
_OPENING = re.compile(r"^[\W_]*(INCORRECT|CORRECT)\b", re.I)
_ALONE = re.compile(r"^[\W_]*(?:verdict|grade|answer)?[\W_]*(INCORRECT|CORRECT)[\W_]*$", re.I | re.M)


class OpenAIJudge(JudgeConnection):
    """Grades answers through the judge connection the claims judge shares (``agent/judge.py``)."""

    def grade(self, *, question: str, golden_answers: Sequence[str], answer: str) -> Verdict:
        prompt = JUDGE_PROMPT.format(question=question, golden=" | ".join(golden_answers), answer=answer)
        return parse_verdict(self.complete(prompt))


def parse_verdict(text: str) -> Verdict:
    """The verdict after any thinking: the word the reply opens with, else the one line that is
    only a verdict. ``JudgeError`` when there is none, or two disagree ("CORRECT\nINCORRECT":
    the opening word and a verdict line): "INCORRECT. The answer is not CORRECT." is incorrect
    (a last-match rule read it as correct)."""
    tail = text.rsplit("</think>", 1)[-1].strip()
    opening = _OPENING.match(tail)
    found = ([opening.group(1)] if opening else []) + _ALONE.findall(tail)
    verdicts = {word.upper() for word in found}
    if len(verdicts) != 1:
        raise JudgeError(f"the judge gave no one-word verdict (CORRECT or INCORRECT): {tail[:200]!r}")
    return "correct" if verdicts.pop() == "CORRECT" else "incorrect"
