"""``python -m agent.eval DATASET --out DIR [...]``: ask a QA dataset, score the answers.

Takes every engine flag of ``python -m agent``. Exit codes: 0 when every
question has a result and none ended in an error, 1 when some did (rerun the
same command to retry them), 2 for bad arguments, datasets or output folders,
130 after Ctrl-C, SIGTERM or SIGHUP (the results so far are kept; rerun to resume).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ..backends.base import Backend
from ..claims.judge import no_judge_note
from ..config import Settings
from ..errors import DeepSearchError, UsageError
from ..registry import backend_spec
from ..flags import STOP_SIGNALS, engine_flags, settings_from_args
from ..search import build_search
from ..registry import refuse_app_only
from ..session import build_backend, check_inputs, preflight
from ..records.trace import TraceError
from .dataset import FieldMap, load_dataset
from .one import Asker, Judge, NoteBackend
from .prediction import answer_instruction
from .progress import ProgressBar
from .results import ResultsError
from .runner import REPORT, Outcome, run_dataset

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m agent.eval",
        description="Ask every question of a QA dataset and score the answers (EM, F1, subEM).",
    )
    p.add_argument("dataset", metavar="DATASET", help=".jsonl, .json (a list), .csv or .parquet")
    p.add_argument("--out", metavar="DIR", required=True,
                   help="results.jsonl, traces/, reports/, summary.json, report.html go here; rerun to resume")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N usable questions")
    p.add_argument("--concurrency", type=int, default=1, metavar="K",
                   help="questions at once (a local GPU backend stays at DEEPSEARCH_CONCURRENCY_LOCAL)")
    p.add_argument("--question-field", default="question", metavar="F", help="default: question")
    p.add_argument("--answer-field", metavar="F", help="default: golden_answers, else answer")
    p.add_argument("--id-field", default="id", metavar="F", help="default: id (else the row number)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    engine_flags(p, recordings=False)  # every question is recorded under DIR/traces/, so no --trace
    return p


def _check_args(args: argparse.Namespace) -> str | None:
    """What is wrong with the flags, as a message; None when nothing is."""
    if args.trace or args.replay:
        return "--trace and --replay do not apply here: the eval records every question under DIR/traces/"
    for flag, low in (("limit", 1), ("concurrency", 1), ("max_searches", 0), ("max_new_tokens", 1)):
        value = getattr(args, flag)
        if value is not None and value < low:
            return f"--{flag.replace('_', '-')} must be at least {low}, got {value!r}"
    if bool(args.judge_base_url) != bool(args.judge_model):
        return "an LLM judge needs both --judge-base-url and --judge-model"
    return None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    problem = _check_args(args)
    if problem:
        return _usage(problem)
    try:
        fields = FieldMap(question=args.question_field, answer=args.answer_field, id=args.id_field)
        dataset = load_dataset(args.dataset, fields=fields, limit=args.limit)
        settings = settings_from_args(args)
        refuse_app_only(settings.provider, where="the eval")
        backend = build_backend(settings)
        preflight(backend)  # a model the dialect cannot use is refused before its weights load
        search = build_search(settings)
        check_inputs(settings, backend)  # the page fixture and the index: refused now, not at question 1
    except UsageError as exc:  # dataset, settings, model script, search fixture
        return _usage(str(exc))
    except DeepSearchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    if (note := no_judge_note(settings)) is not None:
        print(f"note: {note}", file=sys.stderr)
    if dataset.skipped:
        print(f"note: skipped {dataset.skipped} row(s) without a usable question or answer "
              f"(the first is row {dataset.first_skipped})", file=sys.stderr)
    concurrency = _concurrency(args.concurrency, settings)
    note = answer_instruction(settings.dialect)
    asker = Asker(settings=settings, backend=NoteBackend(backend, note) if note else backend, search=search,
                  out=Path(args.out), judge=_judge(args, settings))
    cancel = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: _interrupt(cancel)) for sig in STOP_SIGNALS}
    try:
        outcome = run_dataset(dataset.questions, asker=asker, concurrency=concurrency, cancel=cancel,
                              settings_summary=_settings_summary(args, settings, backend, concurrency),
                              progress=ProgressBar(enabled=not args.no_progress))
    except ResultsError as exc:
        return _usage(str(exc))
    except (OSError, TraceError) as exc:
        return _usage(f"cannot write the results under --out {args.out!r}: {exc}; pick a writable folder")
    except DeepSearchError as exc:
        print(f"error: {exc}; the results so far are kept", file=sys.stderr)
        return EXIT_ERRORS
    except Exception as exc:  # last resort: a clean line, and the results so far stay resumable
        if os.environ.get("DEEPSEARCH_DEBUG"):
            raise
        print(f"error: internal error ({type(exc).__name__}); the results so far are kept; rerun with "
              "DEEPSEARCH_DEBUG=1 for details", file=sys.stderr)
        return EXIT_ERRORS
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        backend.close()
    return _report(outcome, Path(args.out))


def _interrupt(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for the running questions
    print("\nstopping: the questions running now are not recorded; rerun the same command to resume",
          file=sys.stderr)
    cancel.set()


def _concurrency(asked: int, settings: Settings) -> int:
    if not backend_spec(settings.backend).needs_gpu or asked <= settings.concurrency_local:
        return asked
    print(f"note: the local model runs {settings.concurrency_local} question(s) at once "
          f"(DEEPSEARCH_CONCURRENCY_LOCAL), not {asked}", file=sys.stderr)
    return settings.concurrency_local


def _judge(args: argparse.Namespace, settings: Settings) -> Judge | None:
    # Settings refuse a judge URL without a model, and a model without a URL.
    if not settings.judge_base_url or not settings.judge_model:
        return None
    from .judge import OpenAIJudge

    return OpenAIJudge(base_url=settings.judge_base_url, model=settings.judge_model,
                       api_key=settings.judge_api_key, timeout_s=settings.judge_timeout_s)


def _settings_summary(args: argparse.Namespace, settings: Settings, backend: Backend,
                      concurrency: int) -> dict[str, Any]:
    public = settings.public()
    return {
        "dataset": str(args.dataset), "limit": args.limit, "concurrency": concurrency,
        "model": getattr(backend, "model_id", settings.model), "backend": settings.backend,
        "provider": settings.provider, "fields": {"question": args.question_field,
                                                  "answer": args.answer_field, "id": args.id_field},
        "answer_instruction": answer_instruction(settings.dialect), "judge_model": args.judge_model,
        "engine": public,
    }


def _report(outcome: Outcome, out: Path) -> int:
    s = outcome.summary
    scores = "  ".join(f"{k} {s[k]:.3f}" for k in ("em", "f1", "subem") if s[k] is not None)
    judge = f"  judge {s['judge']:.3f} ({s['judged']} graded)" if s["judge"] is not None else ""
    print(f"{scores}{judge}  ({s['n']}/{s['total']} questions, {s['errors']} error(s)) -> {out / REPORT}")
    if outcome.interrupted:
        print(f"interrupted: {s['n']} of {s['total']} questions done; rerun the same command to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if s["errors"]:
        print(f"{s['errors']} question(s) ended in an error (see results.jsonl); rerun the same command "
              "to retry them", file=sys.stderr)
        return EXIT_ERRORS
    return EXIT_OK


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
