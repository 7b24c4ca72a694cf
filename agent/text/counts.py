"""A count with its noun, singular or plural as English says it: "1 passage", "3 passages"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, plural for every count but 1 (``plural`` when not just noun + "s")."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
