"""ALCE-style citation metrics of one answer, from the lexical layer (Gao et al., 2023, ``eval.py``).

- ``citation_recall``: the share of cited sentences whose cited passages, together, support
  them (ALCE also counts uncited sentences as 0; they are reported apart here, in
  ``uncited_sentences``, as the issue asks).
- ``citation_precision``: the share of citations that are relevant: the citation alone supports
  its sentence, or the sentence is supported with it and not without it. ALCE's rule: a
  citation is irrelevant when the full set supports the sentence, it alone does not, and the
  others still do without it; a citation of a sentence its full set does not support is not
  relevant either.
- ``supported_claim_rate``: supported sentences over all sentences, cited or not (RAGAS
  faithfulness' ratio).

Each is None when it has nothing to count (no cited sentence, no citation, no sentence).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, TypedDict

from ..text.citations import display_numbering
from .lexical import check_sentence
from .sentences import Sentence, split
from .sources import CheckSource, Prepared, check_source

METRICS = ("citation_recall", "citation_precision", "supported_claim_rate", "uncited_sentences")


class CitationMetrics(TypedDict):
    citation_recall: float | None
    citation_precision: float | None
    supported_claim_rate: float | None
    uncited_sentences: int


def citation_metrics(answer: str, sources: Iterable[Any]) -> CitationMetrics:
    by_id = {s.id: s for s in (s if isinstance(s, CheckSource) else check_source(s) for s in sources)}
    shown = display_numbering(answer, by_id)
    cache: dict[int, list[Prepared]] = {}

    def supported(sentence: Sentence, ids: tuple[int, ...]) -> bool:
        return bool(ids) and check_sentence(replace(sentence, numbers=ids), by_id, shown, cache).verdict == "supported"

    sentences = split(answer)
    cited = [s for s in sentences if s.numbers]
    recall_hits = relevant = citations = 0
    for sentence in cited:
        whole = supported(sentence, sentence.numbers)
        recall_hits += whole
        for n in sentence.numbers:
            citations += 1
            rest = tuple(m for m in sentence.numbers if m != n)
            alone = whole if not rest else supported(sentence, (n,))
            relevant += alone or (whole and not supported(sentence, rest))
    return {
        "citation_recall": round(recall_hits / len(cited), 6) if cited else None,
        "citation_precision": round(relevant / citations, 6) if citations else None,
        "supported_claim_rate": round(recall_hits / len(sentences), 6) if sentences else None,
        "uncited_sentences": len(sentences) - len(cited),
    }
