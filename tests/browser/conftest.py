"""What every browser test module shares on one pytest worker: one chromium, and scripted apps
(``ui`` paced, ``fast_ui`` at full speed) for the modules that ask the UI's scripted questions
(each test opens its own browser context and page, so Gradio gives it a session of its own;
nothing else of the app carries over)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.chromium import ARGS, CHROMIUM, NOT_INSTALLED
from tests.browser.held import HeldRuns

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Debian chromium per pytest worker, for every browser test module."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM:
        pytest.skip(NOT_INSTALLED)
    # Deadlines only bound a failure: beside two busy loops (load average 15-25) a page took over
    # 30 s to mount and an expected text over 5 s to appear, so every context's actions wait up
    # to 60 s and every `expect` up to 30 s unless a test says otherwise.
    playwright_api.expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        new_context = b.new_context

        def patient_context(*args: object, **kwargs: object) -> object:
            context = new_context(*args, **kwargs)
            context.set_default_timeout(ACTION_TIMEOUT_MS)
            return context

        b.new_context = patient_context  # type: ignore[method-assign]
        yield b
        b.close()


ACTION_TIMEOUT_MS = 60_000
EXPECT_TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def ui() -> Iterator[str]:
    """The app on the scripted test model and fixture search (tests/data/ui.*.json), questions
    up to 300 characters, replays at full speed; its URL. A module that needs other settings
    defines its own ``ui``."""
    from agent.config import Settings
    from tests.ui_helpers import serve

    settings = Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                        search_fixture=str(DATA / "ui.search.json"), provider="fixture",
                        script_delay_s=0.01, max_question_chars=300, concurrency_local=2)
    demo, url = serve(settings, replay_speed=0)
    yield url
    demo.close()


@pytest.fixture(scope="session")
def _fast_app() -> Iterator[tuple[str, HeldRuns]]:
    from agent.config import Settings
    from tests.ui_helpers import serve

    settings = Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                        search_fixture=str(DATA / "ui.search.json"), provider="fixture",
                        script_delay_s=0.0, max_question_chars=300, concurrency_local=2)
    demo, url = serve(settings, replay_speed=0)
    yield url, HeldRuns(demo.runtime.backend)  # type: ignore[attr-defined]
    demo.close()


@pytest.fixture
def fast_ui(_fast_app: tuple[str, HeldRuns]) -> str:
    """``ui``'s app with the scripted model at full speed, for tests that only need answers (or
    hold a run with ``held`` where they need one still going); its URL."""
    return _fast_app[0]


@pytest.fixture
def held(_fast_app: tuple[str, HeldRuns]) -> Iterator[HeldRuns]:
    """Holds ``fast_ui``'s runs (tests/browser/held.py); released when the test ends."""
    try:
        yield _fast_app[1]
    finally:
        _fast_app[1].release()
