"""What counts as a citation in model text: one pattern for the loop, the reports and the UI.

The system prompt asks for ``[3]`` or a group ``[1, 2]``; models also write
``[3](https://...)``, a Markdown link around the number. All three forms cite
the numbered sources; the link target the model wrote is dropped by every
renderer, which links the source's own URL instead. A number has at most four
digits (no conversation holds 10,000 sources), so a crafted ``[999…9]`` with
thousands of digits is plain text, never an ``int()`` past Python's digit limit.

The numbers a person sees are not the model's: see ``display_numbering``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from .markdown_code import outside_code

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


# --------------------------------------------------------------------------- display numbers
#
# The engine's ids are the model's handles: the model reads them in its tool results and cites
# them, and ``done.cited`` and ``search_done`` keep them. A person sees other numbers: each
# answer's sources numbered from 1 in order of first citation in the answer, then the sources it
# did not cite. These two functions are the only place that order is decided; every renderer
# (chat, reports, terminal) asks them.


def display_numbering(answer: str, handles: Iterable[int], *, taken: Mapping[int, int] | None = None,
                      uncited: bool = True) -> dict[int, int]:
    """handle -> the number a person sees, for one answer whose sources have ``handles``.

    The first source cited in ``answer`` is 1, the next newly cited one 2, and so on, counting
    citations as ``cited_ids`` (and so ``done.cited``) does: groups ``[1, 2]`` in the order
    written and ``[n](url)``. With ``uncited`` the sources never cited follow, in handle order.
    A cited number that is no handle gets no number: it stays an invalid citation.

    ``taken`` are numbers already on screen while an answer streams: they are kept, and new
    handles get the numbers after them, so nothing shown is ever renumbered.
    """
    if not isinstance(answer, str):
        raise TypeError(f"the answer to number citations in must be text, got {answer!r}")
    known = _handles(handles)
    numbers = _taken(taken)
    for handle in cited_ids(answer, known):
        numbers.setdefault(handle, len(numbers) + 1)
    if uncited:
        for handle in sorted(known):
            numbers.setdefault(handle, len(numbers) + 1)
    return numbers


def _handles(handles: Iterable[int]) -> set[int]:
    known = set()
    for handle in handles:
        if isinstance(handle, bool) or not isinstance(handle, int):
            raise TypeError(f"a source id must be a whole number, got {handle!r}")
        known.add(handle)
    return known


def _taken(taken: Mapping[int, int] | None) -> dict[int, int]:
    """A copy of numbers already given, which must be 1, 2, ... once each. Their handles need not
    be in ``known``: a streaming answer's earlier text may cite sources this part cannot."""
    numbers = dict(taken or {})
    if sorted(numbers.values()) != list(range(1, len(numbers) + 1)):
        raise ValueError(f"numbers already given must be 1, 2, ... once each, got {numbers!r}")
    return numbers


@dataclass(frozen=True)
class Cite:
    """One number of a citation: the model's ``handle`` and the ``number`` a person sees
    (``None``: no source of this answer has that handle; shown as an invalid citation)."""

    handle: int
    number: int | None


def cites(match: re.Match[str], numbers: Mapping[int, int]) -> list[Cite]:
    """The numbers of one ``CITATION`` match, in the order written, with their display numbers."""
    return [Cite(n, numbers.get(n)) for n in citation_numbers(match)]


def plain(group: list[Cite]) -> str:
    """A citation as text: ``[1, 2]``; an invalid number keeps the model's with a ``?``: ``[7?]``."""
    return "[" + ", ".join(f"{c.number}" if c.number is not None else f"{c.handle}?" for c in group) + "]"


def citation_writer(numbers: Mapping[int, int], write: Callable[[list[Cite]], str] = plain
                    ) -> Callable[[re.Match[str]], str]:
    """A ``CITATION.sub`` replacement that writes each citation with ``write`` (for renderers
    that find the text outside code themselves, such as markdown-it's text tokens)."""
    return lambda match: write(cites(match, numbers))


def renumber(text: str, numbers: Mapping[int, int], write: Callable[[list[Cite]], str] = plain) -> str:
    """``text`` with every citation outside code written by ``write`` with display numbers
    (by default ``[3, 1]`` -> ``[1, 2]``); the model's ``(url)`` after ``[n]`` goes."""
    if "[" not in text:
        return text
    return outside_code(text, lambda part: CITATION.sub(citation_writer(numbers, write), part))
