"""The CLI contract of docs/DESIGN.md, driven through a real subprocess."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import Settings
from agent.events import Done, RunStats, Thinking
from agent.records.trace import TraceWriter

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
SCRIPT, FIXTURE = str(DATA / "eiffel.script.json"), str(DATA / "eiffel.search.json")


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "TAVILY", "OPENAI"))}
    e.update(PYTHON_DOTENV_DISABLED="1", **extra)
    return e


def cli(*args, timeout=60, **extra_env):
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, env=env(**extra_env),
                          capture_output=True, text=True, timeout=timeout)


def events(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


def test_json_events_follow_the_contract(tmp_path):
    transcript = tmp_path / "t.txt"
    p = cli("How tall is the Eiffel Tower?", "--json", "--model-script", SCRIPT,
            "--search-fixture", FIXTURE, "--transcript", str(transcript))
    assert p.returncode == 0, p.stderr
    evs = events(p.stdout)
    types = [e["type"] for e in evs]
    assert types[0] == "thinking" and types[-1] == "done"
    start = next(e for e in evs if e["type"] == "search_start")
    assert start["query"] == "Eiffel Tower height" and start["round"] == 1
    sd = next(e for e in evs if e["type"] == "search_done")
    assert sd["provider"] == "fixture" and isinstance(sd["latency_s"], float) and "error" not in sd
    assert sd["results"][0] == {"id": 1, "title": "Eiffel Tower - Wikipedia",
                                "url": "https://en.wikipedia.org/wiki/Eiffel_Tower"}
    done = evs[-1]
    assert done["answer"] == "The Eiffel Tower is **330 m** tall including its antennas [1]."
    assert done["cited"] == [1] and done["searches"] == 1 and done["stopped"] is False
    assert done["end"] == "answered"
    assert {"ttft_s", "prefilled_tokens", "generated_tokens", "search_latencies_s"} <= set(done["stats"])
    assert "".join(e["text"] for e in evs if e["type"] == "answer") == done["answer"]
    text = transcript.read_text()
    assert text.startswith("<|im_start|>system\n") and "<tool_response>\n" in text
    assert text.rstrip().endswith("antennas [1].")


def test_terminal_mode_prints_searches_answer_and_sources():
    p = cli("How tall is the Eiffel Tower?", "--model-script", SCRIPT, "--search-fixture", FIXTURE)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "search 1/5: Eiffel Tower height" in out
    assert out.index("Answer") < out.index("Sources") and "[1] Eiffel Tower - Wikipedia" in out


@pytest.mark.parametrize("args,needle", [
    (["", "--model-script", SCRIPT], "empty"),
    (["x" * 5000, "--model-script", SCRIPT], "limit is 4000"),
    (["q", "--model-script", "/nonexistent.json"], "does not exist"),
    (["q", "--model-script", SCRIPT, "--search-fixture", "/nonexistent.json"], "does not exist"),
    (["q", "--max-searches", "-1", "--model-script", SCRIPT], "must be positive"),
    (["q", "--backend", "nonsense"], "invalid choice"),
    ([], "QUESTION is required"),
])
def test_bad_arguments_exit_2_with_a_message(args, needle):
    p = cli(*args)
    assert p.returncode == 2 and needle in p.stderr
    assert "Traceback" not in p.stderr


def test_malformed_script_file_exits_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"')
    p = cli("q", "--model-script", str(bad))
    assert p.returncode == 2 and "not valid JSON" in p.stderr


def test_running_out_of_script_rounds_is_an_error_event_exit_1(tmp_path):
    script = tmp_path / "s.json"
    script.write_text(json.dumps([json.loads(Path(SCRIPT).read_text())[0]]))
    p = cli("q", "--json", "--model-script", str(script), "--search-fixture", FIXTURE)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert events(p.stdout)[-1]["type"] == "error"


def test_failed_search_still_answers(tmp_path):
    fixture = tmp_path / "f.json"
    fixture.write_text(json.dumps({"Eiffel Tower height": {"error": "provider down"}}))
    p = cli("q", "--json", "--model-script", SCRIPT, "--search-fixture", str(fixture))
    assert p.returncode == 0
    sd = next(e for e in events(p.stdout) if e["type"] == "search_done")
    assert sd["error"] == "fixture: provider down" and sd["results"] == []
    assert events(p.stdout)[-1]["type"] == "done"


def test_max_searches_zero_refuses_every_search():
    p = cli("q", "--json", "--max-searches", "0", "--model-script", SCRIPT, "--search-fixture", FIXTURE)
    evs = events(p.stdout)
    assert p.returncode == 0 and not any(e["type"] == "search_start" for e in evs)
    assert evs[-1]["searches"] == 0 and evs[-1]["stats"]["budget_exhausted"]
    assert [c["reason"] for c in evs[-1]["stats"]["refused_calls"]] == ["budget"]
    text = cli("q", "--max-searches", "0", "--model-script", SCRIPT, "--search-fixture", FIXTURE)
    assert "(0 search(es); 1 tool call(s) not run: over the search budget)" in text.stdout


def test_sigint_stops_and_still_writes_done(tmp_path):
    script = tmp_path / "slow.json"
    script.write_text(json.dumps(["thinking " * 400 + "</think>never reached"]))
    proc = subprocess.Popen([sys.executable, "-m", "agent", "q", "--json", "--model-script", str(script),
                             "--search-fixture", FIXTURE], cwd=ROOT, env=env(DEEPSEARCH_SCRIPT_DELAY="0.01"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    assert json.loads(first)["type"] == "thinking"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    evs = events(out)
    assert proc.returncode == 0, err
    assert evs[-1]["type"] == "done" and evs[-1]["stopped"] is True
    assert "never reached" not in evs[-1]["answer"]
    assert len([e for e in evs if e["type"] == "thinking"]) < 100


def test_help_documents_every_flag():
    p = cli("--help")
    for flag in ("--json", "--max-searches", "--model-script", "--search-fixture", "--transcript",
                 "--backend", "--model", "--base-url", "--provider", "--max-new-tokens", "--trace",
                 "--replay", "--speed", "--export", "--format"):
        assert flag in p.stdout, flag


def test_unavailable_model_is_an_error_event_not_a_traceback(tmp_path):
    p = cli("q", "--json", "--backend", "transformers", "--model", str(tmp_path / "no-such-model"),
            "--search-fixture", FIXTURE, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr + p.stdout
    err = events(p.stdout)[-1]
    assert err["type"] == "error" and "no-such-model" in err["message"]


def test_transformers_backend_end_to_end_through_the_cli(tiny_model_dir, tmp_path):
    """The same code path as QwQ-32B (tokenizer, chat template, generation thread), on a tiny
    random model: whatever random text it writes, the run ends in one `done`, exit 0."""
    transcript = tmp_path / "t.txt"
    p = cli("How tall is the Eiffel Tower?", "--json", "--backend", "transformers", "--model",
            str(tiny_model_dir), "--search-fixture", FIXTURE, "--max-new-tokens", "24",
            "--transcript", str(transcript), timeout=180)
    assert p.returncode == 0, p.stderr
    evs = events(p.stdout)
    assert [e["type"] for e in evs].count("done") == 1 and evs[-1]["type"] == "done"
    done = evs[-1]
    assert done["stats"]["prompt_tokens"] > 0 and done["stats"]["generated_tokens"] > 0
    text = transcript.read_text()
    assert "<|im_start|>user\nHow tall is the Eiffel Tower?<|im_end|>\n<|im_start|>assistant\n<think>\n" in text


def test_terminal_mode_says_when_there_is_no_answer():
    p = cli("q", "--model-script", SCRIPT, "--search-fixture", FIXTURE, "--max-new-tokens", "5")
    assert p.returncode == 0
    assert "[no answer] (cut off at the token limit: raise --max-new-tokens)" in p.stdout



@pytest.mark.parametrize("end,why", [
    ("context_full", "[no answer] (the context filled up first: ask a narrower question)"),
    ("rounds_exhausted", "[no answer] (the round limit was reached first (DEEPSEARCH_MAX_ROUNDS))"),
])
def test_terminal_mode_names_why_a_run_ended_without_an_answer(tmp_path, end, why):
    """A full context or the round limit is not fixed by raising --max-new-tokens: the CLI must not say so."""
    trace = tmp_path / "t.jsonl"
    with TraceWriter(trace, question="q", settings=Settings(backend="scripted"), model="m") as writer:
        writer.write(Thinking(text="hmm"))
        writer.write(Done(answer="", end=end, stats=RunStats(truncated=end == "context_full")))
    p = cli("--replay", str(trace), "--speed", "0")
    assert p.returncode == 0, p.stderr
    assert why in p.stdout and "max-new-tokens" not in p.stdout
