"""``python -m agent check TRACE [--json]``: check a recorded run's claims afresh.

Any trace reads, also one written before claims were checked: the lexical layer is a pure
function of the answer and its sources, so it gives the verdicts a live run would have
recorded (a web source recorded without its snippet has nothing to be checked against, and
says so). The judge layer runs only when a judge is named: ``--judge-base-url`` and ``--judge-model``,
or ``DEEPSEARCH_JUDGE_BASE_URL`` and ``DEEPSEARCH_JUDGE_MODEL`` (the settings the eval's judge uses).
Exit codes: 0 checked, 2 bad arguments or an unreadable trace, 1 a judge that could not run.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TextIO

from ..config import Settings, load_dotenv_file, settings_from_env
from ..errors import UsageError
from ..text.citations import renumber
from ..events import Done, json_line
from .lexical import check_answer, label
from .record import Claim, summarise, summary_line

if TYPE_CHECKING:
    from .judge import ClaimJudge

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
_MARK = {"supported": "ok", "partly": "partly", "not_supported": "NOT FOUND", "contradicted": "CONTRADICTED",
         "uncited": "-"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m agent check",
                                description="Check each cited sentence of a recorded answer against its sources.")
    p.add_argument("trace", metavar="TRACE", help="a trace written by --trace or the app")
    p.add_argument("--json", action="store_true", help="one JSON object per answer")
    p.add_argument("--run", type=int, metavar="N", help="only this answer of the trace (0 first, -1 last)")
    p.add_argument("--judge-base-url", metavar="URL",
                   help="also ask this OpenAI-compatible judge (key in $DEEPSEARCH_JUDGE_API_KEY; default "
                        "$DEEPSEARCH_JUDGE_BASE_URL)")
    p.add_argument("--judge-model", metavar="ID",
                   help="the judge's model name on that server (default $DEEPSEARCH_JUDGE_MODEL)")
    return p


def main(argv: list[str], out: TextIO = sys.stdout) -> int:
    from ..records.trace import TraceError, read_runs

    args = _parser().parse_args(argv)
    if bool(args.judge_base_url) != bool(args.judge_model):
        print("error: a judge needs both --judge-base-url and --judge-model", file=sys.stderr)
        return EXIT_USAGE
    try:
        judge = _judge(args)
    except UsageError as exc:  # a bad DEEPSEARCH_* setting, e.g. a judge URL without its model
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    code = EXIT_OK
    try:
        runs = read_runs(args.trace)
    except TraceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.run is not None:
        if not -len(runs) <= args.run < len(runs):
            print(f"error: {args.trace} holds {len(runs)} answer(s); --run {args.run} does not exist "
                  f"(use 0..{len(runs) - 1}, or -1 for the last)", file=sys.stderr)
            return EXIT_USAGE
        runs = [runs[args.run]]
    for meta, events in runs:
        done = next((e for _, e in events if isinstance(e, Done)), None)
        if done is None:
            continue  # a run that broke before its answer has nothing to check
        claims = check_answer(done.answer, done.sources, numbers=done.display_numbers)
        if judge is not None:
            from .judge import judge_claims

            judged, problem = judge_claims(replace(done, claims=tuple(claims)), judge)
            claims = list(judged.claims or ())
            if problem is not None:
                print(f"error: {problem}", file=sys.stderr)
                code = EXIT_FAIL
        _print(meta, done, claims, out=out, json_mode=args.json)
    return code


def _judge(args: argparse.Namespace) -> ClaimJudge | None:
    """The judge the flags name, else the one DEEPSEARCH_JUDGE_BASE_URL and DEEPSEARCH_JUDGE_MODEL
    name (as for the eval and --check-claims judge), with its key and timeout; None: lexical only.
    Never the app's own model: a recording names none that could be reached."""
    settings = _settings(judge_base_url=args.judge_base_url, judge_model=args.judge_model)
    if not settings.judge_base_url or not settings.judge_model:
        return None
    from ..judge import OpenAIJudge  # the OpenAI client: imported only when a judge is named
    from .judge import ClaimJudge

    return ClaimJudge(OpenAIJudge(base_url=settings.judge_base_url, model=settings.judge_model,
                                  api_key=settings.judge_api_key, timeout_s=settings.judge_timeout_s))


def _settings(*, judge_base_url: str | None, judge_model: str | None) -> Settings:
    """Settings from .env, the environment and the judge flags (``UsageError`` for a bad value)."""
    load_dotenv_file()
    return settings_from_env(judge_base_url=judge_base_url, judge_model=judge_model)


def _print(meta: dict[str, Any], done: Done, claims: list[Claim], *, out: TextIO, json_mode: bool) -> None:
    summary = summarise(claims)
    if json_mode:
        recorded = None if done.claims is None else [c.to_dict() for c in done.claims]
        out.write(json_line({"question": meta.get("question"), "claims": [c.to_dict() for c in claims],
                             "claims_summary": summary, "recorded_claims": recorded}) + "\n")
        return
    out.write(f"{meta.get('question')}\n")
    for claim in claims:
        cited = f" {label(claim.ids, done.display_numbers)}" if claim.ids else ""
        sentence = " ".join(renumber(claim.sentence, done.display_numbers).split())
        out.write(f"  [{_MARK[claim.verdict]}]{cited} {sentence}\n")
        if claim.verdict not in ("supported", "uncited"):
            out.write(f"      {claim.note}\n")
            if claim.evidence is not None:
                out.write(f"      closest: {claim.evidence.text}\n")
    out.write(f"  {summary_line(summary)}\n")
