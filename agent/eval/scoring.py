"""Answer-quality metrics, exactly as the papers compute them.

Normalisation, EM and F1 follow HotpotQA's official ``hotpot_evaluate_v1.py``
(F1 with its yes/no/noanswer rule); subEM follows Search-R1's
``verl/utils/reward_score/qa_em.py`` (a normalised golden answer inside the
normalised prediction). Each metric is the maximum over the golden answers,
as both scripts take it. Citation markers ``[n]`` are removed first: they are
our answer format, not part of any answer.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from ..text.citations import CITATION

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)
_SPECIAL = ("yes", "no", "noanswer")


@dataclass(frozen=True)
class Scores:
    em: float
    f1: float
    subem: float


def normalize_answer(text: str) -> str:
    """Lower-case, strip punctuation, drop articles, collapse whitespace (the scripts' order)."""
    lowered = text.lower()
    no_punc = "".join(ch for ch in lowered if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", no_punc).split())


def strip_citations(text: str) -> str:
    return CITATION.sub("", text)


def exact_match(prediction: str, golden: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(golden))


def sub_exact_match(prediction: str, golden: str) -> float:
    return float(normalize_answer(golden) in normalize_answer(prediction))


def f1_score(prediction: str, golden: str) -> float:
    pred, gold = normalize_answer(prediction), normalize_answer(golden)
    if (pred in _SPECIAL or gold in _SPECIAL) and pred != gold:
        return 0.0
    pred_tokens, gold_tokens = pred.split(), gold.split()
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred_tokens), common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def score(prediction: str, golden_answers: Sequence[str]) -> Scores:
    """EM, F1 and subEM of ``prediction``, each maxed over ``golden_answers``."""
    if not golden_answers:
        raise ValueError("score() needs at least one golden answer, got none")
    pred = strip_citations(prediction)
    return Scores(
        em=max(exact_match(pred, g) for g in golden_answers),
        f1=max(f1_score(pred, g) for g in golden_answers),
        subem=max(sub_exact_match(pred, g) for g in golden_answers),
    )
