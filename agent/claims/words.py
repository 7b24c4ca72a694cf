"""The words of a claim that carry its meaning, compared with a passage's.

Content words are compared by their first four letters ("designed" meets "designer",
"passes" meets "passengers", "built" does not meet "building": a paraphrase keeps most
words, a sentence about something else keeps few). Scripts written without spaces
(Chinese, Japanese, Korean) are compared by character pairs. Names (a capitalised word
inside the sentence) and negations are read apart: a passage that names another city, or
says the opposite, fails where word overlap may not.
"""

from __future__ import annotations

import re

from .normalise import CJK, fold
from .numbers import SCALE_WORDS, UNIT_WORDS

_LATIN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
_NAME = re.compile(r"(?<![\w'’])([A-ZÀ-ÖØ-Þ][\w'’-]*[\w])")
STEM = 4

_STOP_BY_LANGUAGE = {
    "en": """a about above after again against all also am an and any are as at be because been before
        being below between both but by can could did do does doing down during each few for from
        further had has have having he her here hers him his how i if in into is it its just me more
        most my of off on once only or other our out over own same she should so some such than that
        the their them then there these they this those through to too under until up very was we
        were what when where which while who whom why will with would you your many much several
        according per via among around one first new later well known called made make including
        include includes included used use since however although though still yet like""",
    "de": "der die das und ist ein eine den dem des mit von zu im auf für als auch sich es wird wurde",
    "fr": "le la les et est un une des du en au aux pour par avec que qui dans sur son sa ses",
    "es": "el los las y es un una del en por con para que se su al lo como",
    "it": "il lo gli e di da che per con una uno",
}
_STOP_WORDS = {lang: frozenset(words.split()) for lang, words in _STOP_BY_LANGUAGE.items()}
_STOP = frozenset().union(*_STOP_WORDS.values())
# Words that are part of an amount ("million", "metres") are compared as numbers, not as words.
_NOT_CONTENT = _STOP | SCALE_WORDS | UNIT_WORDS
_NEGATION = frozenset("""
not no never none nothing nobody neither nor without cannot can't won't don't doesn't didn't
isn't aren't wasn't weren't hasn't haven't hadn't couldn't shouldn't wouldn't nicht kein keine
keinen nie niemals pas jamais aucun aucune nunca ningún ninguna tampoco non mai
""".split())
_CJK_NEGATION = re.compile("[不没沒未无無非別别]|ない|ません|않|못")


def content_words(folded: str) -> set[str]:
    """Stems of the meaningful words of folded text, and CJK character pairs."""
    words = {w[:STEM] for w in _LATIN.findall(folded) if len(w) > 2 and w not in _NOT_CONTENT and not CJK.match(w)}
    for run in _CJK_RUN.findall(folded):
        words.update(run[i:i + 2] for i in range(max(1, len(run) - 1)))
    return words


def language(folded: str) -> str | None:
    """"cjk", or the Latin-script language whose common words the text uses most (None when
    it uses too few to tell): comparing words across languages would find none in common."""
    if CJK.search(folded):
        return "cjk"
    words = _LATIN.findall(folded)
    counts = {lang: sum(w in stop for w in words) for lang, stop in _STOP_WORDS.items()}
    best = max(counts, key=counts.__getitem__)
    ranked = sorted(counts.values(), reverse=True)
    return best if ranked[0] >= 2 and ranked[0] >= 2 * ranked[1] else None


def names(claim: str) -> list[str]:
    """Capitalised words that are not the sentence's first: the names a claim is about."""
    found = []
    for match in _NAME.finditer(claim):
        before = claim[:match.start()].rstrip()
        if not before or before[-1] in ".:!?\"“«„「(*#-–—" or match.group(1).isupper() and len(match.group(1)) < 2:
            continue
        word = fold(match.group(1))
        if word not in _STOP and len(word) > 1:
            found.append(match.group(1))
    return found


_CAPITALISED_RUN = re.compile(r"(?:\b[A-Z][\w'’-]*\s+(?:of\s+|the\s+|and\s+)?)+[A-Z][\w'’-]*")


def acronyms(text: str) -> set[str]:
    """Initials of the capitalised names in ``text`` ("International Space Station" -> "iss"),
    so a claim may name it as the page spells it out."""
    return {"".join(w[0] for w in run.split() if w[0].isupper() and w != "The").casefold()
            for run in _CAPITALISED_RUN.findall(text)}


def negated(folded: str) -> bool:
    """Whether folded text says "not" in one of the languages the checker reads."""
    if _CJK_NEGATION.search(folded):
        return True
    return any(w in _NEGATION or w.endswith("n't") for w in _LATIN.findall(folded))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^a-z\s])|(?<=[。！？])|\n+")


def passage_sentences(text: str) -> list[tuple[int, int]]:
    """Rough sentence spans of a passage (for choosing the closest one as evidence)."""
    spans, begin = [], 0
    for match in _SENTENCE_END.finditer(text):
        if text[begin:match.start()].strip():
            spans.append((begin, match.start()))
        begin = match.end()
    if text[begin:].strip():
        spans.append((begin, len(text)))
    return spans
