"""``python app.py`` as people start it: what the terminal says at launch."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.ui_helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def test_launch_offers_the_apps_own_share_flag() -> None:
    """Gradio's hint names its Python API (``share=True`` in ``launch()``); people run a CLI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "TAVILY", "OPENAI", "SPACE_"))}
    env.update(PYTHON_DOTENV_DISABLED="1", GRADIO_ANALYTICS_ENABLED="False")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "app.py", "--model-script", str(DATA / "ui.script.json"),
                             "--search-fixture", str(DATA / "ui.search.json"), "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "share" in line:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    out = "".join(lines)
    assert f"Running on local URL:  http://127.0.0.1:{port}" in out, out
    assert "start it with --share" in out and "share=True" not in out, out
