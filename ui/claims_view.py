"""The claims check in the chat: one quiet line under an answer, and a dashed underline on each
sentence its sources do not support, whose note (and the closest sentence of what it cites)
shows on hover and on keyboard focus. Supported sentences stay unmarked.

The underline is placed in the model's text before it is made safe and linked: private-use
markers around each flagged sentence survive ``neutralise`` and the citation chips, then
become ``<span>``s; markers the model itself wrote are removed first, so none can forge one.
"""

from __future__ import annotations

import html
import re
from typing import Callable

from agent.api import Done, summary_line

from .branch_links import check_link
from .citations import attribute, escape_text

_OPEN, _MID, _CLOSE = "\ue000", "\ue001", "\ue002"
_MARKERS = re.compile("[\ue000-\ue002]")
_SPAN = re.compile(f"{_OPEN}(\\d+){_MID}")


def flagged(done: Done | None) -> list[tuple[str, str]]:
    """(sentence as the model wrote it, what the reader is told) for each sentence not supported."""
    if done is None or not done.claims:
        return []
    out = []
    for claim in done.claims:
        if claim.verdict in ("supported", "uncited"):
            continue
        tip = claim.note
        if claim.evidence is not None:
            tip += f" — closest: “{claim.evidence.text}”"
        out.append((claim.sentence, tip))
    return out


def render_marked(answer: str, marks: list[tuple[str, str]], render: Callable[[str], str]) -> str:
    """``render(answer)`` with each marked sentence wrapped in a focusable, underlined span."""
    text, pos = _MARKERS.sub("", answer), 0
    tips: list[str] = []
    pieces: list[str] = []
    for sentence, tip in marks:
        sentence = _MARKERS.sub("", sentence)
        at = text.find(sentence, pos)
        if at < 0:
            continue
        pieces += [text[pos:at], f"{_OPEN}{len(tips)}{_MID}{sentence}{_CLOSE}"]
        tips.append(tip)
        pos = at + len(sentence)
    rendered = render("".join(pieces) + text[pos:])

    def span(match: re.Match[str]) -> str:
        tip = attribute(tips[int(match.group(1))])
        return f'<span class="claim-flag" tabindex="0" role="note" title="{tip}">'
    return _SPAN.sub(span, rendered).replace(_CLOSE, "</span>")


def summary_html(done: Done | None, *, note: str | None = None, check_turn: str | None = None) -> str:
    """The line under a checked answer (empty when it was not checked), then ``note``: what the
    model check on request said when it could not run or was stopped. ``check_turn``: the line
    ends with "Check with the model" for that turn (``ui/branch_links.check_link``)."""
    if done is None or done.claims_summary is None or not done.answer.strip():
        return ""
    line = escape_text(summary_line(done.claims_summary), limit=300)
    if any(c.layer == "judge" for c in done.claims or ()):
        line += " · checked with the model"
    # Raw HTML inside the Markdown (no Markdown escapes are undone there): only HTML-escaped.
    extra = f'<div class="ds-extra claims-note" role="status">{html.escape(note[:400])}</div>' if note else ""
    link = check_link(check_turn) if check_turn is not None else ""
    return f'\n\n<div class="ds-extra claims-check">{line}</div>{link}{extra}'
