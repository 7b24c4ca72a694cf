"""Deployment: the ZeroGPU decorator, the Space front matter, the requirements pins.

All offline and on CPU. The ZeroGPU path itself cannot run without a ZeroGPU
Space, so it is checked against a stand-in for ``spaces.GPU``; the real
decorator is checked to be the documented no-op off Spaces.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

import agent.gpu as gpu

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
REQUIREMENTS = REPO / "requirements.txt"


def _events(question: str) -> Iterator[str]:
    yield f"thinking about {question}"
    yield "answer"


def test_off_spaces_on_gpu_returns_the_function_unchanged() -> None:
    assert not gpu.on_zero_gpu()  # the test environment is not a ZeroGPU Space
    wrapped = gpu.on_gpu(_events, duration_s=240)
    assert wrapped is _events and inspect.isgeneratorfunction(wrapped)
    assert list(wrapped("q")) == ["thinking about q", "answer"]


def test_the_real_spaces_decorator_is_a_no_op_off_spaces() -> None:
    spaces = pytest.importorskip("spaces")
    assert spaces.GPU(duration=60)(_events) is _events


def test_on_zero_gpu_the_generator_function_is_decorated_with_the_duration(monkeypatch) -> None:
    seen: dict[str, Any] = {}

    class FakeSpaces:
        @staticmethod
        def GPU(*, duration: int):
            def decorate(fn):
                # The real wrapper picks its generator path with isgeneratorfunction.
                seen.update(duration=duration, generator=inspect.isgeneratorfunction(fn))
                return fn
            return decorate

    monkeypatch.setattr(gpu, "spaces", FakeSpaces)
    monkeypatch.setattr(gpu, "on_zero_gpu", lambda: True)
    assert gpu.on_gpu(_events, duration_s=120) is _events
    assert seen == {"duration": 120, "generator": True}


def test_on_zero_gpu_follows_the_spaces_flag(monkeypatch) -> None:
    pytest.importorskip("spaces")
    from spaces.config import Config

    monkeypatch.setattr(Config, "zero_gpu", True)
    assert gpu.on_zero_gpu()


def test_on_gpu_rejects_what_zerogpu_cannot_run() -> None:
    async def coroutine() -> None:
        pass

    async def async_gen():
        yield 1

    for fn in (coroutine, async_gen):
        with pytest.raises(TypeError, match="is async"):
            gpu.on_gpu(fn, duration_s=60)
    for bad in (0, -5, 1.5):
        with pytest.raises(ValueError, match="DEEPSEARCH_GPU_DURATION"):
            gpu.on_gpu(_events, duration_s=bad)  # type: ignore[arg-type]


def test_app_imports_spaces_before_torch() -> None:
    """``spaces`` must be imported before anything can touch CUDA: the first import
    in app.py of spaces/agent.gpu comes before any import of torch, transformers
    or the local backend."""
    lines = (REPO / "app.py").read_text(encoding="utf-8").splitlines()
    imports = [(i, line.strip()) for i, line in enumerate(lines) if re.match(r"\s*(import|from)\s", line)]
    first_spaces = next((i for i, s in imports if re.match(r"(import spaces|from spaces|import agent\.gpu|from agent\.gpu|from agent import gpu)", s)), None)
    first_cuda = next((i for i, s in imports if re.search(r"\b(torch|transformers|agent\.backends\.transformers)\b", s)), None)
    assert first_spaces is not None, "app.py never imports spaces / agent.gpu"
    assert first_cuda is None or first_spaces < first_cuda


# ------------------------------------------------------------ README / requirements

def _pins() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*==\s*([^\s;#]+)", line)
        if m:
            pins[m.group(1).lower().split("[")[0]] = m.group(2)
    return pins


def _front_matter() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    text = README.read_text(encoding="utf-8")
    m = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert m, "README.md must start with the Space YAML front matter between --- lines"
    return yaml.safe_load(m.group(1))


def test_front_matter_sdk_version_matches_the_gradio_pin() -> None:
    meta = _front_matter()
    assert meta["sdk"] == "gradio"
    assert str(meta["sdk_version"]) == _pins()["gradio"]
    assert meta["app_file"] == "app.py"
    assert str(meta["python_version"]) == "3.11"  # quoted in YAML, or 3.1 would be read
    assert "Qwen/QwQ-32B" in meta["models"]
    assert meta.get("preload_from_hub"), "preload_from_hub saves the weight download at start-up"
    for field in ("title", "emoji", "suggested_hardware"):
        assert meta.get(field), f"front matter lacks {field}"


def test_suggested_hardware_is_a_real_space_flavor() -> None:
    hub = pytest.importorskip("huggingface_hub")
    flavors = {h.value for h in hub.SpaceHardware}
    assert _front_matter()["suggested_hardware"] in flavors


def test_spaces_is_pinned_in_requirements() -> None:
    assert "spaces" in _pins(), "requirements.txt must pin spaces (ZeroGPU decorator)"
    assert "openai" in _pins(), "requirements.txt must pin openai (--backend openai)"


# ------------------------------------------------------------ Dockerfile / docs

def test_dockerfile_runs_the_app_on_a_cuda_base() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM nvidia/cuda:\S+", text, re.M)
    assert "requirements.txt" in text
    assert re.search(r'CMD \["python", "app.py", "--host", "0.0.0.0", "--port", "7860"\]', text)


def test_readme_documents_both_deploy_paths() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for heading in ("## Deploy to Spaces", "## Scaling out"):
        assert heading in text
    assert "--enable-auto-tool-choice --tool-call-parser hermes --reasoning-parser deepseek_r1" in text
    assert "--backend openai --base-url" in text
