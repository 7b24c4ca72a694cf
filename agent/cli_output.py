"""Where a command's text goes: stdout, or the file ``-o FILE`` names. One place, so every
command says a file it cannot write the same way (one line, the file named, exit 1)."""

from __future__ import annotations

import sys
from pathlib import Path


def write_output(text: str, output: str | None) -> bool:
    """``text`` on stdout (no ``output``, or ``-``) or in the file ``output``; False, with the
    error line on stderr, when that file cannot be written."""
    if not output or output == "-":
        sys.stdout.write(text)
        return True
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {output!r}: {exc.strerror or exc}", file=sys.stderr)
        return False
    return True
