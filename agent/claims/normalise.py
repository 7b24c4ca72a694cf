"""Text normalised for comparing a claim with a passage: case, width, quotes, dashes, spaces.

A model quoting a page writes “curly” quotes where the page has "straight" ones, an en dash
where it has a hyphen, a line break where it has a space; none of that changes what was
said, so all of it is folded before two texts are compared. Nothing else is: a quote that
differs by one word still differs.
"""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u300c": '"', "\u300d": '"', "\u300e": '"', "\u300f": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\ufe58": "-", "\ufe63": "-",
    "\u00ad": None, "\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None,
})
_SPACE = re.compile(r"\s+")

# Letters of the scripts written without spaces between words.
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def fold(text: str) -> str:
    """``text`` with width (NFKC), case, quote and dash forms and runs of space folded."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return _SPACE.sub(" ", text).strip()
