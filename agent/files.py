"""The files of the command line: JSON inputs people pass (scripts, search fixtures), output paths
checked before anything runs, and stdout after its reader went away."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any


def read_json_file(path: str | Path, *, what: str, error: type[ValueError]) -> Any:
    """Parsed JSON of ``path``; ``error`` names the file and what is wrong with it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{what} {str(path)!r} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} {str(path)!r} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise error(f"{what} {str(path)!r} holds JSON nested far too deeply to read") from None


def lenient_key(text: str) -> str:
    """How a file's entry (a fixture's query, a catalogue's question) is matched: ignoring case
    and spacing, which models and people vary when they repeat a text they were shown."""
    return " ".join(str(text).split()).casefold()


def unwritable(path: str | Path, *, flag: str) -> str | None:
    """Why ``path`` (given with ``flag``) cannot be written, or None. Asked before a run, so a
    bad path is refused at once instead of after the answer: opening for append is the only
    check that also holds for root, read-only mounts and special files. A file created just
    for the check is removed again."""
    target = Path(path)
    if target.is_dir():
        return f"{flag} {str(target)!r} is a folder; give a file path"
    existed = target.exists()
    try:
        with target.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        return f"{flag} {str(target)!r} cannot be written: {exc.strerror or exc}; pick a writable path"
    if not existed:
        target.unlink(missing_ok=True)
    return None


def quiet_stdout() -> None:
    """Point stdout at /dev/null after its reader went away (``... | head``), so the interpreter's
    final flush cannot fail again with a BrokenPipe traceback (the approach the Python docs give
    for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # stdout is not a real file (tests): nothing will flush to a closed pipe
