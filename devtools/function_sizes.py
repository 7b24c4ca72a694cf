"""List functions longer than a limit: ``python -m devtools.function_sizes [LIMIT] [PATH ...]``.

The team keeps functions in agent/, ui/ and app.py under about 60 lines; this
prints the ones over, longest first, and module sizes over 400 lines.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = ("agent", "ui", "app.py")


def long_functions(paths: list[Path], limit: int) -> list[tuple[int, str]]:
    found = []
    for file in _files(paths):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > limit:
                    found.append((size, f"{file.relative_to(ROOT)}:{node.lineno} {node.name}"))
    return sorted(found, reverse=True)


def long_modules(paths: list[Path], limit: int = 400) -> list[tuple[int, str]]:
    sizes = [(len(f.read_text(encoding="utf-8").splitlines()), str(f.relative_to(ROOT))) for f in _files(paths)]
    return sorted((n, name) for n, name in sizes if n > limit)[::-1]


def _files(paths: list[Path]) -> list[Path]:
    return [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.py")))]


def main(argv: list[str]) -> int:
    limit = int(argv[0]) if argv else 60
    paths = [ROOT / p for p in (argv[1:] or DEFAULT_PATHS)]
    for size, where in long_functions(paths, limit):
        print(f"{size:4d}  {where}")
    for size, where in long_modules(paths):
        print(f"{size:4d}  {where} (module)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
