"""``python -m agent --export TRACE -o OUT``: a recorded trace as an HTML or Markdown report, or
as the share player (``--format player``); ``-o -`` writes it to stdout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Literal

from .cli_output import write_output
from .files import unwritable

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
ExportFormat = Literal["html", "md", "player"]  # the --format choices
_FORMAT_BY_SUFFIX: dict[str, ExportFormat] = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
_FORMAT_NAMES = {"md": "Markdown", "html": "HTML", "player": "player"}


def export_command(args: argparse.Namespace) -> int:
    """``--export TRACE -o OUT [--format] [--run N]``; the exit status."""
    from .records.report import export
    from .records.trace import TraceError

    if not args.output:
        return _usage("--export needs -o OUT, the file to write (or -o - for stdout)")
    fmt: ExportFormat = args.format or _FORMAT_BY_SUFFIX.get(Path(args.output).suffix.lower(), "html")
    problem = unwritable(args.output, flag="-o") if args.output != "-" else None
    if problem:
        return _usage(problem)
    try:
        report = _player(args.export, args.run) if fmt == "player" else export(args.export, fmt=fmt, run=args.run)
    except TraceError as exc:
        return _usage(str(exc))
    if not write_output(report, args.output):
        return EXIT_FAIL
    if args.output == "-":
        return EXIT_OK
    answers = 1 if args.run is not None else _count_runs(args.export)
    print(f"wrote the {_FORMAT_NAMES[fmt]} report of {answers} answer{'s' if answers != 1 else ''} "
          f"to {args.output}", file=sys.stderr)
    return EXIT_OK


def _player(path: str, run: int | None) -> str:
    from .records.timed import turns_from_runs
    from .player import player_html
    from .records.trace import read_runs, read_trace

    runs = read_runs(path) if run is None else [read_trace(path, run=run)]
    return player_html(str(runs[0][0].get("question", "")), turns_from_runs(runs))


def _count_runs(path: str) -> int:
    from .records.trace import read_runs

    return len(read_runs(path))


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE
