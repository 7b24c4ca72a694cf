"""``python -m agent.index add|remove|search|stats|serve --index DIR``.

Exit codes: 0 on success, 1 when an ``add`` indexed nothing because every file
was skipped (each skip has printed its reason), or a write failed (another
process held the index past the wait, a full disk: one ``error:`` line, and what
was added before stays), 2 for bad arguments or an index that cannot be opened.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Iterator

from ..config import encodable
from ..errors import DeepSearchError, UsageError
from ..events import json_line
from ..files import quiet_stdout
from ..terminal import clean
from ..text.counts import counted
from .readers import KINDS, kind_of
from .records import IndexBusy
from .store import AddOutcome, DocumentIndex, IndexUnavailable

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
_LINE_BREAKS = re.compile("[\n\r\v\f\x85\u2028\u2029]")
ENV_INDEX = "DEEPSEARCH_INDEX"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m agent.index",
                                description="An on-disk full-text index of your documents.")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_text)
        c.add_argument("--index", metavar="DIR", default=os.environ.get(ENV_INDEX) or None,
                       help=f"the index directory (default: ${ENV_INDEX})")
        return c

    add = command("add", "index files or folders (.txt .md .html .pdf, Search-R1 .jsonl)")
    add.add_argument("paths", nargs="+", metavar="PATH")
    remove = command("remove", "drop files (or everything under a folder) from the index")
    remove.add_argument("paths", nargs="+", metavar="PATH")
    search = command("search", "the best passages for a query")
    search.add_argument("query")
    search.add_argument("--k", type=int, default=5, metavar="N", help="passages to show (default 5)")
    search.add_argument("--json", action="store_true", help="print one JSON object")
    stats = command("stats", "documents, passages and size on disk")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    serve = command("serve", "serve Search-R1's POST /retrieve API over the index")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    return p


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    """Run the index CLI; a project error that reaches here is one line: usage exits 2, any other 1."""
    try:
        return _main(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DeepSearchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except BrokenPipeError:  # `search ... | head`: the reader has what it wanted
        quiet_stdout()
        return EXIT_FAIL


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    # pypdf logs every oddity of a damaged PDF; the one skip line per file says enough.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not args.index:
        print(f"error: say which index with --index DIR (or set {ENV_INDEX})", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "search" and args.k < 1:
        print(f"error: --k must be at least 1, got {args.k!r}", file=sys.stderr)
        return EXIT_USAGE
    if Path(args.index).is_file():
        print(f"error: --index {args.index!r} is a file, not an index folder; name a folder "
              "(add creates it)", file=sys.stderr)
        return EXIT_USAGE
    try:
        index = DocumentIndex(args.index, create=args.command == "add",
                              read_only=args.command in ("search", "stats", "serve"))
    except IndexUnavailable as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_FAIL if isinstance(exc, IndexBusy) else EXIT_USAGE  # busy: try again later
    with index, _notes_to_stderr():
        match args.command:
            case "add":
                return _add(index, args.paths)
            case "remove":
                return _remove(index, args.paths)
            case "search":
                # A lone surrogate (a JSON escape, bytes argv could not decode) can be neither
                # searched for nor printed.
                return _search(index, encodable(args.query), k=args.k, as_json=args.json)
            case "stats":
                return _stats(index, as_json=args.json)
            case "serve":
                from . import server

                print(f"serving POST http://{args.host}:{args.port}/retrieve over {args.index}",
                      file=sys.stderr)
                if not server.is_loopback(args.host):
                    print(f"warning: anyone who can reach {args.host}:{args.port} can read every passage "
                          "of this index (there is no authentication); bind 127.0.0.1 unless you mean it",
                          file=sys.stderr)
                server.serve(index, host=args.host, port=args.port)
    return EXIT_OK


def _add(index: DocumentIndex, paths: list[str]) -> int:
    outcomes: list[AddOutcome] = []
    try:
        for outcome in _add_all(index, paths):
            _say(outcome.message)
            outcomes.append(outcome)
    except IndexUnavailable as exc:  # locked past the wait, a full disk: what was added stays
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_FAIL
    stats = index.stats()
    print(f"index: {counted(stats.documents, 'document')}, {counted(stats.passages, 'passage')}, "
          f"{stats.bytes_on_disk / 1e6:.1f} MB")
    if outcomes and all(o.status == "skipped" for o in outcomes):
        return EXIT_FAIL
    return EXIT_OK


def _add_all(index: DocumentIndex, paths: list[str]) -> Iterator[AddOutcome]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(path).parts))
            files, outside = _inside(path, files)
            yield from (AddOutcome(status="skipped", name=f.name,
                                   reason=f"{f}: a symbolic link to a file outside {path}; not followed")
                        for f in outside)
            known = [f for f in files if kind_of(f) is not None]
            if len(known) < len(files):
                _say(f"skipped {len(files) - len(known)} file(s) of other types in {path}")
            if not known:
                yield AddOutcome(status="skipped", name=path.name,
                                 reason=f"{path}: no files to index in this folder "
                                        f"(supported: {', '.join(sorted(set(KINDS)))})")
            yield from (_add_file(index, f) for f in known)
        elif path.is_file():
            yield _add_file(index, path)
        elif path.exists():  # reading a FIFO would wait for a writer for ever
            yield AddOutcome(status="skipped", name=path.name,
                             reason=f"{path}: not a regular file (a pipe, socket or device)")
        else:
            yield AddOutcome(status="skipped", name=path.name, reason=f"{path}: no such file or folder")


def _inside(folder: Path, files: list[Path]) -> tuple[list[Path], list[Path]]:
    """``files`` split into those that really lie in ``folder`` and those a symbolic link (the
    file's or a folder's on the way) leads out of it: adding a folder adds what is in it, never
    what a link in it points to elsewhere (``x.txt -> ~/.ssh/id_rsa`` would be indexed and served)."""
    root = folder.resolve()
    inside: list[Path] = []
    outside: list[Path] = []
    for f in files:
        (inside if f.resolve().is_relative_to(root) else outside).append(f)
    return inside, outside


def _add_file(index: DocumentIndex, path: Path) -> AddOutcome:
    try:
        str(path.resolve()).encode("utf-8")
    except UnicodeEncodeError:  # bytes from another system's encoding: the index stores UTF-8 text
        return AddOutcome(status="skipped", name=path.name,
                          reason=f"{path}: the file name is not valid UTF-8; rename it to index it")
    return index.add_file(path)


def _say(line: str) -> None:
    """One line for the terminal: untrusted names made inert, and bytes of a file name that are not
    UTF-8 shown as U+FFFD (printing them as they are would raise)."""
    print(one_line(line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")), flush=True)


def one_line(text: str) -> str:
    """``text`` made inert and kept on one line: a file name may hold a line break, which would
    otherwise print a line of its own (``added x\\nskipped ...`` forges a second outcome)."""
    return _LINE_BREAKS.sub(lambda m: repr(m.group())[1:-1], clean(text))


class _CleanFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return one_line(super().format(record))  # names in notes are untrusted text, like passages


@contextmanager
def _notes_to_stderr() -> Iterator[None]:
    """The readers' notes (a corpus's bad lines, repeated ids) as plain lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CleanFormatter("note: %(message)s"))
    logger = logging.getLogger(__package__)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _remove(index: DocumentIndex, paths: list[str]) -> int:
    for raw in paths:
        target = str(Path(raw).resolve())
        keys = [d.key for d in index.documents()
                if d.key == target or d.key.startswith(target.rstrip(os.sep) + os.sep)]
        if not keys:
            _say(f"not indexed: {raw}")
        for key in keys:
            try:
                gone = index.remove(key)
            except IndexUnavailable as exc:  # locked past the wait, a full disk: the rest stays
                print(f"error: {one_line(str(exc))}", file=sys.stderr)
                return EXIT_FAIL
            _say(f"removed {key} ({counted(gone, 'passage')})")
    return EXIT_OK


def _search(index: DocumentIndex, query: str, *, k: int, as_json: bool) -> int:
    hits = index.search(query, k=k)
    if as_json:
        print(json_line({"query": query, "hits": [asdict(h) for h in hits]}))
        return EXIT_OK
    if not hits:
        print("no passages match")
    for rank, hit in enumerate(hits, start=1):
        where = hit.file + (f", page {hit.page}" if hit.page is not None else "")
        heading = f" > {hit.heading}" if hit.heading else ""
        # Passages and file names are untrusted text: nothing in them may act on the terminal.
        print(one_line(f"{rank}. {where}{heading}  (score {hit.score:.2f})"))
        print(one_line(f"   {hit.text[:300]}{' …' if len(hit.text) > 300 else ''}"))
    return EXIT_OK


def _stats(index: DocumentIndex, *, as_json: bool) -> int:
    stats = index.stats()
    if as_json:
        print(json.dumps(asdict(stats)))
    else:
        print(f"{counted(stats.documents, 'document')}, {counted(stats.passages, 'passage')}, "
              f"{stats.bytes_on_disk / 1e6:.1f} MB on disk")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
