"""What the reports (HTML, Markdown, the conversation export) say about an answer's claims check.

One summary line, then only the sentences that did not stand on their sources, each with its
note and the closest sentence of what it cites: supported sentences are not repeated.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..claims.record import summary_line
from ..events import Done
from ..text.citations import renumber


@dataclass(frozen=True)
class Flagged:
    sentence: str  # with display numbers
    note: str
    closest: str | None


def claims_check(done: Done | None) -> tuple[str, list[Flagged]] | None:
    """The summary line and the flagged sentences; None when the answer was not checked."""
    if done is None or done.claims is None or done.claims_summary is None or not done.answer.strip():
        return None
    flagged = [Flagged(" ".join(renumber(c.sentence, done.display_numbers).split()), c.note,
                       c.evidence.text if c.evidence is not None else None)
               for c in done.claims if c.verdict not in ("supported", "uncited")]
    return summary_line(done.claims_summary), flagged
