"""The entry points as outside checks drive them: usage errors exit 2 before anything runs (the
app and the eval refuse a missing fixture or index at start, not at the first question),
`python -m agent check` without a TRACE, a judge named by the environment, and every flag any
entry point offers is in the README."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
EVAL = DATA / "eval"
SCRIPTED = ["--model-script", str(DATA / "eiffel.script.json"), "--search-fixture", str(DATA / "eiffel.search.json")]


def run(*args: str, timeout: int = 120, **extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "TAVILY", "OPENAI"))}
    env.update(PYTHON_DOTENV_DISABLED="1", **extra_env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_check_without_a_trace_is_a_usage_error_not_a_question():
    p = run("-m", "agent", "check")
    assert p.returncode == 2 and "TRACE" in p.stderr, p.stderr
    assert "weights" not in p.stderr  # it never became the question "check" for the default model


def test_check_uses_the_judge_the_environment_names(tmp_path):
    trace = tmp_path / "run.jsonl"
    assert run("-m", "agent", "How tall is the Eiffel Tower?", *SCRIPTED, "--trace", str(trace)).returncode == 0
    p = run("-m", "agent", "check", str(trace), "--json", DEEPSEARCH_JUDGE_BASE_URL="http://127.0.0.1:9/v1",
            DEEPSEARCH_JUDGE_MODEL="m")
    assert p.returncode == 1 and "could not run" in p.stderr, p.stderr  # it was asked, and said so
    [row] = [json.loads(line) for line in p.stdout.splitlines()]
    assert row["claims"][0]["layer"] == "lexical"  # the lexical verdicts stand
    half = run("-m", "agent", "check", str(trace), DEEPSEARCH_JUDGE_BASE_URL="http://127.0.0.1:9/v1")
    assert half.returncode == 2 and "--judge-model" in half.stderr


@pytest.mark.parametrize("flag,value,needle", [
    ("--page-fixture", "MISSING", "page fixture"),
    ("--page-fixture", "BAD", "not valid JSON"),
    ("--index", "MISSING", "no index"),
])
def test_the_eval_refuses_a_missing_or_broken_input_before_its_first_question(tmp_path, flag, value, needle):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    path = {"MISSING": str(tmp_path / "missing"), "BAD": str(bad)}[value]
    out = tmp_path / "out"
    p = run("-m", "agent.eval", str(EVAL / "questions.jsonl"), "--out", str(out), "--no-progress",
            "--model-script", str(EVAL / "catalogue.json"), "--search-fixture", str(EVAL / "search.json"), flag, path)
    assert p.returncode == 2 and needle in p.stderr and path in p.stderr, p.stderr
    assert not out.exists()  # nothing was asked, nothing written


@pytest.mark.parametrize("flag,needle", [("--page-fixture", "page fixture"), ("--index", "no index"),
                                         ("--search-fixture", "search fixture")])
def test_the_app_refuses_a_missing_input_at_start_up(tmp_path, flag, needle):
    missing = str(tmp_path / "missing")
    args = ["--model-script", str(DATA / "eiffel.script.json"), "--search-fixture", str(DATA / "eiffel.search.json")]
    p = run("app.py", *args, flag, missing, "--port", "0", DEEPSEARCH_HISTORY="0")
    assert p.returncode == 2 and needle in p.stderr and missing in p.stderr, p.stderr[-2000:]
    assert "Running on" not in p.stdout


def _flags(*args: str) -> set[str]:
    p = run(*args, "--help")
    assert p.returncode == 0, p.stderr
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", p.stdout)) - {"--help"}


def test_every_flag_of_every_entry_point_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    flags: set[str] = set()
    for entry in (["-m", "agent"], ["-m", "agent", "check"], ["-m", "agent.eval"], ["app.py"]):
        flags |= _flags(*entry)
    for module, commands in (("agent.history", ("list", "export", "delete")),
                             ("agent.index", ("add", "remove", "search", "stats", "serve"))):
        for command in commands:
            flags |= _flags("-m", module, command)
    assert {"--read", "--check-claims", "--no-history", "--share-links", "--fork-at", "--data-dir"} <= flags
    missing = sorted(f for f in flags if not re.search(re.escape(f) + r"(?![\w-])", readme))
    assert not missing, f"README does not name {missing}"


def test_the_cli_says_what_a_run_will_not_do_that_was_asked_for():
    # A 0.1 ms chunk delay: the demo's own 10 ms (7 s a question) is for people watching it.
    demo = run("-m", "agent", "--demo", "--provider", "duckduckgo", "--json", DEEPSEARCH_SCRIPT_DELAY="0.0001")
    assert demo.returncode == 0 and "--provider is not used" in demo.stderr, demo.stderr
    assert not any(json.loads(line)["type"] == "error" for line in demo.stdout.splitlines())
    judged = run("-m", "agent", "How tall is the Eiffel Tower?", "--json", *SCRIPTED, "--check-claims", "judge")
    assert judged.returncode == 0 and "has no judge here" in judged.stderr, judged.stderr
    assert json.loads(judged.stdout.splitlines()[-1])["claims"][0]["layer"] == "lexical"


def test_the_index_and_history_commands_end_quietly_when_their_reader_goes_away(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"d{i}.txt").write_text(f"zebraword {i} lives here.", encoding="utf-8")
    assert run("-m", "agent.index", "add", str(docs), "--index", str(tmp_path / "idx")).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEARCH_")}
    for args in (["-m", "agent.index", "search", "zebraword", "--index", str(tmp_path / "idx")],
                 ["-m", "agent.history", "list", "--data-dir", str(tmp_path / "data")]):
        reader, writer = os.pipe()
        os.close(reader)  # the reader is gone before the first line is written
        child = subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**env, "PYTHON_DOTENV_DISABLED": "1"},
                                 stdout=writer, stderr=subprocess.PIPE, text=True)
        os.close(writer)
        _, err = child.communicate(timeout=120)
        assert "Traceback" not in err and "BrokenPipe" not in err, err
