from __future__ import annotations

from pathlib import Path

import pytest

from devtools.tiny_model import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 model with a QwQ-like tokenizer, built once per test run."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwq"))


@pytest.fixture(scope="module")
def browser():
    """One headless Debian chromium per test module, for every browser test file."""
    from tests.test_ui_browser import ARGS, CHROMIUM, playwright_api  # skips the module without chromium

    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()
