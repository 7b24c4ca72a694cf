"""The lexical check: what a cited sentence states must be written in the passages it cites.

Free and instant, and a pure function of the answer and its sources, so a replayed trace gets
the same verdicts. It fails a sentence when the cited passages lack something it states:

- a quotation (“…”, "…", 「…」), after folding case, spaces, quote and dash forms;
- a number, percentage, amount, unit or date, in any equivalent spelling (``numbers``);
- a name (a capitalised word inside the sentence);
- most of its content words (a citation to a page about something else);
- its polarity: "not" in the claim but not in the closest passage sentence, or the reverse.

A citation to a number that is no source fails too. A sentence without citations is counted
as ``uncited``, not failed. Anything it cannot read (a paraphrase that keeps the facts) it
passes: the judge layer reads meaning; this one only catches what can be seen.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from ..text.citations import display_numbering
from .normalise import fold
from .numbers import read
from .record import Claim, Evidence, Verdict
from .sentences import Sentence, split
from .sources import CheckSource, Prepared, check_source, prepare
from .words import STEM, content_words, language, names, negated

_QUOTED = re.compile(r'"([^"]+)"')
_ELLIPSIS = re.compile(r"\.\.\.|…|\[\.\.\.\]")
# Below this share of a sentence's content words in its passages, the passage is about something else.
MIN_OVERLAP = 0.3
SNIPPET_NOTE = "checked against the snippet only"


def check_answer(answer: str, sources: Iterable[Any], *,
                 numbers: Mapping[int, int] | None = None) -> list[Claim]:
    """One ``Claim`` per sentence of ``answer`` (see ``sentences``): ``uncited``, or the lexical
    verdict against the passages of the sources it cites. ``sources`` are ``SourceRef``s, their
    JSON objects or ``CheckSource``s; ``numbers`` the display numbers notes use (derived from
    the answer when not given)."""
    by_id = {s.id: s for s in (s if isinstance(s, CheckSource) else check_source(s) for s in sources)}
    shown = dict(numbers) if numbers is not None else display_numbering(answer, by_id)
    cache: dict[int, list[Prepared]] = {}
    return [check_sentence(sentence, by_id, shown, cache) for sentence in split(answer)]


def label(ids: Iterable[int], shown: Mapping[int, int]) -> str:
    """Citations as a person sees them: ``[2, 3]``; an id with no display number as ``7?``."""
    return "[" + ", ".join(str(shown[i]) if i in shown else f"{i}?" for i in ids) + "]"


def check_sentence(sentence: Sentence, by_id: Mapping[int, CheckSource], shown: Mapping[int, int],
                   cache: dict[int, list[Prepared]]) -> Claim:
    ids = tuple(n for n in sentence.numbers if n in by_id)
    def claim(verdict: Verdict, note: str, evidence: Evidence | None = None) -> Claim:
        return Claim(sentence=sentence.text, ids=ids, verdict=verdict, layer="lexical", evidence=evidence, note=note)
    if not sentence.numbers:
        return claim("uncited", "No citation")
    invalid = [n for n in sentence.numbers if n not in by_id]
    if invalid:
        return claim("not_supported", f"{label(invalid, {})} is not a source of this answer")
    passages = [p for i in ids for p in cache.setdefault(i, prepare(by_id[i]))]
    cited = label(ids, shown)
    if not passages:
        return claim("not_supported", f"Nothing of {cited} was recorded to check against")
    folded = fold(sentence.claim)
    words = content_words(folded)
    evidence = closest(words, passages)
    problem = missing(sentence.claim, folded, words, passages, evidence)
    snippet = any(by_id[i].snippet_only for i in ids)
    suffix = f" ({SNIPPET_NOTE})" if snippet else ""
    found = None if evidence is None else _evidence(evidence)
    if problem is None:
        return claim("supported", f"Found in {cited}{suffix}", found)
    return claim("not_supported", f"Not found in {cited}: {problem}{suffix}", found)


def missing(claim: str, folded: str, words: set[str],
            passages: list[Prepared], evidence: tuple[Prepared, int] | None) -> str | None:
    """What of the claim the passages lack, in words for people; None when nothing is."""
    for quote in _QUOTED.findall(folded):
        if not _quote_found(quote, passages):
            return f"the quotation “{quote.strip()}”"
    figures = read(folded, claim=True)
    for day in figures.dates:
        if not any(day.found_in(other) for p in passages for other in p.figures.dates):
            return f"the date “{day.text}”"
    for quantity in figures.quantities:
        if not any(quantity.found_in(other) for p in passages for other in p.figures.quantities):
            return f"the number “{quantity.text}”"
    for name in figures.identifiers:
        if not any(name in p.folded for p in passages):
            return f"“{name}”"
    mine = language(folded)
    if mine is not None and all(language(p.folded) not in (None, mine) for p in passages):
        return None  # another language: words cannot be compared, figures and quotes were
    for name in names(claim):
        stem = fold(name)
        if not any(stem[:STEM] in p.words or stem in p.folded or stem in p.title or stem in p.acronyms
                   for p in passages):
            return f"the name “{name}”"
    every = frozenset().union(*(p.words for p in passages))
    if len(words) >= 3 and len(words & every) < MIN_OVERLAP * len(words):
        return "most of this sentence's words"
    if evidence is not None and len(words) >= 2:
        span = evidence[0].sentences[evidence[1]]
        if negated(folded) != span.negated:
            return "the same statement (one of them says “not”)"
    return None


def _quote_found(quote: str, passages: list[Prepared]) -> bool:
    parts = [p.strip(" .,;:!?'-") for p in _ELLIPSIS.split(quote)]
    parts = [p for p in parts if p]
    return not parts or any(all(part in p.folded for part in parts) for p in passages)


def closest(words: set[str], passages: list[Prepared]) -> tuple[Prepared, int] | None:
    """The passage sentence sharing most content words with the claim (the first on a tie)."""
    best, best_score = None, -1
    for passage in passages:
        for index, span in enumerate(passage.sentences):
            score = len(words & span.words)
            if score > best_score:
                best, best_score = (passage, index), score
    return best


def _evidence(found: tuple[Prepared, int]) -> Evidence:
    passage, index = found
    span = passage.sentences[index]
    start = passage.passage.start + span.start
    return Evidence(id=passage.source.id, text=passage.passage.text[span.start:span.end].strip(),
                    start=start, end=start + len(passage.passage.text[span.start:span.end].rstrip()))
