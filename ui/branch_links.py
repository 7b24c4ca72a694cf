"""The chat's branch controls as HTML, and the actions they send back.

Gradio's chat sanitiser keeps ``class``, ``title`` and ``href`` but strips ``aria-*`` and every
``on*=`` attribute, so each control is a plain link to a ``#ds-…`` fragment: a link is focusable
and Enter opens it, and ``assets/ui.js`` turns its click into an action the server handles
(``parse_action``). A screen reader reads the visually hidden words (``hidden``), as for the
citation chips; the arrows themselves are drawn by CSS with empty alternative text.

Actions (what ``assets/ui.js`` sends, read back from its link):

- ``show:<turn>``: show the branch of that turn (the switcher's arrows);
- ``fork:<turn>:q``: ask that turn's question afresh, everything before it kept;
- ``fork:<turn>:s<j>`` / ``fork:<turn>:r<j>``: continue after that turn's ``j``-th search or
  read (from 0), its recorded results and everything before them reused;
- ``check:<turn>``: "Check with the model" on that turn's answer (``ui/model_check.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .citations import attribute, hidden

SHOW_PREFIX = "#ds-branch-"
FORK_PREFIX = "#ds-fork-"
CHECK_PREFIX = "#ds-check-"
CHECK_LABEL = "Check with the model"
CONTINUE_LABEL = "Continue from here"

_TURN = r"[A-Za-z0-9_]{1,40}"
_ACTION = re.compile(rf"(?:show:(?P<show>{_TURN})|check:(?P<check>{_TURN})|"
                     rf"fork:(?P<fork>{_TURN}):(?P<at>q|[sr]\d{{1,4}}))")


@dataclass(frozen=True)
class BranchAction:
    """What a branch control asked for; ``step`` is ``("search"|"read", j)`` or None (the question)."""

    kind: Literal["show", "fork", "check"]
    turn: str
    step: tuple[Literal["search", "read"], int] | None = None


def parse_action(text: object) -> BranchAction | None:
    """The action a control sent, or None for anything else (the value comes from the browser)."""
    match = _ACTION.fullmatch(str(text or "").strip())
    if match is None:
        return None
    if match["show"]:
        return BranchAction(kind="show", turn=match["show"])
    if match["check"]:
        return BranchAction(kind="check", turn=match["check"])
    at = match["at"]
    step = None if at == "q" else ("search" if at[0] == "s" else "read", int(at[1:]))
    return BranchAction(kind="fork", turn=match["fork"], step=step)  # type: ignore[arg-type]


def fork_link(turn: str, at: str) -> str:
    """*Continue from here* for a turn's question (``at="q"``) or its ``s<j>``/``r<j>`` step."""
    if not linkable(turn):
        return ""
    return f'<a class="ds-fork" href="{FORK_PREFIX}{turn}-{at}">{CONTINUE_LABEL}</a>'


def check_link(turn: str) -> str:
    """"Check with the model" for a turn's answer, on the line after its claims summary."""
    if not linkable(turn):
        return ""
    link = f'<a class="ds-check" href="{CHECK_PREFIX}{turn}">{CHECK_LABEL}</a>'
    return f'<div class="ds-extra claims-actions">{link}</div>'


def step_links(turn: str, steps: list[tuple[str, str]]) -> str:
    """*Continue from here* after each of ``steps`` (``(at, what)``: ``s<j>``/``r<j>`` and the
    query or page), compact: "Continue after: Search 1 · Read 1". Each link is named in full for a
    screen reader ("Continue from here after search 1") and titled with what the step looked up."""
    if not steps or not linkable(turn):
        return ""
    links, counts = [], {"s": 0, "r": 0}
    for at, what in steps:
        counts[at[0]] += 1
        kind = "Search" if at[0] == "s" else "Read"
        links.append(f'<a class="ds-fork ds-step" href="{FORK_PREFIX}{turn}-{at}" title="{attribute(_short(what))}">'
                     f'{hidden(CONTINUE_LABEL + " after ")}{kind} {counts[at[0]]}</a>')
    return f'<span class="ds-steps">Continue after: {" · ".join(links)}</span>'


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def switcher(*, position: int, count: int, previous: str | None, following: str | None) -> str:
    """``◀ 2/3 ▶``: the arrows lead to the neighbouring branches (None: none that way)."""
    return (f'<span class="ds-branches">{_arrow("prev", "Previous branch", previous)}'
            f'<span class="ds-branch-n">{hidden("Branch ")}{position}/{count}</span>'
            f'{_arrow("next", "Next branch", following)}</span>')


def _arrow(side: str, name: str, turn: str | None) -> str:
    if turn is None or not linkable(turn):  # the first or last branch: a dimmed arrow, no control
        return f'<span class="ds-branch-{side} ds-off"></span>'
    return (f'<a class="ds-branch-{side}" href="{SHOW_PREFIX}{turn}" title="{attribute(name)}">'
            f'{hidden(name)}</a>')


def linkable(turn: str) -> bool:
    """Whether a turn id can go into a link and come back as an action (a saved id is read from
    the database: one that cannot simply gets no control)."""
    return re.fullmatch(_TURN, turn) is not None
