"""Issue 25.23: the project installs (`pip install -e .`) with its three commands, and the CLI plays
the app's demo (`--demo`) from any directory, not only the repository root."""

from __future__ import annotations

import json
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the project installed editable; its dependencies are the shared venv's
    (read through a .pth, so nothing is downloaded)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    own_site = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                              check=True, capture_output=True, text=True).stdout.strip()
    Path(own_site, "shared.pth").write_text(site.getsitepackages()[0] + "\n", encoding="utf-8")
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "-e", str(REPO)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return venv / "bin"


# The demo streams its recordings at 10 ms a chunk (agent/demo.py) so people see it unfold: about
# 7 s a question, which these tests (where it plays, not how fast) need not wait for.
FAST_DEMO = {"DEEPSEARCH_SCRIPT_DELAY": "0.0001"}


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHON_DOTENV_DISABLED": "1", "HOME": str(cwd), **FAST_DEMO})


def test_deepsearch_demo_plays_an_example_from_another_directory(installed: Path, tmp_path: Path) -> None:
    done = run([str(installed / "deepsearch"), "--demo", "--json"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    last = json.loads(done.stdout.splitlines()[-1])
    assert last["type"] == "done" and last["end"] == "answered" and last["sources"]
    assert "Eiffel Tower" in done.stderr  # the demo questions are listed


def test_python_m_agent_works_outside_the_repository(installed: Path, tmp_path: Path) -> None:
    done = run([str(installed / "python"), "-m", "agent", "--demo", "Why is the sky blue?"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Rayleigh" in done.stdout


def test_a_question_without_a_recording_gets_the_demo_note(installed: Path, tmp_path: Path) -> None:
    done = run([str(installed / "deepsearch"), "--demo", "--json", "What is the capital of Peru?"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "demo mode" in json.loads(done.stdout.splitlines()[-1])["answer"]


def test_index_and_eval_commands_are_installed(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_text("zebraword is here", encoding="utf-8")
    added = run([str(installed / "deepsearch-index"), "add", "n.txt", "--index", "idx"], cwd=tmp_path)
    assert added.returncode == 0 and "added n.txt" in added.stdout, added.stderr
    found = run([str(installed / "deepsearch-index"), "search", "zebraword", "--index", "idx"], cwd=tmp_path)
    assert "n.txt" in found.stdout
    helped = run([str(installed / "deepsearch-eval"), "--help"], cwd=tmp_path)
    assert helped.returncode == 0 and "--out" in helped.stdout
