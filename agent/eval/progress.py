"""The progress bar on stderr (tqdm), with the running EM and F1 of every answer so far."""

from __future__ import annotations

import sys
from typing import Any, Sequence

from tqdm import tqdm


class ProgressBar:
    def __init__(self, *, enabled: bool = True) -> None:
        self._enabled = enabled
        self._bar: tqdm | None = None

    def start(self, *, done: int, total: int) -> None:
        self._bar = tqdm(total=total, initial=done, unit="q", desc="eval", file=sys.stderr,
                         dynamic_ncols=True, disable=not self._enabled)

    def advance(self, rows: Sequence[dict[str, Any]]) -> None:
        if self._bar is None:
            return
        em = sum(r["em"] for r in rows) / len(rows)
        f1 = sum(r["f1"] for r in rows) / len(rows)
        self._bar.set_postfix_str(f"EM {em:.3f} F1 {f1:.3f}", refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
