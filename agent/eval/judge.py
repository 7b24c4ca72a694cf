"""An LLM judge: grades an answer correct or incorrect against the golden answers.

EM misses right answers phrased differently ("330 m" vs "330 metres"); a judge
model reads them as a person would. It runs on any OpenAI-compatible chat
server (``--judge-base-url``, ``--judge-model``); its verdict is reported beside
EM, never instead of it. A reasoning judge may think first: only the text after
its last ``</think>`` counts.
"""

from __future__ import annotations

import re
from typing import Sequence

import openai

from ..config import redact
from .one import JudgeError
from .results import Verdict

JUDGE_PROMPT = """You grade answers to questions against reference answers.

Question: {question}
Reference answer(s): {golden}
Answer to grade: {answer}

The answer is CORRECT if it states the same thing as any reference answer (wording, units, \
spelling, extra context and hedging do not matter), and INCORRECT if it contradicts them, \
gives a different answer, or gives no answer. Reply with one word: CORRECT or INCORRECT."""

_VERDICT = re.compile(r"\b(INCORRECT|CORRECT)\b", re.I)


class OpenAIJudge:
    def __init__(self, *, base_url: str, model: str, api_key: str | None = None, timeout_s: float = 60.0,
                 client: openai.OpenAI | None = None) -> None:
        self.model = model
        self._secrets = (api_key,)
        self._client = client or openai.OpenAI(base_url=base_url, api_key=api_key or "EMPTY",
                                               timeout=timeout_s, max_retries=2)

    def grade(self, *, question: str, golden_answers: Sequence[str], answer: str) -> Verdict:
        prompt = JUDGE_PROMPT.format(question=question, golden=" | ".join(golden_answers), answer=answer)
        try:
            reply = self._client.chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": prompt}], temperature=0.0,
            )
        except openai.OpenAIError as exc:
            raise JudgeError(redact(f"the judge at {str(self._client.base_url)!r} failed: {exc}",
                                    self._secrets)) from None
        text = (reply.choices[0].message.content or "") if reply.choices else ""
        return parse_verdict(text)


def parse_verdict(text: str) -> Verdict:
    """The last CORRECT/INCORRECT after any thinking; ``JudgeError`` when there is none."""
    tail = text.rsplit("</think>", 1)[-1]
    found = _VERDICT.findall(tail)
    if not found:
        raise JudgeError(f"the judge replied neither CORRECT nor INCORRECT: {tail.strip()[:200]!r}")
    return "correct" if found[-1].upper() == "CORRECT" else "incorrect"
