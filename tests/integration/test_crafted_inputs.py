"""Crafted input files, unwritable output paths and termination signals (issue 11.10, 11.12,
11.13, 11.19): always a clean exit 2 or a stopped ``done``, never a traceback."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent.records.trace import read_trace
from tests.engine_helpers import answer, call
from tests.integration.test_cli import FIXTURE, ROOT, SCRIPT, cli, env, events

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real CLI run's trace, recorded once for the module: each test crafts its own copy."""
    trace = tmp_path_factory.mktemp("recorded") / "good.jsonl"
    p = cli("How tall is the Eiffel Tower?", "--model-script", SCRIPT, "--search-fixture", FIXTURE,
            "--trace", str(trace))
    assert p.returncode == 0, p.stderr
    return trace


@pytest.fixture
def good_trace(recorded: Path, tmp_path: Path) -> Path:
    """The recorded trace, copied into this test's folder."""
    trace = tmp_path / "good.jsonl"
    shutil.copyfile(recorded, trace)
    return trace


def with_done(trace: Path, out: Path, **changes) -> Path:
    lines = trace.read_text(encoding="utf-8").splitlines()
    done = json.loads(lines[-1])
    done.update(changes)
    out.write_text("\n".join([*lines[:-1], json.dumps(done)]) + "\n", encoding="utf-8")
    return out


def refused(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 2, (p.returncode, p.stdout[-500:], p.stderr[-2000:])
    assert "Traceback" not in p.stderr + p.stdout
    return p.stderr


# ---------------------------------------------------------------- crafted traces

@pytest.mark.parametrize("cited", ["Infinity", "-Infinity", "NaN", "1.5", "true", '"1"', "1e400", "7", "-1"])
def test_odd_or_unknown_citation_ids_in_a_trace_are_exit_2(tmp_path: Path, good_trace: Path, cited: str) -> None:
    trace = good_trace
    lines = trace.read_text(encoding="utf-8").splitlines()
    done = json.loads(lines[-1])
    text = json.dumps(done).replace('"cited": [1]', f'"cited": [{cited}]')
    assert text != json.dumps(done)
    crafted = tmp_path / "crafted.jsonl"
    crafted.write_text("\n".join([*lines[:-1], text]) + "\n", encoding="utf-8")
    for args in (["--replay", str(crafted), "--speed", "0"], ["--replay", str(crafted), "--json", "--speed", "0"],
                 ["--export", str(crafted), "-o", str(tmp_path / "r.html")]):
        message = refused(cli(*args))
        assert "crafted.jsonl" in message and "cited" in message


def test_a_trace_nested_100000_deep_is_exit_2(tmp_path: Path, good_trace: Path) -> None:
    lines = good_trace.read_text(encoding="utf-8").splitlines()
    for where in (1, len(lines) - 1):  # an event line, then the done line
        crafted = tmp_path / f"deep{where}.jsonl"
        bad = json.loads(lines[where])
        text = json.dumps(bad)[:-1] + f', "extra": {DEEP}}}'
        crafted.write_text("\n".join([*lines[:where], text, *lines[where + 1:]]) + "\n", encoding="utf-8")
        message = refused(cli("--replay", str(crafted), "--speed", "0"))
        assert f"deep{where}.jsonl:{where + 1}" in message
        refused(cli("--export", str(crafted), "-o", str(tmp_path / "r.md")))


def test_a_trace_nested_moderately_deep_is_refused_before_any_reader_recurses(tmp_path: Path, good_trace: Path) -> None:
    lines = good_trace.read_text(encoding="utf-8").splitlines()
    done = json.loads(lines[-1])
    nested: object = 1
    for _ in range(900):
        nested = {"k": nested}
    done["stats"]["deep"] = nested
    crafted = tmp_path / "deep.jsonl"
    crafted.write_text("\n".join([*lines[:-1], json.dumps(done)]) + "\n", encoding="utf-8")
    refused(cli("--export", str(crafted), "-o", str(tmp_path / "r.html")))
    import app
    assert app._check_trace(str(crafted))


@pytest.mark.parametrize("flag", ["--model-script", "--search-fixture"])
def test_input_files_nested_100000_deep_are_exit_2(tmp_path: Path, flag: str) -> None:
    bad = tmp_path / "deep.json"
    bad.write_text(DEEP)
    other = ["--search-fixture", FIXTURE] if flag == "--model-script" else ["--model-script", SCRIPT]
    message = refused(cli("q", flag, str(bad), *other))
    assert "deep.json" in message and "nested" in message


def test_a_tool_call_nested_100000_deep_is_a_malformed_call_not_a_crash(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    deep = "[" * 3000 + "]" * 3000  # past json's recursion limit, within one round's tokens
    deep_call = "Hmm.\n</think>\n\n<tool_call>\n" + '{"name": "web_search", "arguments": ' + deep + "}\n</tool_call>"
    script.write_text(json.dumps([deep_call, answer("Fine.")]))
    p = cli("q", "--json", "--model-script", str(script), "--search-fixture", FIXTURE)
    assert p.returncode == 0, p.stderr
    done = events(p.stdout)[-1]
    assert done["answer"] == "Fine." and [c["reason"] for c in done["stats"]["refused_calls"]] == ["malformed"]


def test_lone_surrogates_in_fixture_errors_and_script_text_do_not_kill_the_run(tmp_path: Path) -> None:
    fixture = tmp_path / "f.json"
    fixture.write_text('{"down": {"error": "proxy said \\ud800 and \\udfff"}}')
    script = tmp_path / "s.json"
    script.write_text(json.dumps([call("down"), answer("Odd \ud83d text.")]))
    trace = tmp_path / "t.jsonl"
    for mode in (["--json"], []):
        p = cli("q", *mode, "--model-script", str(script), "--search-fixture", str(fixture), "--trace", str(trace))
        assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    evs = events(cli("q", "--json", "--model-script", str(script), "--search-fixture", str(fixture)).stdout)
    failed = next(e for e in evs if e["type"] == "search_done")
    assert failed["error"].startswith("fixture: proxy said \ufffd and \ufffd") or "\ufffd" in failed["error"]
    assert evs[-1]["answer"] == "Odd \ufffd text."
    read_trace(trace)


# ---------------------------------------------------------------- output paths checked first

@pytest.mark.parametrize("flag", ["--transcript", "--trace"])
def test_unwritable_output_paths_are_exit_2_before_the_run(tmp_path: Path, flag: str) -> None:
    (tmp_path / "a-file").write_text("x")
    for target in (tmp_path / "no-such-dir" / "deeper" / "x.txt", tmp_path, tmp_path / "a-file" / "x.txt"):
        if flag == "--trace" and target.parent.name == "deeper":
            continue  # a trace's missing folders are created
        p = cli("q", "--json", "--model-script", SCRIPT, "--search-fixture", FIXTURE, flag, str(target))
        message = refused(p)
        assert str(target) in message and p.stdout == ""  # nothing ran


def test_an_unwritable_export_output_is_exit_2_naming_it(tmp_path: Path, good_trace: Path) -> None:
    trace = good_trace
    for target in (tmp_path / "no-such-dir" / "r.html", tmp_path):
        message = refused(cli("--export", str(trace), "-o", str(target)))
        assert str(target) in message


def test_app_refuses_an_unwritable_session_trace(tmp_path: Path, capsys) -> None:
    import app
    assert app.main(["--trace", str(tmp_path), "--model-script", SCRIPT, "--search-fixture", FIXTURE]) == 2
    assert str(tmp_path) in capsys.readouterr().err


def test_a_transcript_check_leaves_no_file_behind_when_the_run_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    p = cli("", "--model-script", SCRIPT, "--transcript", str(target))
    assert p.returncode == 2 and not target.exists()


# ---------------------------------------------------------------- termination signals

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_termination_signals_stop_like_ctrl_c(tmp_path: Path, signum: int) -> None:
    script = tmp_path / "slow.json"
    script.write_text(json.dumps(["thinking " * 400 + "</think>never reached"]))
    trace, transcript = tmp_path / "t.jsonl", tmp_path / "t.txt"
    proc = subprocess.Popen([sys.executable, "-m", "agent", "q", "--json", "--model-script", str(script),
                             "--search-fixture", FIXTURE, "--trace", str(trace), "--transcript", str(transcript)],
                            cwd=ROOT, env=env(DEEPSEARCH_SCRIPT_DELAY="0.01"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert json.loads(proc.stdout.readline())["type"] == "thinking"
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    done = events(out)[-1]
    assert done["type"] == "done" and done["stopped"] is True
    _, timed = read_trace(trace)
    assert timed[-1][1].stopped
    text = transcript.read_text()
    assert text.startswith("<|im_start|>system") and "<|im_start|>assistant\n<think>\nthink" in text


@pytest.mark.parametrize("value", ["Infinity", "NaN", "-Infinity"])
def test_non_finite_numbers_in_a_trace_event_are_exit_2(tmp_path: Path, good_trace: Path, value: str) -> None:
    lines = good_trace.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if '"type": "search_done"' in line)
    event = json.loads(lines[at])
    text = json.dumps(event).replace(f'"latency_s": {json.dumps(event["latency_s"])}', f'"latency_s": {value}')
    crafted = tmp_path / "odd.jsonl"
    crafted.write_text("\n".join([*lines[:at], text, *lines[at + 1:]]) + "\n", encoding="utf-8")
    assert "latency_s" in refused(cli("--replay", str(crafted), "--speed", "0"))
