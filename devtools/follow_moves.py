"""Rewrite imports and references to modules that moved into folders by job.

``python -m devtools.follow_moves FILE ...`` rewrites, in place, every import of
a moved module (absolute or relative, at module level or inside a function),
every dotted name in a string (``"agent.trace.TraceWriter"`` in a patch) and
every path (``agent/report.py`` in prose). Run it on a file written against the
old layout; running it twice changes nothing.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MOVES = {
    "agent.backends.openai": "agent.backends.openai.backend",
    "agent.backends.openai_completions": "agent.backends.openai.completions",
    "agent.backends.openai_round": "agent.backends.openai.round",
    "agent.backends.openai_stream": "agent.backends.openai.stream",
    "agent.backends.openai_errors": "agent.backends.openai.errors",
    "agent.backends.openai_link": "agent.backends.openai.link",
    "agent.backends.transformers": "agent.backends.local.transformers",
    "agent.backends.transformers_gate": "agent.backends.local.gate",
    "agent.backends.kv_cache": "agent.backends.local.kv_cache",
    "agent.backends.sizing": "agent.backends.local.sizing",
    "agent.backends.stops": "agent.backends.local.stops",
    "agent.backends.streaming": "agent.backends.local.streaming",
    "agent.trace": "agent.records.trace",
    "agent.replay": "agent.records.replay",
    "agent.report": "agent.records.report",
    "agent.report_html": "agent.records.report_html",
    "agent.report_md": "agent.records.report_md",
    "agent.citations": "agent.text.citations",
    "agent.safe_url": "agent.text.safe_url",
    "agent.markdown_code": "agent.text.markdown_code",
    "agent.answer_markdown": "agent.text.answer_markdown",
}
# Packages that now stand where a moved module was: their own submodules are new names, not old ones.
_NEW_CHILDREN = {old: {new.rpartition(".")[2] for new in MOVES.values() if new.startswith(old + ".")}
                 for old in MOVES}
_DOTTED = re.compile(r"(?<![\w.])(" + "|".join(re.escape(m) for m in sorted(MOVES, key=len, reverse=True))
                     + r")(?!\w)(\.\w+)?")
_PATHS = re.compile(r"(?<![\w/])(" + "|".join(re.escape(m.replace(".", "/")) for m in sorted(
    MOVES, key=len, reverse=True)) + r")\.py\b")

_IMPORT_LINE = re.compile(r"\s*(from\s+\S+\s+import|import)\s")


def new_name(old: str) -> str:
    return MOVES.get(old, old)


def _package(module: str, is_package: bool) -> list[str]:
    parts = module.split(".")
    return parts if is_package else parts[:-1]


def _spelled(importer_package: list[str], target: str, relative: bool) -> str:
    if not relative:
        return target
    t = target.split(".")
    k = 0
    while k < min(len(t), len(importer_package)) and t[k] == importer_package[k]:
        k += 1
    return "." * (len(importer_package) - k + 1) + ".".join(t[k:])


def rewrite_imports(source: str, *, resolved_as: str, now: str, is_package: bool = False) -> str:
    """``source`` with each ``from X import`` pointed at the new home of X. Relative imports are
    resolved against ``resolved_as`` (where the file stood when written) and re-spelled from ``now``."""
    old_pkg, new_pkg = _package(resolved_as, is_package), _package(now, is_package)
    lines = source.splitlines(keepends=True)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        base = node.module or ""
        if node.level:
            anchor = old_pkg[: len(old_pkg) - node.level + 1]
            base = ".".join(anchor + ([node.module] if node.module else []))
        line = lines[node.lineno - 1]
        moved_children = [a for a in node.names if f"{base}.{a.name}" in MOVES
                          and a.name not in _NEW_CHILDREN.get(base, ())]
        if moved_children:
            # ``from agent import trace``: one module a statement, so the parent can change.
            assert len(node.names) == 1 and node.end_lineno == node.lineno, f"rewrite by hand: {line!r}"
            alias = node.names[0]
            target = MOVES[f"{base}.{alias.name}"]
            parent, _, leaf = target.rpartition(".")
            as_name = alias.asname or alias.name
            tail = "" if as_name == leaf else f" as {as_name}"
            indent = line[: len(line) - len(line.lstrip())]
            comment = "  " + line[line.index("#"):].rstrip() if "#" in line else ""
            lines[node.lineno - 1] = (f"{indent}from {_spelled(new_pkg, parent, bool(node.level))} "
                                      f"import {leaf}{tail}{comment}\n")
            continue
        if base in MOVES and not any(a.name in _NEW_CHILDREN[base] for a in node.names):
            target = MOVES[base]
        else:
            target = base
        if target == base and (not node.level or old_pkg == new_pkg):
            continue
        spelled = _spelled(new_pkg, target, bool(node.level))
        head = re.match(r"\s*from\s+\S+\s+import\b", line)
        assert head, f"rewrite by hand: {line!r}"
        lines[node.lineno - 1] = re.sub(r"\S+(?=\s+import\b)", spelled, head.group(0), count=1) + line[head.end():]
    return "".join(lines)


def _dotted(match: re.Match[str]) -> str:
    old, attr = match.group(1), match.group(2) or ""
    if attr and attr[1:] in _NEW_CHILDREN[old]:
        return match.group(0)  # already the new name
    return MOVES[old] + attr


def rewrite_references(text: str) -> str:
    """Dotted names and paths outside import statements (those are ``rewrite_imports``'s)."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if not _IMPORT_LINE.match(line):
            line = _DOTTED.sub(_dotted, line)
            lines[i] = _PATHS.sub(lambda m: MOVES[m.group(1).replace("/", ".")].replace(".", "/") + ".py", line)
    return "".join(lines)


def module_of(path: Path) -> tuple[str, bool]:
    parts = list(path.resolve().relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def follow(path: Path, *, resolved_as: str | None = None) -> bool:
    text = path.read_text(encoding="utf-8")
    out = text
    if path.suffix == ".py":
        now, is_package = module_of(path)
        out = rewrite_imports(out, resolved_as=resolved_as or now, now=now, is_package=is_package)
    out = rewrite_references(out)
    if out != text:
        path.write_text(out, encoding="utf-8")
    return out != text


def main(argv: list[str]) -> int:
    changed = [p for p in map(Path, argv) if follow(p)]
    print("\n".join(f"rewrote {p}" for p in changed) or "nothing to rewrite")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
