"""A local model whose tokenizer cannot serve the dialect is refused at start-up (issue 25.18):
``python -m agent``, ``python app.py`` and the eval load only the tokenizer, refuse with one line
naming the model and the token (exit 2), and never reach the weights (their loader is replaced by
one that fails the test). A tokenizer that can serve the dialect passes, still without weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import agent.backends.local.transformers as local
from agent.__main__ import main as cli
from agent.backends.base import BackendError as TokenizerMismatch
from agent.backends.local.transformers import TransformersBackend
from agent.config import Settings
from agent.eval.__main__ import main as eval_cli
from devtools.tiny_model import build_tiny_model

TOKEN = "</tool_call>"


@pytest.fixture(scope="module")
def no_single_close(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model, its tokenizer spelling </tool_call> in ten pieces."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-no-close"), without=(TOKEN,))


@pytest.fixture(scope="module")
def no_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model, its tokenizer without a chat template (a base model's)."""
    path = build_tiny_model(tmp_path_factory.mktemp("tiny-no-template"))
    (path / "chat_template.jinja").unlink()
    config = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.pop("chat_template", None)
    (path / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return path


class Unreachable:
    """Stands for AutoConfig / AutoModelForCausalLM: reaching it fails the test."""

    def __init__(self, what: str) -> None:
        self.what = what

    def from_pretrained(self, *_: Any, **__: Any) -> Any:
        raise AssertionError(f"the {self.what} were loaded before the tokenizer was checked")


@pytest.fixture
def no_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "AutoModelForCausalLM", Unreachable("weights"))
    monkeypatch.setattr(local, "AutoConfig", Unreachable("config"))


def refusal(err: str, model: Path) -> None:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert repr(str(model)) in lines[0] and repr(TOKEN) in lines[0] and "qwq" in lines[0], err
    assert "Traceback" not in err and "AssertionError" not in err, err


@pytest.mark.usefixtures("no_weights")
def test_cli_refuses_before_the_weights_load(no_single_close: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(["Who built it?", "--backend", "transformers", "--model", str(no_single_close), "--json"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""  # refused before the run: no event at all
    refusal(err, no_single_close)


@pytest.mark.usefixtures("no_weights")
def test_app_refuses_at_start_up(no_single_close: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import app

    code = app.main(["--backend", "transformers", "--model", str(no_single_close), "--no-history"])
    _, err = capsys.readouterr()
    assert code == 2, err
    refusal(err, no_single_close)
    assert "Running on" not in err


@pytest.mark.usefixtures("no_weights")
def test_eval_refuses_before_the_first_question(no_single_close: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "q.jsonl"
    dataset.write_text(json.dumps({"id": "1", "question": "Who?", "golden_answers": ["Ann"]}) + "\n",
                       encoding="utf-8")
    code = eval_cli([str(dataset), "--out", str(tmp_path / "out"), "--backend", "transformers",
                     "--model", str(no_single_close), "--no-progress"])
    _, err = capsys.readouterr()
    assert code == 2, err
    refusal(err, no_single_close)
    assert not (tmp_path / "out" / "results.jsonl").exists()


@pytest.mark.usefixtures("no_weights")
def test_the_refusal_is_remembered_and_the_weights_never_load(no_single_close: Path) -> None:
    backend = TransformersBackend(settings=Settings(model=str(no_single_close)))
    with pytest.raises(TokenizerMismatch) as first:
        backend.preflight()
    with pytest.raises(TokenizerMismatch) as later:  # a question asked anyway: the same refusal
        backend.load()
    assert str(later.value) == str(first.value) and not backend.loaded


@pytest.mark.usefixtures("no_weights")
def test_a_base_model_without_a_chat_template_is_refused_too(no_template: Path) -> None:
    with pytest.raises(TokenizerMismatch, match="no chat template"):
        TransformersBackend(settings=Settings(model=str(no_template))).preflight()


@pytest.mark.usefixtures("no_weights")
@pytest.mark.parametrize("dialect", ["search-r1", "research"])
def test_tag_dialects_match_their_tags_as_text_so_the_same_tokenizer_serves_them(no_single_close: Path,
                                                                                 dialect: str) -> None:
    TransformersBackend(settings=Settings(model=str(no_single_close), dialect=dialect)).preflight()


def test_a_fitting_tokenizer_passes_without_loading_weights_then_loads_once(
        tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = TransformersBackend(settings=Settings(model=str(tiny_model_dir)))
    with monkeypatch.context() as patched:
        patched.setattr(local, "AutoModelForCausalLM", Unreachable("weights"))
        backend.preflight()
    assert not backend.loaded
    loads: list[str] = []
    real = local.AutoTokenizer

    class Counted:
        @staticmethod
        def from_pretrained(*args: Any, **kwargs: Any) -> Any:
            loads.append("tokenizer")
            return real.from_pretrained(*args, **kwargs)

    monkeypatch.setattr(local, "AutoTokenizer", Counted)
    backend.load()
    assert backend.loaded and loads == []  # the checked tokenizer is the one used
    backend.close()


def test_a_folder_without_a_tokenizer_is_left_to_the_run_as_before(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Loading that fails outright is the run's error event (exit 1), as it was: preflight refuses
    only what the tokenizer shows."""
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    code = cli(["Who?", "--backend", "transformers", "--model", str(tmp_path), "--json"])
    out, _ = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and events[-1]["type"] == "error" and str(tmp_path) in events[-1]["message"], out
