"""The CLI: ``python -m agent "QUESTION" [--json] ...`` (contract in docs/DESIGN.md).

Exit codes: 0 when a ``done`` event was written, 2 for bad arguments (and bad
input files or questions), 1 for anything else. Ctrl-C stops generation and
still writes ``done`` with ``stopped: true``.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, TextIO

from .config import Settings, encodable, redact
from .errors import DeepSearchError, UsageError
from .events import Done, Error, Event, json_line, to_dict
from .files import quiet_stdout, unwritable
from .flags import STOP_SIGNALS, engine_flags, settings_from_args
from .registry import refuse_app_only
from .terminal import TerminalPrinter

if TYPE_CHECKING:  # imported when a run starts, so --help, --replay and --export stay quick
    from .backends.base import Backend
    from .records.fork import ForkPlan
    from .records.trace import Meta, TimedEvent, TraceWriter
    from .session import ChatSession

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m agent",
        description="Ask a question; a reasoning model searches the web and answers with citations.",
    )
    p.add_argument("question", nargs="?", help="the question to answer")
    p.add_argument("--json", action="store_true", help="print one JSON event per line")
    p.add_argument("--transcript", metavar="FILE",
                   help="write the full model-visible text (prompt, generations, tool responses)")
    p.add_argument("--demo", action="store_true",
                   help="play the app's bundled demo: scripted recordings of its example questions, no model and "
                        "no network (without a QUESTION, the first example; other questions get a short note)")
    engine_flags(p)
    r = p.add_argument_group("recordings")
    r.add_argument("--speed", type=float, default=1.0, metavar="X",
                   help="replay speed: 1 real time, 2 twice as fast, 0 at once")
    r.add_argument("--export", metavar="FILE",
                   help="write a report of a recorded trace: every answer in it (a whole app.py --trace "
                        "session), or the one --run picks")
    r.add_argument("--run", type=int, metavar="N",
                   help="which answer of a multi-answer trace: 0 first, -1 last (--replay's default); "
                        "--export without it writes them all")
    r.add_argument("--format", choices=["html", "md", "player"],
                   help="report format (default: from the -o extension, .md/.markdown or .html; else html); "
                        "player: one HTML file that replays the whole trace, step by step")
    r.add_argument("-o", "--output", metavar="OUT", help="where --export writes the report (- for stdout)")
    r.add_argument("--fork-at", type=int, metavar="N",
                   help="with --replay TRACE: continue the recorded conversation from its event N (counted from 0 "
                        "over all its runs) in a new branch: everything before N is reused, recorded search "
                        "results and pages included, and the model generates afresh from there; a QUESTION "
                        "replaces the question of the turn that holds N (N = the number of events: a new turn)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a reader that goes away (``--json | head``) or Ctrl-C before the run has
    started ends it quietly, never with a traceback. Any project error that reaches here is one
    line: a usage error exits 2, any other 1."""
    try:
        return _main(argv)
    except UsageError as exc:
        return _usage(str(exc))
    except DeepSearchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except BrokenPipeError:
        quiet_stdout()
        return EXIT_FAIL
    except KeyboardInterrupt:
        return EXIT_FAIL


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["check"]:  # python -m agent check TRACE [--json]: a missing TRACE is a usage error
        from .claims.cli import main as check

        return check(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if args.export:
        from .export_cli import export_command

        return export_command(args)
    if args.fork_at is not None:
        return _fork(args)
    if args.replay:
        return _replay(args)
    refused = _refuse_arguments(parser, args)
    if refused is not None:
        return refused
    try:
        settings = settings_from_args(args)
        if args.demo:
            from .demo import demo_settings

            settings = demo_settings(settings)
        refuse_app_only(settings.provider, where="the command line")
        for note in _notes(args, settings):
            print(f"note: {note}", file=sys.stderr)
        from .session import ChatSession, build_backend, preflight

        backend = build_backend(settings)
        preflight(backend)  # a model the dialect cannot use is refused before its weights load
        session = ChatSession(settings=settings, backend=backend)
        cancel = threading.Event()
        events = session.ask(args.question, cancel=cancel)
    except UsageError as exc:  # settings, flags, script, fixture, question
        return _usage(str(exc))
    return _answer(args, events, settings=settings, session=session, backend=backend, cancel=cancel)


def _refuse_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int | None:
    """The exit status for arguments no run can start from, or None; ``--demo`` alone asks its first
    example question."""
    if args.demo and args.question is None:
        from .demo import demo_questions

        args.question = demo_questions()[0]
        print("Demo questions (pass one as QUESTION):\n" + "\n".join(f"  {q}" for q in demo_questions()),
              file=sys.stderr)
    if args.question is None:
        parser.print_usage(sys.stderr)
        print("error: a QUESTION is required (or --replay / --export)", file=sys.stderr)
        return EXIT_USAGE
    problem = _bad_flags(args)
    return _usage(problem) if problem else None


# What --demo replaces with its bundled recordings (agent/demo.py demo_settings).
_DEMO_REPLACES = ("backend", "model", "base_url", "provider", "model_script", "search_fixture", "page_fixture",
                  "retriever_url")


def _notes(args: argparse.Namespace, settings: Settings) -> list[str]:
    """What the run will not do although a flag or setting asked for it, said before it starts."""
    notes = []
    given = [f"--{name.replace('_', '-')}" for name in _DEMO_REPLACES if getattr(args, name)]
    if args.demo and given:
        notes.append(f"--demo plays the bundled recordings, so {', '.join(given)} "
                     f"{'is' if len(given) == 1 else 'are'} not used")
    if settings.check_claims == "judge":
        from .claims.judge import no_judge_note

        notes += [note] if (note := no_judge_note(settings)) else []
    return notes


def _bad_flags(args: argparse.Namespace) -> str | None:
    for flag in ("max_searches", "max_new_tokens"):
        value = getattr(args, flag)
        if value is not None and value < (0 if flag == "max_searches" else 1):
            return f"--{flag.replace('_', '-')} must be positive, got {value!r}"
    return unwritable(args.transcript, flag="--transcript") if args.transcript else None


def _answer(args: argparse.Namespace, events: Iterator[Event], *, settings: Settings, session: ChatSession,
            backend: Backend, cancel: threading.Event,
            fork: dict[str, object] | None = None) -> int:
    """Print the run's events (recording them when asked); Ctrl-C stops it, and every project or
    unexpected error ends it with one line, never a traceback."""
    recorder = _recorder(args, settings, backend, fork=fork)
    previous = {sig: signal.signal(sig, lambda *_: cancel.set()) for sig in STOP_SIGNALS}
    try:
        return _emit(events, json_mode=args.json, recorder=recorder, out=sys.stdout)
    except BrokenPipeError:
        cancel.set()  # nobody reads the answer any more: stop generating it
        raise
    except DeepSearchError as exc:  # the model cannot run (BackendError), or any other project error
        _emit_error(redact(str(exc), settings.secrets), json_mode=args.json, recorder=recorder)
        return EXIT_FAIL
    except Exception as exc:  # last resort: a person gets a clean line, never a traceback
        if os.environ.get("DEEPSEARCH_DEBUG"):
            raise
        _emit_error(f"internal error ({type(exc).__name__}); rerun with DEEPSEARCH_DEBUG=1 for details",
                    json_mode=args.json, recorder=recorder)
        return EXIT_FAIL
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if recorder is not None:
            recorder.close()
        if args.transcript and session.conversation is not None:
            Path(args.transcript).write_text(encodable(session.conversation.transcript()), encoding="utf-8")
        backend.close()


def _emit(events: Iterator[Event], *, json_mode: bool, recorder: TraceWriter | None, out: TextIO) -> int:
    printer = _JsonPrinter(out) if json_mode else TerminalPrinter(out)
    code = EXIT_FAIL
    for event in events:
        if recorder is not None:
            recorder.write(event)
        printer(event)
        if isinstance(event, Done):
            code = EXIT_OK
    return code


def _emit_error(message: str, *, json_mode: bool, recorder: TraceWriter | None) -> None:
    event = Error(message=message)
    if recorder is not None:
        recorder.write(event)
    (_JsonPrinter(sys.stdout) if json_mode else TerminalPrinter(sys.stdout))(event)


class _JsonPrinter:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        self.out.write(json_line(to_dict(event)) + "\n")
        self.out.flush()


def _recorder(args: argparse.Namespace, settings: Settings, backend: Backend,
              fork: dict[str, object] | None = None) -> TraceWriter | None:
    if not args.trace:
        return None
    from .records.trace import TraceError, TraceWriter

    try:
        return TraceWriter(args.trace, question=args.question, settings=settings,
                           model=backend.model_id, fork=fork)
    except TraceError as exc:
        # Nothing has run yet: refuse now rather than answer without the recording asked for.
        backend.close()
        raise SystemExit(_usage(str(exc))) from None


def _replay(args: argparse.Namespace) -> int:
    from .records.replay import replay
    from .records.trace import TraceError

    if not 0 <= args.speed < math.inf:  # also refuses NaN
        return _usage(f"--speed must be a finite number, 0 (at once) or more, got {args.speed!r}")
    try:
        # Validates the whole run before any output.
        events = replay(args.replay, speed=args.speed, run=-1 if args.run is None else args.run)
    except TraceError as exc:
        return _usage(str(exc))
    try:
        return _emit(events, json_mode=args.json, recorder=None, out=sys.stdout)
    except KeyboardInterrupt:
        return EXIT_FAIL


# Flags that shape a recorded prefix (agent/forking.py RECORDED_SETTINGS): a fork takes the
# recording's values unless one of these is given.
_PREFIX_FLAGS = {"dialect": "dialect", "max_searches": "max_searches", "read": "read", "read_top": "read_top"}


def _fork(args: argparse.Namespace) -> int:
    """``--replay TRACE --fork-at N [QUESTION]``: the new branch's run, printed like any run."""
    from .records.fork import plan_fork
    from .records.trace import TraceError, read_runs

    if not args.replay:
        return _usage(f"--fork-at {args.fork_at} forks a recorded trace: give it with --replay TRACE")
    if args.run is not None:
        return _usage(f"--fork-at counts the events of all the trace's runs, so --run {args.run} is not used "
                      "with it; drop --run")
    problem = _bad_flags(args)
    if problem:
        return _usage(problem)
    try:
        runs = read_runs(args.replay)
        question = None if args.question is None else _question(args.question)
        plan = plan_fork([(meta, [e for _, e in timed]) for meta, timed in runs], args.fork_at, question=question,
                         where=f"trace {args.replay!r}")
        session, events, cancel = _forked_session(args, runs, plan)
    except TraceError as exc:
        return _usage(str(exc))
    except UsageError as exc:
        return _usage(str(exc))
    args.question = plan.question
    fork = {"trace": Path(args.replay).name, "run": plan.run, "at": args.fork_at, "event": plan.event}
    return _answer(args, events, settings=session.settings, session=session, backend=session.backend, cancel=cancel,
                   fork=fork)


def _question(text: str) -> str:
    from .loop import validate_question

    return validate_question(text, Settings())


def _forked_session(args: argparse.Namespace, runs: list[tuple[Meta, list[TimedEvent]]],
                    plan: ForkPlan) -> tuple[ChatSession, Iterator[Event], threading.Event]:
    """A session whose record holds the trace's runs as one conversation, and its fork."""
    from .forking import fork_settings
    from .records.conversation import Conversation
    from .session import ChatSession, build_backend, preflight

    given = {name for flag, name in _PREFIX_FLAGS.items() if getattr(args, flag) is not None}
    settings = settings_from_args(args)
    if plan.meta:
        settings = fork_settings(settings, plan.meta, given=given)
    record = Conversation(keep_events=max(1, len(runs)))
    for meta, timed in runs:
        turn = record.begin(str(meta.get("question", "")),
                            meta={k: v for k, v in meta.items() if k not in ("type", "question")})
        for _, event in timed:
            turn.add(event)
    ids = [t.id for t in record.path()]
    backend = build_backend(settings)
    preflight(backend)  # a model the dialect cannot use is refused before its weights load
    session = ChatSession(settings=settings, backend=backend, record=record)
    cancel = threading.Event()
    if plan.run == len(runs):
        return session, session.ask(plan.question, cancel=cancel), cancel
    return session, session.run_fork(ids[plan.run], plan, cancel=cancel), cancel


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
