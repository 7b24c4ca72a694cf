"""Run a dataset: skip what ``results.jsonl`` already holds, ask the rest K at a time,
append each result as it finishes, then rewrite ``summary.json`` and ``report.html``."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from .dataset import Question
from .one import Asker
from .report import write_report
from .results import ResultsError, ResultsWriter, read_results
from .summary import summarize, write_json

RESULTS, SUMMARY, REPORT = "results.jsonl", "summary.json", "report.html"

# Called after each finished question with (rows done so far, the new row).
OnResult = Callable[[list[dict[str, Any]], dict[str, Any]], None]


@dataclass(frozen=True)
class Outcome:
    summary: dict[str, Any]
    ran: int  # questions answered in this invocation
    interrupted: bool


def pending_questions(questions: Sequence[Question], out: Path) -> tuple[list[dict[str, Any]], list[Question]]:
    """Rows already done for these questions, and the questions still to ask.

    A row whose run ended in an error is asked again. Raises ``ResultsError``
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
        if row is None or row.get("end") == "error":
            todo.append(q)
        else:
            done.append(row)
    return done, todo


def run_dataset(questions: Sequence[Question], *, asker: Asker, concurrency: int,
                cancel: threading.Event, settings_summary: dict[str, Any],
                on_result: OnResult | None = None) -> Outcome:
    out = asker.out
    out.mkdir(parents=True, exist_ok=True)
    done, todo = pending_questions(questions, out)
    order = {q.id: i for i, q in enumerate(questions)}
    writer = ResultsWriter(out / RESULTS)
    ran = 0
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
                if on_result is not None:
                    on_result(done, row)
    except BaseException:
        cancel.set()  # a crash (or a second Ctrl-C) stops the questions still running
        raise
    finally:
        writer.close()
    done.sort(key=lambda r: order[str(r["id"])])
    summary = summarize(done, total=len(questions), settings=settings_summary)
    write_json(out / SUMMARY, summary)
    write_report(out / REPORT, summary, done)
    return Outcome(summary=summary, ran=ran, interrupted=cancel.is_set() and len(done) < len(questions))


def _ask_unless_cancelled(asker: Asker, q: Question, cancel: threading.Event):
    return None if cancel.is_set() else asker.ask(q, cancel)
