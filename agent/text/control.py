"""Control, bidi and separator characters: each class defined once, composed by every place
that makes untrusted text safe for its own medium (a terminal, a JSON line, a shown URL, a
one-line label, text from the web).

Why each class is dangerous: C0/C1 controls move the cursor, ring, erase or start escape
sequences on terminals; bidi controls reorder what is shown (``evil\\u202etxt.exe``); U+2028,
U+2029 and U+0085 break lines for ``str.splitlines`` and many JSONL readers although JSON
leaves them raw; a BOM is invisible; lone surrogates cannot be encoded.
"""

from __future__ import annotations

import re
import unicodedata

C0 = "\x00-\x1f"  # every C0 control, tab, newline and carriage return included
C0_BUT_TAB_NEWLINE = "\x00-\x08\x0b-\x1f"
C0_BUT_WHITESPACE = "\x00-\x08\x0b\x0c\x0e-\x1f"  # keeps tab, newline, carriage return
C1 = "\x7f-\x9f"  # DEL and the C1 controls (U+0085 NEL among them)
BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # ALM, LRM, RLM, LRE..RLO, LRI..PDI
LINE_SEPARATORS = "\u2028\u2029"
BOM = "\ufeff"
SURROGATES = "\ud800-\udfff"
NONCHARACTERS = "\ufffe\uffff"
# Whitespace other than a plain space, and invisible format characters between the bidi ones.
WIDE_SPACES = "\u00a0\u1680\u180e\u2000-\u200d\u202f\u205f-\u2065\u206a-\u206f\u3000"


def chars(*classes: str) -> re.Pattern[str]:
    """One character of any of ``classes``."""
    return re.compile("[" + "".join(classes) + "]")


# What each medium removes, escapes or replaces.
TERMINAL_UNSAFE = chars(C0_BUT_TAB_NEWLINE, C1, BIDI)  # removed before a terminal prints text
JSON_UNSAFE = chars(C1, LINE_SEPARATORS, BIDI)  # \u-escaped in a JSON line (JSON leaves them raw)
SHOWN_URL_UNSAFE = chars(C0, C1, BIDI, LINE_SEPARATORS, BOM)  # made visible as \uXXXX in a shown URL
LINK_URL_UNSAFE = chars(C0, C1, WIDE_SPACES, BIDI, LINE_SEPARATORS, BOM)  # a URL holding one is no link
ONE_LINE_UNSAFE = chars(C0, C1, BIDI, LINE_SEPARATORS)  # a title or label on one line: a space each
WEB_TEXT_UNSAFE = chars(C0_BUT_WHITESPACE, C1, SURROGATES, NONCHARACTERS)  # text from the web: a space each


def one_line(text: object) -> str:
    """``text`` on one line: every control, bidi or separator character a space, runs of
    whitespace one space, stripped."""
    return " ".join(ONE_LINE_UNSAFE.sub(" ", str(text)).split())


def visible_line(text: object) -> str:
    """``text`` on one line of visible characters only: every character of Unicode's C (control,
    format, surrogate, private use, unassigned) and Z (separator) categories a space, runs of
    whitespace one space, stripped. For text kept and shown later out of its context (a saved
    conversation's title), where even an invisible format character is a way to mislead."""
    return " ".join("".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in str(text)).split())
