"""The import rules of the architecture (README, Architecture), checked on every module's source.

Each rule names who may not import what; a violation fails with the file, the
line and the import, so a new shortcut across a boundary is caught in review.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = ["agent", "ui", "bench", "devtools", "app.py"]
# Modules any backend may use; otherwise a backend imports only its own family
# (``openai`` and ``openai_errors``, ``openai_completions``...), never another backend.
SHARED_BACKEND_MODULES = {"agent.backends.base", "agent.backends.local.kv_cache", "agent.backends.local.sizing",
                          "agent.backends.local.streaming", "agent.backends.local.stops"}


def backend_family(module: str) -> str:
    return module.removeprefix("agent.backends.").split("_")[0]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, lazy ones included."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.append((node.lineno, base))
            # ``from . import x`` imports the submodule x.
            found += [(node.lineno, f"{base}.{a.name}") for a in node.names if not node.module]
    return found


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(module: str, imported: str) -> list[str]:
    rules = []
    if under(module, "agent") and (under(imported, "gradio") or under(imported, "ui")):
        rules.append("the engine never imports gradio or ui/")
    if (under(module, "ui") or module == "app") and under(imported, "agent") and imported != "agent.api":
        rules.append("ui/ and app.py use the engine through agent.api only")
    if imported == "agent.__main__":
        rules.append("nothing imports the CLI's __main__ (engine_flags live in agent.flags)")
    if under(imported, "tests") and not under(module, "tests"):
        rules.append("nothing outside tests/ imports tests/ (shared helpers live in devtools/)")
    if (under(module, "agent.backends") and under(imported, "agent.backends") and module != "agent.backends"
            and imported not in SHARED_BACKEND_MODULES and imported != "agent.backends"
            and backend_family(imported) != backend_family(module)):
        rules.append("a backend depends on the protocol and its own helpers, never on another backend")
    return rules


def all_imports() -> list[tuple[str, int, str]]:
    out = []
    for entry in CODE:
        path = ROOT / entry
        for file in ([path] if path.is_file() else sorted(path.rglob("*.py"))):
            module = module_name(file)
            for line, name in imports(file.read_text(encoding="utf-8"), module,
                                      is_package=file.name == "__init__.py"):
                out.append((f"{file.relative_to(ROOT)}:{line}", line, name))
    return out


def test_every_module_keeps_the_import_rules() -> None:
    broken = []
    for where, _, name in all_imports():
        module = module_name(ROOT / where.split(":")[0])
        broken += [f"{where} imports {name}: {rule}" for rule in violations(module, name)]
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("module,source,rule", [
    ("ui.session", "from agent.backends.base import Backend", "agent.api only"),
    ("app", "from agent.__main__ import engine_flags", "__main__"),
    ("agent.backends.openai.backend", "from .scripted import approx_tokens", "another backend"),
    ("bench.common", "from tests.tiny_model import build_tiny_model", "devtools"),
    ("agent.loop", "def f():\n    import gradio", "never imports gradio"),
])
def test_the_checker_catches_each_kind_of_shortcut(module: str, source: str, rule: str) -> None:
    found = [v for _, name in imports(source, module) for v in violations(module, name)]
    assert any(rule in v for v in found), found


def test_the_checker_reads_the_real_tree() -> None:
    names = {name for _, _, name in all_imports()}
    assert "agent.api" in names and "agent.backends.base" in names  # relative imports resolved


def test_every_reference_to_the_design_document_resolves() -> None:
    """The repo describes itself: a file that names DESIGN.md names the one in docs/."""
    assert (ROOT / "docs" / "DESIGN.md").is_file()
    files = [ROOT / "README.md", *[f for entry in CODE + ["tests"] for f in
                                   ([ROOT / entry] if (ROOT / entry).is_file() else (ROOT / entry).rglob("*.py"))]]
    loose = [str(f.relative_to(ROOT)) for f in files if f != Path(__file__).resolve()
             and re.search(r"(?<!docs/)DESIGN\.md", f.read_text(encoding="utf-8"))]
    assert not loose, f"these name a DESIGN.md that is not docs/DESIGN.md: {loose}"
