"""Recordings: record a run, read it back strictly, replay it, export HTML and Markdown. (integration part of test_trace.py)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from agent.backends.scripted import ScriptedBackend
from agent.config import Settings
from agent.events import (
    Answer,
    Done,
    to_dict,
)
from agent.records.replay import replay
from agent.records.trace import TRACE_VERSION, TraceWriter, read_trace
from agent.search import SearchChain
from agent.session import ChatSession
from tests.engine_helpers import FakeProvider, answer, call, result
from tests.unit.test_trace import ROOT, broken_traces


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TAVILY_API_KEY", "OPENAI_API_KEY")}
    env["PYTHON_DOTENV_DISABLED"] = "1"
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def script_files(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        call("Eiffel Tower height"),
        call("Eiffel Tower outage"),
        answer("The Eiffel Tower is 330 m tall [1]."),
    ]))
    fixture = tmp_path / "fx.json"
    fixture.write_text(json.dumps({
        "Eiffel Tower height": [{"title": "Eiffel Tower", "url": "https://en.wikipedia.org/wiki/Eiffel_Tower",
                                 "content": "330 metres"}],
        "Eiffel Tower outage": {"error": "simulated outage"},
    }))
    return script, fixture



def test_live_run_replays_line_for_line(tmp_path: Path) -> None:
    script, fixture = script_files(tmp_path)
    trace = tmp_path / "run.jsonl"
    live = run_cli("How tall is the Eiffel Tower?", "--json", "--model-script", str(script),
                   "--search-fixture", str(fixture), "--trace", str(trace))
    assert live.returncode == 0, live.stderr
    replayed = run_cli("--replay", str(trace), "--json", "--speed", "0")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.splitlines() == live.stdout.splitlines()
    assert any('"error": "fixture: simulated outage"' in line for line in live.stdout.splitlines())

    meta, timed = read_trace(trace)
    assert meta["version"] == TRACE_VERSION and meta["scripted"] is True
    assert meta["question"] == "How tall is the Eiffel Tower?" and meta["backend"] == "scripted"
    assert meta["recorder"] == "deepsearch" and meta["started_at"].endswith("Z")
    times = [t for t, _ in timed]
    assert times == sorted(times)
    assert [json.dumps(to_dict(e), ensure_ascii=False) for _, e in timed] == live.stdout.splitlines()


def test_broken_trace_exit_code_from_the_real_cli(tmp_path: Path) -> None:
    path, expect = broken_traces(tmp_path)["cut_last_line"]
    done = run_cli("--replay", str(path))
    assert done.returncode == 2 and expect in done.stderr and done.stdout == ""


def test_stopped_run_replays_as_stopped(tmp_path: Path) -> None:
    settings = Settings(backend="scripted", search_retry_backoff_s=0.0)
    backend = ScriptedBackend(rounds=[call("q"), answer("A long answer " * 20 + "[1].")], settings=settings)
    session = ChatSession(settings=settings, backend=backend,
                          search=SearchChain([FakeProvider({"q": [result(1)]})], backoff_s=0.0))
    cancel = threading.Event()
    path = tmp_path / "stopped.jsonl"
    answers = 0
    with TraceWriter(path, question="Q?", settings=settings, model=backend.model_id) as writer:
        for event in session.ask("Q?", cancel=cancel):
            writer.write(event)
            answers += isinstance(event, Answer)
            if answers == 3:
                cancel.set()
    replayed = list(replay(path, speed=0))
    assert isinstance(replayed[-1], Done) and replayed[-1].stopped is True
    cli = run_cli("--replay", str(path), "--json", "--speed", "0")
    assert cli.returncode == 0
    assert json.loads(cli.stdout.splitlines()[-1])["stopped"] is True


def test_secrets_from_the_environment_stay_out_of_a_cli_trace(tmp_path: Path) -> None:
    script, fixture = script_files(tmp_path)
    trace = tmp_path / "run.jsonl"
    env = {**os.environ, "PYTHON_DOTENV_DISABLED": "1",
           "TAVILY_API_KEY": "tvly-CANARY-env-0123456789", "OPENAI_API_KEY": "sk-CANARY-env-9876543210"}
    done = subprocess.run([sys.executable, "-m", "agent", "q?", "--json", "--model-script", str(script),
                           "--search-fixture", str(fixture), "--trace", str(trace)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "CANARY" not in trace.read_text(encoding="utf-8")


def test_unwritable_trace_path_is_a_usage_error(tmp_path: Path) -> None:
    script, fixture = script_files(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = run_cli("q?", "--model-script", str(script), "--search-fixture", str(fixture),
                   "--trace", str(blocker / "sub" / "t.jsonl"))
    assert done.returncode == 2 and "cannot open trace" in done.stderr and "Traceback" not in done.stderr

