"""One error tree: every error the project defines is a DeepSearchError, in its branch, and the
entry points turn one into a single line and an exit status (2 for usage)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import agent
import ui
from agent.errors import (BackendError, DeepSearchError, DocumentIndexError, RecordsError, SearchProblem,
                          UsageError)


def _project_modules():
    for package in (agent, ui):
        for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            if not info.name.endswith("__main__"):
                yield importlib.import_module(info.name)
    for name in ("agent.__main__", "agent.index.__main__", "agent.eval.__main__"):
        yield importlib.import_module(name)


def project_errors() -> dict[str, type[BaseException]]:
    found = {}
    for module in _project_modules():
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_error_the_project_defines_is_inside_the_tree():
    errors = project_errors()
    assert len(errors) > 20  # the walk found the project's errors, not nothing
    outside = sorted(name for name, cls in errors.items() if not issubclass(cls, DeepSearchError))
    assert not outside, f"errors outside DeepSearchError: {outside}"


@pytest.mark.parametrize("name,branch", [
    ("agent.config.SettingsError", UsageError), ("agent.loop.InputError", UsageError),
    ("agent.backends.scripted.ScriptError", UsageError), ("agent.search.fixture.FixtureError", UsageError),
    ("agent.eval.dataset.DatasetError", UsageError), ("agent.records.trace.TraceError", UsageError),
    ("agent.backends.openai.backend.OpenAIConfigError", UsageError),
    ("agent.backends.openai.backend.OpenAIConfigError", BackendError),
    ("agent.backends.scripted.ScriptLeftOver", BackendError),
    ("agent.errors.SearchError", SearchProblem), ("agent.errors.AllProvidersFailed", SearchProblem),
    ("agent.read.errors.ReadFailed", SearchProblem),
    ("agent.index.records.IndexUnavailable", DocumentIndexError),
    ("agent.index.readers.UnreadableFile", DocumentIndexError),
    ("agent.records.trace.TraceError", RecordsError), ("agent.eval.results.ResultsError", RecordsError),
])
def test_each_error_sits_in_its_branch(name, branch):
    assert issubclass(project_errors()[name], branch)


def test_usage_errors_are_no_bare_value_errors():
    from agent.dialects import get_dialect
    from agent.records.replay import replay
    from agent.records.report import export_runs
    from agent.session import build_backend
    from agent.config import Settings

    with pytest.raises(UsageError, match="unknown dialect"):
        get_dialect("klingon")
    with pytest.raises(UsageError, match="needs a model script"):
        build_backend(Settings(backend="scripted"))
    with pytest.raises(UsageError, match="no runs"):
        export_runs([], "html")
    with pytest.raises(UsageError, match="replay speed"):
        list(replay("unused.jsonl", speed=-1))


@pytest.mark.parametrize("error,status", [(UsageError("bad flag --x"), 2), (RecordsError("the file broke"), 1),
                                          (BackendError("the model is gone"), 1)])
@pytest.mark.parametrize("cli", ["agent.__main__", "agent.index.__main__"])
def test_an_entry_point_turns_a_project_error_into_one_line_and_a_status(cli, error, status, monkeypatch, capsys):
    module = importlib.import_module(cli)

    def fail(argv):
        raise error

    monkeypatch.setattr(module, "_main", fail)
    assert module.main([]) == status
    err = capsys.readouterr().err
    assert err == f"error: {error}\n"


def test_the_cli_says_a_missing_model_script_is_a_usage_error(capsys):
    from agent.__main__ import main

    assert main(["What is it?", "--backend", "scripted"]) == 2
    assert "needs a model script" in capsys.readouterr().err
