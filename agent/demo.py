"""The bundled demo: scripted recordings of the example questions, searched from a fixture.

The app falls back to it where no model can run; the CLI plays it with ``--demo``.
The files live in ``assets/demo/`` beside the package (``make_demos.py`` there
records them), found from this file, so the demo plays from any directory.
"""

from __future__ import annotations

import json
from pathlib import Path

from .config import Settings

DEMO_DIR = Path(__file__).resolve().parent.parent / "assets" / "demo"
# One scripted run per example question (and a note for any other question).
DEMO_SCRIPT = DEMO_DIR / "scripts.json"
DEMO_SEARCH = DEMO_DIR / "search.json"
DEMO_PAGES = DEMO_DIR / "pages.json"  # bundled stand-in pages (make_pages.py), so the demo reads; never fetched
DEMO_LABEL = "Demo: scripted model output"
DEMO_DELAY_S = 0.01  # per streamed chunk, so the demo unfolds like a real model


def demo_settings(settings: Settings) -> Settings:
    """``settings`` playing the demo: the scripted model, the fixture search, the bundled pages."""
    return settings.with_overrides(
        backend="scripted", model_script=str(DEMO_SCRIPT), search_fixture=str(DEMO_SEARCH),
        page_fixture=str(DEMO_PAGES), provider="fixture", script_delay_s=settings.script_delay_s or DEMO_DELAY_S,
    )


def demo_questions() -> list[str]:
    """The example questions that have a recording, in order."""
    return list(json.loads(DEMO_SCRIPT.read_text(encoding="utf-8"))["questions"])
