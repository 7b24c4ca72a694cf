"""Which turns a share player holds and in what order: every branch of the conversation.

A conversation is a tree of turns (``Turn.parent``); the chat shows one branch, the path to its
``head``. The player holds every turn once. ``Tree`` orders them for the file -- the shown
branch first (what the page reads as without JavaScript), then every other turn, depth first --
and says, per turn, its parent, its siblings and the child a switch to it continues with (the
one on the shown branch, else the latest, as the chat's ``Conversation.show`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..records.timed import TimedTurn


@dataclass(frozen=True)
class Tree:
    """The player's turns in file order, with their links as indices into ``turns``."""

    turns: tuple[TimedTurn, ...]
    parent: tuple[int, ...]  # -1: a first question
    follow: tuple[int, ...]  # the child a branch through this turn continues with; -1: none
    shown: int  # how many turns, from the first, are the branch the chat showed
    asked: tuple[int, ...]  # per turn, its place in the order the turns were given (asked)

    @classmethod
    def of(cls, turns: Sequence[TimedTurn], *, head: str | None = None) -> "Tree":
        """``turns`` (any order the chat asked them in; a parent not among them counts as none)
        with ``head`` the newest turn of the shown branch (None: the last of ``turns``)."""
        by_id = {t.turn.id: t for t in turns}
        if len(by_id) != len(turns):
            raise ValueError("two turns share an id; give each turn of the conversation once")
        parent_of = {k: (t.turn.parent if t.turn.parent in by_id else None) for k, t in by_id.items()}
        children: dict[str | None, list[str]] = {}
        for key in by_id:
            children.setdefault(parent_of[key], []).append(key)
        head = head if head in by_id else (turns[-1].turn.id if turns else None)
        path: list[str] = []
        at = head
        while at is not None and at not in path:
            path.append(at)
            at = parent_of[at]
        path.reverse()
        order = list(path)
        on_path = set(path)

        def visit(key: str) -> None:
            if key not in on_path:
                order.append(key)
            for child in children.get(key, []):
                visit(child)

        for root in children.get(None, []):
            visit(root)
        index = {key: i for i, key in enumerate(order)}
        follow = []
        for key in order:
            kids = children.get(key, [])
            chosen = next((k for k in kids if k in on_path), kids[-1] if kids else None)
            follow.append(index[chosen] if chosen is not None else -1)
        given = {key: i for i, key in enumerate(by_id)}
        return cls(turns=tuple(by_id[k] for k in order),
                   parent=tuple(index[p] if (p := parent_of[k]) is not None else -1 for k in order),
                   follow=tuple(follow), shown=len(path), asked=tuple(given[k] for k in order))

    def siblings(self, i: int) -> list[int]:
        """The branches at turn ``i``'s place, it included, in the order they were asked."""
        return sorted((j for j, p in enumerate(self.parent) if p == self.parent[i]),
                      key=lambda j: self.asked[j])

    def depth(self, i: int) -> int:
        """Turn ``i``'s question number in its branch, from 1."""
        depth = 1
        while self.parent[i] >= 0 and depth <= len(self.turns):  # a looped record (a damaged row) ends
            i, depth = self.parent[i], depth + 1
        return depth
