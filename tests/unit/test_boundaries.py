"""The import rules of the architecture (README, Architecture; docs/DESIGN.md, Layers), checked
on every module's source.

Each rule names who may not import what; a violation fails with the file, the
line and the import, so a new shortcut across a boundary is caught in review.
Two rules hold for the whole graph: no module imports a module of a higher layer
(``LAYERS``), and no chain of imports, module-level or lazy, comes back to where
it started.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = ["agent", "ui", "bench", "devtools", "app.py"]
# Modules any backend may use; otherwise a backend imports only its own family
# (``openai`` and ``openai_errors``, ``openai_completions``...), never another backend.
SHARED_BACKEND_MODULES = {"agent.backends.base"}
# The layers, lowest first. A module may import its own layer and the layers below it, never
# one above; a module belongs to the layer of the longest prefix that names it ("agent" names
# the package's own __init__ only). A new package is placed here, or the tests fail.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation: errors, files, text rules, redaction, the prompt's words", (
        "agent", "agent.errors", "agent.files", "agent.gpu", "agent.text", "agent.prompt", "agent.registry",
        "agent.redaction")),
    ("settings", ("agent.config",)),
    ("claims checked against their sources (pure)", ("agent.claims",)),
    ("what a run says: events and the model's tool calls", ("agent.events", "agent.parser")),
    ("what a run leaves: traces, replays, reports, the share player, the terminal",
     ("agent.records", "agent.player", "agent.terminal")),
    ("saved conversations", ("agent.history",)),
    ("documents", ("agent.index",)),
    ("search", ("agent.search",)),
    ("dialects", ("agent.dialects",)),
    ("reading pages", ("agent.read",)),
    ("backends", ("agent.backends", "agent.judge")),
    ("the engine's tools: documents, reading, the claims judge", (
        "agent.document_tool", "agent.reading", "agent.reading_model", "agent.claims.judge",
        "agent.claims.model_check")),
    ("the parts of one run: its state, the call verdict, running a call, the rounds, the Done", (
        "agent.loop.state", "agent.loop.decide", "agent.loop.tools", "agent.loop.rounds", "agent.loop.finish")),
    ("the engine: one run (agent/loop/__init__.py starts and ends it)", ("agent.loop",)),
    ("forks: a recorded run continued through the loop", ("agent.forking",)),
    ("a chat session", ("agent.session", "agent.flags", "agent.demo")),
    ("entry points", ("agent.api", "agent.__main__", "agent.export_cli", "agent.cli_output", "agent.eval",
                      "agent.index.__main__",
                      "agent.history.__main__", "agent.claims.cli")),
    ("the UI", ("ui",)),
    ("the app", ("app",)),
    ("benchmarks and developer tools", ("bench", "devtools")),
)


def backend_family(module: str) -> str:
    """``agent.backends.openai.stream`` -> ``openai``; a one-module backend is its own family."""
    return module.removeprefix("agent.backends.").split(".")[0]


def layer_of(module: str) -> int:
    best = max(((len(prefix), i) for i, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
                if under(module, prefix) and (prefix != "agent" or module == "agent")), default=None)
    assert best is not None, f"{module} is in no layer: place it in LAYERS"
    return best[1]


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
            if node.module:
                found.append((node.lineno, base))
            else:
                # ``from . import x`` imports the submodule x (or, where x is no module, the package).
                found += [(node.lineno, f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base)
                          for a in node.names]
    return found


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


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
    if is_project(module) and is_project(imported) and layer_of(imported) > layer_of(module):
        rules.append(f"a lower layer ({LAYERS[layer_of(module)][0]}) never imports a higher one "
                     f"({LAYERS[layer_of(imported)][0]}): move what both need down")
    return rules


def is_project(module: str) -> bool:
    return any(under(module, top) for top in ("agent", "ui", "app", "bench", "devtools"))


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (lazy and TYPE_CHECKING imports included)."""
    known = {module_name(ROOT / where.split(":")[0]) for where, _, _ in all_imports()}
    known |= {module_name(f) for entry in CODE for f in
              ([ROOT / entry] if (ROOT / entry).is_file() else (ROOT / entry).rglob("*.py"))}
    graph: dict[str, set[str]] = {m: set() for m in known}
    for where, _, name in all_imports():
        if name in known:
            graph[module_name(ROOT / where.split(":")[0])].add(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, or of one that imports itself
    (Tarjan's algorithm, iterative so a deep graph cannot overflow the stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return found


@functools.cache
def all_imports() -> tuple[tuple[str, int, str], ...]:
    """Every import of the project's code, read once per test run: five tests walk the same
    files, and parsing them all is most of this module's time."""
    out = []
    for entry in CODE:
        path = ROOT / entry
        for file in ([path] if path.is_file() else sorted(path.rglob("*.py"))):
            module = module_name(file)
            for line, name in imports(file.read_text(encoding="utf-8"), module,
                                      is_package=file.name == "__init__.py"):
                out.append((f"{file.relative_to(ROOT)}:{line}", line, name))
    return tuple(out)


def test_every_module_keeps_the_import_rules() -> None:
    broken = []
    for where, _, name in all_imports():
        module = module_name(ROOT / where.split(":")[0])
        broken += [f"{where} imports {name}: {rule}" for rule in violations(module, name)]
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("module,source,rule", [
    ("ui.session", "from agent.backends.base import Backend", "agent.api only"),
    ("app", "from agent.__main__ import engine_flags", "__main__"),
    ("agent.backends.openai.backend", "from ..scripted import approx_tokens", "another backend"),
    ("bench.common", "from tests.tiny_model import build_tiny_model", "devtools"),
    ("agent.loop", "def f():\n    import gradio", "never imports gradio"),
    ("agent.dialects.qwq", "from ..backends.base import Usage", "lower layer"),
    ("agent.records.report", "def f():\n    from ..loop import run", "lower layer"),
    ("agent.loop.rounds", "from . import run", "lower layer"),
    ("agent.backends.local.transformers", "from ..openai.link import RoundLink", "another backend"),
])
def test_the_checker_catches_each_kind_of_shortcut(module: str, source: str, rule: str) -> None:
    found = [v for _, name in imports(source, module) for v in violations(module, name)]
    assert any(rule in v for v in found), found


def test_no_chain_of_imports_comes_back_to_where_it_started() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles (break each by moving what both sides need into a module below them):\n" \
        + "\n".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("graph,expected", [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"a"}, "b": set()}, [["a"]]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_the_cycle_finder_finds_each_circle(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_every_module_has_a_layer() -> None:
    for module in import_graph():
        layer_of(module)


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


def test_a_browser_session_is_built_in_one_place() -> None:
    """``UISession.open`` registers a session with the runtime, so a closed tab deletes its files;
    a session built any other way in the app would leak them."""
    built = [f"{path.relative_to(ROOT)}:{node.lineno}"
             for path in [ROOT / "app.py", *(ROOT / "ui").rglob("*.py")]
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "UISession"]
    assert not built, f"UISession(...) outside UISession.open: {built}"
