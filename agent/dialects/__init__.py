"""Search protocols the engine speaks: ``qwq`` (default), ``search-r1``, ``research``.

``get_dialect(name)`` gives the ``Dialect`` the loop and the backends follow;
``extract_answer(name, output)`` reads a model's final answer out of its own
generated text the way that protocol defines it (for evaluation).
"""

from __future__ import annotations

from typing import get_args

from ..config import SettingsError
from .base import Dialect, DialectName, Notes, RoundParser
from . import qwq, research, search_r1

DIALECTS: dict[str, Dialect] = {d.name: d for d in (qwq.DIALECT, search_r1.DIALECT, research.DIALECT)}
assert set(DIALECTS) == set(get_args(DialectName))


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise SettingsError(f"unknown dialect {name!r}; choose one of {sorted(DIALECTS)}") from None


def extract_answer(name: str, output: str) -> str | None:
    """The final answer in ``output`` (the model's generated text only, never the
    prompt: Search-R1's prompt holds an example ``<answer>``), or None if it gave none.

    ``search-r1``: the last ``<answer>…</answer>``, stripped; ``research``: the same
    with ``\\boxed{…}`` unwrapped; ``qwq``: the text after the last ``</think>``.
    """
    return get_dialect(name).extract_answer(output)


__all__ = ["DIALECTS", "Dialect", "DialectName", "Notes", "RoundParser", "extract_answer", "get_dialect"]
