"""Issue 11.2: every character ``str.splitlines`` breaks on, in every recorded text field, (integration part of test_trace_linebreaks.py)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.unit.test_trace_linebreaks import BREAKS, ROOT, write


def test_cli_replay_and_export_accept_them(tmp_path: Path) -> None:
    path = tmp_path / "all.jsonl"
    write(path, "".join(BREAKS))
    env = {"PYTHON_DOTENV_DISABLED": "1", "PATH": "/usr/bin:/bin"}
    replay = subprocess.run([sys.executable, "-m", "agent", "--replay", str(path), "--json", "--speed", "0"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert replay.returncode == 0, replay.stderr
    # A consumer that splits on any line break still gets one JSON event per line.
    lines = replay.stdout.splitlines()
    assert [json.loads(line)["type"] for line in lines][-1] == "done"
    assert json.loads(lines[-1])["answer"] == "ans" + "".join(BREAKS) + "wer [1]"
    for fmt in ("html", "md"):
        out = tmp_path / f"r.{fmt}"
        done = subprocess.run([sys.executable, "-m", "agent", "--export", str(path), "--format", fmt,
                               "-o", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert out.stat().st_size > 0

