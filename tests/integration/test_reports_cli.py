"""Reports: the answer's Markdown rendered safely, stats in words, whole conversations, (integration part of test_reports.py)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.records.report import export_events
from tests.unit.test_reports import HOSTILE, META, ROOT, links_and_images, run_events, write_session


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PYTHON_DOTENV_DISABLED": "1", "PATH": "/usr/bin:/bin"})



@pytest.mark.parametrize("name, kind", [("out.md", "Markdown"), ("out.markdown", "Markdown"),
                                        ("out.html", "HTML"), ("OUT.HTM", "HTML")])
def test_export_infers_the_format_from_the_extension_and_says_where(tmp_path: Path, name: str, kind: str) -> None:
    session = tmp_path / "session.jsonl"
    write_session(session)
    out = tmp_path / name
    done = cli("--export", str(session), "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") == (kind == "HTML")
    assert text.startswith("# First question?") == (kind == "Markdown")
    assert f"wrote the {kind} report of 3 answers to {out}" in done.stderr
    assert all(q in text for q in ("First question?", "Second question?", "Third question?"))


def test_export_run_picks_one_answer_and_format_wins(tmp_path: Path) -> None:
    session = tmp_path / "session.jsonl"
    write_session(session)
    out = tmp_path / "second.md"
    done = cli("--export", str(session), "--run", "1", "--format", "html", "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Second question?" in text and "First question?" not in text
    assert "wrote the HTML report of 1 answer to" in done.stderr
    bad = cli("--export", str(session), "--run", "7", "-o", str(out))
    assert bad.returncode == 2 and "run 7 does not exist" in bad.stderr


def test_export_to_stdout_is_html_unless_asked(tmp_path: Path) -> None:
    session = tmp_path / "session.jsonl"
    write_session(session)
    assert cli("--export", str(session), "-o", "-").stdout.startswith("<!DOCTYPE html>")
    assert cli("--export", str(session), "-o", "-", "--format", "md").stdout.startswith("# First question?")


def test_replay_run_picks_an_answer_of_a_session_file(tmp_path: Path) -> None:
    session = tmp_path / "session.jsonl"
    write_session(session)
    first = cli("--replay", str(session), "--run", "0", "--speed", "0")
    last = cli("--replay", str(session), "--speed", "0")
    assert first.returncode == 0 and "Answer 1" in first.stdout and "Answer 3" not in first.stdout
    assert "Answer 3" in last.stdout and "Answer 1" not in last.stdout


def test_markdown_report_rule_holds_for_mixed_hostile_answers() -> None:
    """Pairs of tricks, glued with code ticks, fences and brackets that confuse simple rewriting."""
    glue = ["", " ", "`", "\n\n```\n", "[", "]", "\n", "<", "\\"]
    for a in HOSTILE.values():
        for b in HOSTILE.values():
            for g in glue:
                md = export_events(META, run_events(f"{a}{g}{b} [1]"), "md")
                answer = md.split("## Answer")[1].split("## Sources")[0]
                hrefs, images = links_and_images(answer)
                allowed = ("https://en.wikipedia.org/", "https://tracker.example/")  # an image is at most a link
                assert images == 0 and all(h.startswith(allowed) for h in hrefs), (a, g, b, hrefs)

