"""Read passages as the model sees them.

A page's text is untrusted like a snippet and may be spliced into any dialect, so it is
escaped against every dialect's tags at once (QwQ's control tokens and tool tags, the
Search-R1/ReSearch ``<search>``, ``<information>``, ``<result>``, ``<answer>``): a page
holding them forges nothing whichever model reads it.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from ..dialects.tags import escape_tags


class _Passage(Protocol):
    @property
    def text(self) -> str: ...


def for_model(text: str) -> str:
    return escape_tags(text)


def passages_text(passages: Sequence[_Passage]) -> str:
    """The passages of one page, in page order, as one source's text (auto-read)."""
    return "\n\n".join(for_model(" ".join(p.text.split())) for p in passages)
