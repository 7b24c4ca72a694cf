"""Run a dataset: skip what ``results.jsonl`` already holds, ask the rest K at a time,
append each result as it finishes, then rewrite ``summary.json`` and ``report.html``."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

from .dataset import Question
from .one import Asker
from .report import write_report
from .results import Result, ResultsError, ResultsWriter, read_results
from .summary import summarize, write_json

RESULTS, SUMMARY, REPORT = "results.jsonl", "summary.json", "report.html"

class Progress(Protocol):
    def start(self, *, done: int, total: int) -> None: ...

    def advance(self, rows: Sequence[dict[str, Any]]) -> None:
        """One more question finished; ``rows`` are all results so far."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class Outcome:
    summary: dict[str, Any]
    ran: int  # questions answered in this invocation
    interrupted: bool


def pending_questions(questions: Sequence[Question], out: Path) -> tuple[list[dict[str, Any]], list[Question]]:
    """Rows already done for these questions, and the questions still to ask.

    A row whose run ended in an error, or that was graded against other golden answers, is
    asked again (its new line replaces it). Raises ``ResultsError``
    when a stored id holds another question (a different dataset in the same
    folder), so results of two datasets are never mixed.
    """
    stored = read_results(out / RESULTS)
    done, todo = [], []
    for q in questions:
        row = stored.get(q.id)
        if row is not None and row.get("question") != q.question:
            raise ResultsError(
                f"{str(out / RESULTS)!r} holds id {q.id!r} with another question "
                f"({str(row.get('question'))[:80]!r}); use a new --out for this dataset"
            )
        # Graded against other golden answers (the dataset was corrected since): asked and graded
        # again, so no score in the summary counts against an answer key that no longer holds.
        if row is None or row.get("end") == "error" or row.get("golden_answers") != list(q.golden_answers):
            todo.append(q)
        else:
            done.append(row)
    return done, todo


# What must match for results to be resumed into the same folder; the rest (concurrency,
# limit, timeouts) may change between runs without changing what an answer means.
SAME_RUN = ("model", "backend", "provider", "answer_instruction")
SAME_ENGINE = ("dialect", "max_searches", "max_rounds", "max_new_tokens", "context_limit",
               "results_per_search", "result_chars", "temperature", "top_p", "top_k")


def check_same_run(out: Path, settings_summary: dict[str, Any]) -> None:
    """``ResultsError`` when ``out`` holds results made with other settings (model, search,
    sampling): a resumed summary would mix two different systems."""
    try:
        before = json.loads((out / SUMMARY).read_text(encoding="utf-8")).get("settings", {})
    except (OSError, ValueError, AttributeError):
        return  # a first run, or a summary lost to a crash: nothing to compare
    pairs = [(k, before.get(k), settings_summary.get(k)) for k in SAME_RUN]
    pairs += [(f"engine.{k}", before.get("engine", {}).get(k), settings_summary.get("engine", {}).get(k))
              for k in SAME_ENGINE]
    changed = [f"{k} {old!r} -> {new!r}" for k, old, new in pairs if old != new]
    if changed:
        raise ResultsError(f"{str(out)!r} holds results made with other settings ({'; '.join(changed)}); "
                           "use a new --out, or rerun with the same settings to resume")


def run_dataset(questions: Sequence[Question], *, asker: Asker, concurrency: int,
                cancel: threading.Event, settings_summary: dict[str, Any],
                progress: Progress | None = None) -> Outcome:
    out = asker.out
    out.mkdir(parents=True, exist_ok=True)
    check_same_run(out, settings_summary)
    done, todo = pending_questions(questions, out)
    order = {q.id: i for i, q in enumerate(questions)}
    writer = ResultsWriter(out / RESULTS)
    ran = 0
    if progress is not None:
        progress.start(done=len(done), total=len(questions))
    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="eval") as pool:
            futures: list[Future] = [pool.submit(_ask_unless_cancelled, asker, q, cancel) for q in todo]
            for future in as_completed(futures):
                result = future.result()
                if result is None:
                    continue
                row = writer.append(result)
                done.append(row)
                ran += 1
                if progress is not None:
                    progress.advance(done)
    except BaseException:
        cancel.set()  # a crash (or a second Ctrl-C) stops the questions still running
        raise
    finally:
        writer.close()
        if progress is not None:
            progress.close()
    done.sort(key=lambda r: order[str(r["id"])])
    summary = summarize(done, total=len(questions), settings=settings_summary)
    write_json(out / SUMMARY, summary)
    write_report(out / REPORT, summary, done)
    return Outcome(summary=summary, ran=ran, interrupted=cancel.is_set() and len(done) < len(questions))


def _ask_unless_cancelled(asker: Asker, q: Question, cancel: threading.Event) -> Result | None:
    return None if cancel.is_set() else asker.ask(q, cancel)
