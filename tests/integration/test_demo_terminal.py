"""The terminal is told what demo mode sets aside (issue 25.5d) however the app starts: ``python
app.py`` prints its banner (tests/browser/test_demo_for_visitors.py); an import (``gradio app.py``,
a Space that imports the module) logs it, since no banner is printed then."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "TAVILY", "OPENAI"))}
    return subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env={**base, "PYTHON_DOTENV_DISABLED": "1", "CUDA_VISIBLE_DEVICES": "",
                                            **env})


def test_an_import_in_demo_mode_says_the_chosen_search_is_not_used() -> None:
    out = imported(DEEPSEARCH_PROVIDER="duckduckgo")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "provider 'duckduckgo') is not used" in out.stderr, out.stderr[-2000:]
    quiet = imported()  # nothing set aside: nothing said
    assert quiet.returncode == 0 and "is not used" not in quiet.stderr, quiet.stderr[-2000:]
