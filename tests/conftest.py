from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.ui_helpers import AppProcesses

# A test's tier is the folder it lives in; the folder sets its marker (``pytest -m unit``) and the
# timeout a hang fails with. A test's own ``@pytest.mark.timeout`` still wins. The unit timeout is
# far above any unit test's time on a quiet machine (4 s at most): at a load average of 15-20 on
# 2 cores, 2-second tests (test_boundaries' import graph) took over 30 s, and a timeout is only
# there to end a hang.
TIERS = {"unit": 120, "integration": 300, "browser": 300, "bench": 300}


def tier_of(path: Path) -> str:
    tests = Path(__file__).resolve().parent
    try:
        folder = path.resolve().relative_to(tests).parts[0]
    except ValueError:
        folder = ""
    if folder not in TIERS:
        raise pytest.UsageError(f"{path}: a test file belongs in one of tests/{{{','.join(TIERS)}}}/, "
                                f"not {folder or 'tests/'!r}; move it into the tier it needs")
    return folder


def pytest_configure(config: pytest.Config) -> None:
    """A private temp folder for this pytest process (each xdist worker its own, inside the
    controller's), for the tests, the app and every subprocess they start (TMPDIR): tests that
    look for the app's deepsearch-* folders see only their own process's, never a parallel
    worker's or another checkout's run on the same machine."""
    # One torch thread per process (the tiny model needs no more), for the tests and every process
    # they start: two xdist workers each running torch's default two threads on two cores keep
    # OpenMP threads spinning for a core the other holds. Measured on test_run_all_smoke: 12 s of
    # CPU with one thread against 18 s with two, and 25 s wall against 40 s (load average 4-6).
    # Set before any test module imports torch; an OMP_NUM_THREADS already set is kept.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # Before any test module imports gradio (tests/ui_helpers.py does so before app.py): the UI
    # package makes gradio's import skip rewriting its type stubs, ~1 s of CPU in every worker.
    import ui  # noqa: F401
    private = tempfile.mkdtemp(prefix="deepsearch-tests-")
    config.stash[_PRIVATE_TMP] = (private, os.environ.get("TMPDIR"), tempfile.tempdir)
    os.environ["TMPDIR"] = tempfile.tempdir = private


def pytest_unconfigure(config: pytest.Config) -> None:
    private, tmpdir, tempdir = config.stash.get(_PRIVATE_TMP, (None, None, None))
    if private is None:
        return
    tempfile.tempdir = tempdir
    if tmpdir is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = tmpdir
    shutil.rmtree(private, ignore_errors=True)


_PRIVATE_TMP = pytest.StashKey[tuple]()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A tier's folder that ``-m`` cannot select is not collected at all: ``-m unit`` would
    otherwise import every integration, browser and bench module (gradio's client, playwright,
    torch) in each xdist worker, only to deselect their tests; that was a third of the unit
    tier's time. A tier's tests carry its marker, and maybe others: the folder is skipped only
    when the expression is false whatever those others are."""
    markexpr = config.getoption("markexpr", default="")
    tests = Path(__file__).resolve().parent
    if not markexpr or collection_path.parent != tests or collection_path.name not in TIERS:
        return None
    from _pytest.mark.expression import Expression  # how pytest itself reads -m

    expression = Expression.compile(markexpr)
    tier = collection_path.name

    def selectable(others: bool) -> bool:
        return expression.evaluate(lambda name, **_: name == tier if name in TIERS else others)
    return True if not (selectable(True) or selectable(False)) else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(Path(item.fspath))
        item.add_marker(getattr(pytest.mark, tier))
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TIERS[tier]))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 model with a QwQ-like tokenizer, built once per test run."""
    # Imported here, not at the top: it pulls in torch and transformers (~7 s on a loaded 2-core
    # box), which every xdist worker of a tier that never builds the model would pay for nothing.
    from devtools.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwq"))


@pytest.fixture
def app_processes() -> Iterator[AppProcesses]:
    """Starts ``python app.py`` (``.start(lines, port=..., **env)``); every process it started is
    killed when the test ends, passed or failed."""
    from tests.ui_helpers import AppProcesses  # imports app.py (gradio): only tests that start one

    started = AppProcesses()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(autouse=True)
def _unit_tier_is_pure(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test that starts a process or opens a network socket fails at once, naming what it
    did: such a test belongs in tests/integration/."""
    if request.node.get_closest_marker("unit") is None:
        return

    def refuse(what: str):
        def refused(*args: object, **kwargs: object):
            raise RuntimeError(f"a unit test {what}: move {request.node.nodeid} to tests/integration/")
        return refused

    real_connect, real_bind = socket.socket.connect, socket.socket.bind

    def network_only(real, what: str):
        def guarded(self: socket.socket, *args: object):
            if self.family == socket.AF_UNIX:
                return real(self, *args)
            return refuse(what)()
        return guarded

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse("started a process"))
    monkeypatch.setattr(socket.socket, "connect", network_only(real_connect, "opened a network connection"))
    monkeypatch.setattr(socket.socket, "bind", network_only(real_bind, "bound a network socket"))
