"""The operator's view of the saved history::

    python -m agent.history list [--query TEXT] [--data-dir DIR] [--json]
    python -m agent.history export ID [--format jsonl|html|md|player] [-o FILE] [--data-dir DIR] [--json]
    python -m agent.history delete ID [--data-dir DIR] [--json]

The operator sees every browser's conversations (owners are shown as the first characters of
their hash). ``export`` writes the conversation's shown branch as a trace (``jsonl``, the
default: ``python -m agent --replay``/``--export`` read it), a report, or the share player.
Exit codes: 0 done, 2 bad arguments or no such conversation, 1 history unavailable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..cli_output import write_output
from ..errors import UsageError
from ..files import quiet_stdout, unwritable
from .config import history_config_from_env
from .errors import HistoryError, HistoryUnavailable
from .opening import open_store
from .export import render_conversation
from .store import HistoryStore, Saved, Summary

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _common(parser: argparse.ArgumentParser, *, default: object = None) -> None:
    parser.add_argument("--data-dir", metavar="DIR", default=default,
                        help="the data folder (default: DEEPSEARCH_DATA_DIR, else the user's data folder)")
    parser.add_argument("--json", action="store_true", default=False if default is None else default,
                        help="print JSON instead of text")


def _parser() -> argparse.ArgumentParser:
    # --data-dir and --json go before or after the command: a subcommand's own copy must not
    # reset what was given before it, so its default is to set nothing.
    common = argparse.ArgumentParser(add_help=False)
    _common(common, default=argparse.SUPPRESS)
    p = argparse.ArgumentParser(prog="python -m agent.history", description="List, export or delete saved "
                                "conversations (every browser's).")
    _common(p)
    sub = p.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", parents=[common], help="the saved conversations, newest first")
    listing.add_argument("--query", default="", help="only those whose title, questions or answers hold TEXT")
    export = sub.add_parser("export", parents=[common], help="write one conversation")
    export.add_argument("id")
    export.add_argument("--format", choices=["jsonl", "html", "md", "player"], default="jsonl",
                        help="jsonl: a trace (default); html/md: a report; player: the animated share file")
    export.add_argument("-o", "--output", metavar="FILE", help="where to write (default: stdout)")
    delete = sub.add_parser("delete", parents=[common], help="delete one conversation for good")
    delete.add_argument("id")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    output = getattr(args, "output", None)
    problem = unwritable(output, flag="-o") if output and output != "-" else None
    if problem:  # a bad argument, refused before the store is opened, as in python -m agent
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = history_config_from_env()
        if args.data_dir:
            config = config.with_overrides(data_dir=Path(args.data_dir).expanduser())
        # The operator asks on purpose: DEEPSEARCH_HISTORY=0 turns off the app's saving, not this.
        store = open_store(config.with_overrides(enabled=True))
    except HistoryUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "list":
            return _list(store, args)
        if args.command == "export":
            return _export(store, args)
        store.delete(None, args.id)
        _say(args, {"deleted": args.id}, f"deleted {args.id}")
        return EXIT_OK
    except HistoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `list | head`: the reader has what it wanted
        quiet_stdout()
        return EXIT_FAIL
    finally:
        store.close()


def _list(store: HistoryStore, args: argparse.Namespace) -> int:
    rows = store.list(None, query=args.query)
    if args.json:
        for row in rows:
            print(json.dumps(_summary(row), ensure_ascii=False))
        return EXIT_OK
    if not rows:
        print(f"no saved conversations in {store.path.parent}", file=sys.stderr)
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.updated))
        print(f"{row.id}  {when}  {row.turns:>3} turn{'s' if row.turns != 1 else ' '}  "
              f"{row.owner[:8]}  {row.title}")
    return EXIT_OK


def _export(store: HistoryStore, args: argparse.Namespace) -> int:
    conversation = store.load(None, args.id)
    for problem in conversation.problems:
        print(f"warning: {problem}", file=sys.stderr)
    text = _as_json(conversation) if args.json else render_conversation(conversation, args.format)
    if not write_output(text, args.output):
        return EXIT_FAIL
    if not args.output or args.output == "-":
        return EXIT_OK
    print(f"wrote {args.id} to {args.output}", file=sys.stderr)
    return EXIT_OK


def _as_json(conversation: Saved) -> str:
    """The record itself (``agent.records``' JSON) with the list's fields and each turn's times."""
    from ..records.conversation import CONVERSATION

    out = _summary(conversation.summary)
    out["record"] = CONVERSATION.dump_python(conversation.record, mode="json")
    out["times"] = {key: timed.times for key, timed in conversation.turns.items()}
    out["fork_at"] = {key: timed.fork_at for key, timed in conversation.turns.items() if timed.fork_at is not None}
    return json.dumps(out, ensure_ascii=False) + "\n"


def _summary(row: Summary) -> dict:
    return {"id": row.id, "title": row.title, "created": row.created, "updated": row.updated,
            "turns": row.turns, "bytes": row.bytes, "shared": row.shared, "owner": row.owner[:8]}


def _say(args: argparse.Namespace, data: dict, text: str) -> None:
    print(json.dumps(data) if args.json else text)


if __name__ == "__main__":
    sys.exit(main())
