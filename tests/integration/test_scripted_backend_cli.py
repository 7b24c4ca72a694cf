"""The scripted backend's catalogue form, and the demo mode that plays it. (integration part of test_scripted_backend.py)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agent.demo import DEMO_SCRIPT, DEMO_SEARCH
from tests.unit.test_scripted_backend import ROOT
from ui.app_ui import EXAMPLES


def test_cli_plays_a_catalogue_and_refuses_a_bad_one(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHON_DOTENV_DISABLED": "1"})

    good = cli(EXAMPLES[1], "--json", "--model-script", str(DEMO_SCRIPT),
               "--search-fixture", str(DEMO_SEARCH))
    done = json.loads(good.stdout.splitlines()[-1])
    assert good.returncode == 0 and done["type"] == "done" and "1858" in done["answer"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"questions": {"q": 3}}))
    refused = cli("q", "--model-script", str(bad))
    assert refused.returncode == 2 and "bad.json" in refused.stderr and "Traceback" not in refused.stderr

