"""Passages of one page or document, and the ones that matter for a question.

Cutting and ranking are the document index's own (agent/index): ``chunk_spans`` cuts a
text as the index cuts files, and tantivy's BM25 with the index's analyzer, CJK handling
and rule for dropping too-common words ranks the pieces, here in an in-memory index built
for the one text. Qwen-Agent's Lv1 reading does the same with ~300-token pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..index.passages import chunk_spans
from ..index.ranking import Ranking, body_of, informative_terms, terms_of

# About 300 tokens (Qwen-Agent's Lv1 chunks): ~225 English words.
READ_TARGET_WORDS = 225
READ_MAX_WORDS = 300
MAX_QUERY_TERMS = 64


@dataclass(frozen=True, kw_only=True)
class PassageSpan:
    """A passage of the extracted text: ``text == extracted[start:end]``."""

    text: str
    start: int
    end: int


def passages_of(text: str, *, target_words: int = READ_TARGET_WORDS, max_words: int = READ_MAX_WORDS,
                overlap_words: int = 0, breaks: tuple[int, ...] = ()) -> list[PassageSpan]:
    """``text`` cut into passages; none crosses an offset in ``breaks`` (where a PDF page starts)."""
    bounds = sorted({0, *(b for b in breaks if 0 < b < len(text)), len(text)})
    out: list[PassageSpan] = []
    for low, high in zip(bounds, bounds[1:]):
        out.extend(PassageSpan(text=text[low + s:low + e], start=low + s, end=low + e)
                   for s, e in chunk_spans(text[low:high], target_words=target_words, max_words=max_words,
                                           overlap_words=overlap_words))
    return out


def select(passages: list[PassageSpan], queries: list[str], *, k: int) -> list[PassageSpan]:
    """The ``k`` passages BM25 ranks best for ``queries`` (words of all of them), in the order
    they appear in the text. No matching word: the first ``k`` (the front of the page says
    what it is about, as Qwen-Agent falls back)."""
    if k < 1 or not passages:
        return []
    if len(passages) <= k:
        return list(passages)
    terms = list(dict.fromkeys(t for q in queries for t in terms_of(q)))[:MAX_QUERY_TERMS]
    ranking = Ranking(None, create=True)
    with ranking.write(passages=len(passages)) as batch:
        batch.add((i + 1, 1, body_of("", None, p.text)) for i, p in enumerate(passages))
        batch.commit(1)
    kept = informative_terms(ranking, terms) if terms else []
    ranked = ranking.search(kept, k=k) if kept else []
    if not ranked:
        return passages[:k]
    return [passages[i] for i in sorted(r.row - 1 for r in ranked)]
