"""The history database under real processes: a writer killed mid-write, two writers at once, a
second app process on the same folder, and the operator's CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agent.history import HistoryConfig, new_secret, open_store, owner_key, turn_from_run, turns_from_runs
from agent.history.store import DB_NAME
from devtools.conversations import synthetic_run
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHON_DOTENV_DISABLED": "1", "PYTHONPATH": str(ROOT)}

# A writer that saves turns into one conversation until it is killed; each turn is large, so a
# kill lands inside a write most of the time.
WRITER = """
import sys
from agent.history import HistoryConfig, open_store, turn_from_run
from devtools.conversations import synthetic_run
folder, owner, conversation, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = open_store(HistoryConfig(data_dir=__import__("pathlib").Path(folder), max_bytes=1 << 30))
for i in range(count):
    store.add_turn(owner, conversation, turn_from_run(*synthetic_run(f"{sys.argv[5]} {i}", thinking_tokens=2000)))
print("done", flush=True)
"""


def _writer(folder: Path, owner: str, conversation: str, count: int, label: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(folder), owner, conversation, str(count), label],
                            env=ENV, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _turns(folder: Path) -> int:
    db = sqlite3.connect(folder / DB_NAME, timeout=30)
    try:
        return db.execute("SELECT count(*) FROM turns").fetchone()[0]
    finally:
        db.close()


def _start(folder: Path) -> tuple[str, str]:
    owner = owner_key(new_secret())
    store = open_store(HistoryConfig(data_dir=folder))
    conversation = store.add_turn(owner, None, turn_from_run(*synthetic_run("first")))
    store.close()
    return owner, conversation


def test_a_writer_killed_mid_write_loses_at_most_that_write(tmp_path):
    owner, conversation = _start(tmp_path)
    child = _writer(tmp_path, owner, conversation, 10_000, "killed")
    # A writer that died early ends the wait too: the assertion below then shows its stderr.
    wait_until(lambda: _turns(tmp_path) >= 6 or child.poll() is not None, "the writer saved six turns",
               timeout=120, interval=0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    assert _turns(tmp_path) >= 6, child.stderr.read()
    store = open_store(HistoryConfig(data_dir=tmp_path))
    assert store.notice is None  # nothing was damaged, nothing moved aside
    saved = store.load(owner, conversation)
    assert saved.problems == []
    # Every saved turn is whole: its run ends with its done, and the chain of turns is unbroken.
    assert len(saved.turns) == _turns(tmp_path) and all(t.turn.done is not None for t in saved.turns.values())
    assert saved.summary.bytes == sum(len(_row) for _row in _rows(tmp_path))


def _rows(folder: Path) -> list[str]:
    db = sqlite3.connect(folder / DB_NAME)
    try:
        return [turn + times for turn, times in db.execute("SELECT turn, times FROM turns")]
    finally:
        db.close()


def test_two_writers_at_once_lose_nothing(tmp_path):
    owner, conversation = _start(tmp_path)
    writers = [_writer(tmp_path, owner, conversation, 15, label) for label in ("tab A", "tab B")]
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0 and "done" in out, err
    store = open_store(HistoryConfig(data_dir=tmp_path))
    questions = [t.turn.question for t in store.load(owner, conversation).turns.values()]
    assert len(questions) == 31
    assert {f"tab A {i}" for i in range(15)} | {f"tab B {i}" for i in range(15)} <= set(questions)


def _cli(*args: str, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.history", *args, "--data-dir", str(folder)],
                          env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_operator_lists_exports_and_deletes(tmp_path):
    store = open_store(HistoryConfig(data_dir=tmp_path))
    owner = owner_key(new_secret())
    conversation = None
    for timed in turns_from_runs(synthetic_run(q, hostile=True) for q in ("Alpha question", "Beta")):
        conversation = store.add_turn(owner, conversation, timed)
    listed = _cli("list", "--json", folder=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["id"] == conversation and row["turns"] == 2 and row["title"].startswith("Alpha question")
    text = _cli("list", folder=tmp_path)
    assert conversation in text.stdout and "2 turns" in text.stdout

    trace = _cli("export", conversation, "-o", str(tmp_path / "c.jsonl"), folder=tmp_path)
    assert trace.returncode == 0, trace.stderr
    from agent.records.trace import read_runs

    assert [m["question"].split()[0] for m, _ in read_runs(tmp_path / "c.jsonl")] == ["Alpha", "Beta"]
    player = _cli("export", conversation, "--format", "player", "-o", str(tmp_path / "c.html"), folder=tmp_path)
    assert player.returncode == 0 and "<script>window.pwned" not in (tmp_path / "c.html").read_text()
    record = json.loads(_cli("export", conversation, "--json", folder=tmp_path).stdout)
    assert len(record["record"]["turns"]) == 2 and record["record"]["head"] in record["times"]

    assert _cli("delete", conversation, folder=tmp_path).returncode == 0
    assert _cli("list", "--json", folder=tmp_path).stdout == ""
    missing = _cli("delete", conversation, folder=tmp_path)
    assert missing.returncode == 2 and "no saved conversation" in missing.stderr


def test_the_cli_says_when_the_folder_cannot_hold_a_history(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _cli("list", folder=blocker / "sub")
    assert result.returncode == 1 and "cannot be created" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("fmt", ["player"])
def test_any_trace_exports_as_a_player(tmp_path, fmt):
    from agent.records.trace import run_text

    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(run_text(*synthetic_run(q)) for q in ("one", "two", "three")))
    out = tmp_path / "p.html"
    result = subprocess.run([sys.executable, "-m", "agent", "--export", str(trace), "--format", fmt, "-o", str(out)],
                            env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert html.count('class="turn"') == 3 and "Content-Security-Policy" in html
