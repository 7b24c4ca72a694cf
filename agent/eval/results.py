"""``results.jsonl``: one complete line per finished question, read back for resuming.

Each line is written by one ``write`` and flushed to disk before the next
question's, so an interrupted run leaves complete lines only; a line cut off
by a hard kill (no newline at the end of the file) is dropped on the next read
and that question runs again. When an id appears more than once (a question
retried after an error), its last line wins.
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from ..errors import RecordsError
from ..events import RunEnd, json_line

# How the run ended (the engine's own ``Done.end``), or "error" when it broke before a ``done``.
End = Literal[RunEnd, "error"]
Verdict = Literal["correct", "incorrect"]


class ResultsError(RecordsError, ValueError):
    """``results.jsonl`` cannot be resumed from; the message says which line and what to do."""


@dataclass(frozen=True, kw_only=True)
class Result:
    id: str
    question: str
    golden_answers: list[str]
    answer: str
    prediction: str
    em: float
    f1: float
    subem: float
    searches: int
    cited: list[int]
    end: End
    error: str | None
    seconds: float
    tokens: int
    trace: str  # relative to the output folder
    report: str | None
    judge: Verdict | None = None
    judge_error: str | None = None
    # ALCE-style citation metrics (agent/claims/metrics.py); None when there was nothing to count.
    citation_recall: float | None = None
    citation_precision: float | None = None
    supported_claim_rate: float | None = None
    uncited_sentences: int | None = None


REQUIRED = frozenset({"id", "question", "golden_answers", "em", "f1", "subem", "end"})


def read_results(path: Path) -> dict[str, dict[str, Any]]:
    """The last line of each id in ``path`` (empty when it does not exist); a cut-off
    last line is removed from the file so appending starts on a fresh line."""
    if not path.exists():
        return {}
    raw = path.read_bytes()
    complete = raw[: raw.rfind(b"\n") + 1]
    if len(complete) != len(raw):
        with path.open("r+b") as f:
            f.truncate(len(complete))
    rows: dict[str, dict[str, Any]] = {}
    # "\n" only: a model's text may hold U+2028 and friends, which splitlines() also breaks on.
    for number, line in enumerate(complete.decode("utf-8", errors="replace").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):  # RecursionError: nested past the parser's limit
            row = None
        if not isinstance(row, dict) or not REQUIRED <= set(row) or not _well_formed(row):
            raise ResultsError(f"{str(path)!r} line {number} is not a result this tool wrote; "
                               "move the file away or pick another --out")
        rows[str(row["id"])] = row
    return rows


_SCORES = ("em", "f1", "subem")
_OPTIONAL_RATES = ("citation_recall", "citation_precision", "supported_claim_rate")  # shares: 0..1
_OPTIONAL_COUNTS = ("uncited_sentences", "searches", "seconds", "tokens")  # never below 0
_OPTIONAL_TEXT = ("answer", "prediction", "error", "trace", "report", "judge_error")


def _well_formed(row: dict[str, Any]) -> bool:
    """Whether every value the summary and the report read has the type this tool writes: a
    hand-edited or damaged line ("f1": "abc", "em": null) would otherwise break every later run."""
    if not (isinstance(row["id"], (str, int)) and not isinstance(row["id"], bool)
            and isinstance(row["question"], str) and isinstance(row["golden_answers"], list)
            and all(isinstance(g, str) for g in row["golden_answers"])
            and row["end"] in get_args(RunEnd) + ("error",) and row.get("judge") in (None, *get_args(Verdict))):
        return False
    if not all(_number(row[k]) and 0 <= row[k] <= 1 for k in _SCORES):
        return False
    # A share outside 0..1 or a negative count would skew every later summary without a word.
    return (all(row.get(k) is None or (_number(row[k]) and 0 <= row[k] <= 1) for k in _OPTIONAL_RATES)
            and all(row.get(k) is None or (_number(row[k]) and row[k] >= 0) for k in _OPTIONAL_COUNTS)
            and all(row.get(k) is None or isinstance(row[k], str) for k in _OPTIONAL_TEXT))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class ResultsWriter:
    """Appends results from several worker threads, one whole line at a time."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8", newline="\n")

    def append(self, result: Result) -> dict[str, Any]:
        row = asdict(result)
        line = json_line(row) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())
        return row

    def close(self) -> None:
        self._file.close()
