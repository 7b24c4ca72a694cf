"""What counts as a citation in model text: one pattern for the loop, the reports and the UI.

The system prompt asks for ``[3]`` or a group ``[1, 2]``; models also write
``[3](https://...)``, a Markdown link around the number. All three forms cite
the numbered sources; the link target the model wrote is dropped by every
renderer, which links the source's own URL instead. A number has at most four
digits (no conversation holds 10,000 sources), so a crafted ``[999…9]`` with
thousands of digits is plain text, never an ``int()`` past Python's digit limit.
"""

from __future__ import annotations

import re
from typing import Iterable

MAX_DIGITS = 4
# group 1: the numbers; group "link": the model's own ``(url)`` after the brackets, if any.
CITATION = re.compile(r"\[(\d{1,4}(?:\s*,\s*\d{1,4})*)\](?P<link>\([^()\s]*\))?")


def citation_numbers(match: re.Match[str]) -> list[int]:
    """The numbers of one ``CITATION`` match, in the order written."""
    return [int(part) for part in match.group(1).split(",")]


def cited_ids(answer: str, known: Iterable[int]) -> tuple[int, ...]:
    """Ids cited in ``answer`` that exist in ``known``, in order of first citation."""
    known_set, seen = set(known), []
    for match in CITATION.finditer(answer):
        for n in citation_numbers(match):
            if n in known_set and n not in seen:
                seen.append(n)
    return tuple(seen)


def without_link_targets(text: str) -> str:
    """``[3](https://...)`` written as ``[3]``: a citation links the source's own URL, never the model's."""
    return CITATION.sub(lambda m: m.group(0) if m.group("link") is None else f"[{m.group(1)}]", text)
