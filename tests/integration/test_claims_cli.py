"""Claims in the records, driven through the CLI: done.claims, --check-claims, check TRACE, reports."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
RUN = ["How tall?", "--model-script", str(DATA / "claims.script.json"), "--search-fixture",
       str(DATA / "eiffel.search.json")]


def agent(*args, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "TAVILY", "OPENAI"))}
    env.update(PYTHON_DOTENV_DISABLED="1", **extra)
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def last_done(stdout):
    return [json.loads(line) for line in stdout.splitlines()][-1]


def test_done_carries_the_claims_and_their_summary(tmp_path):
    p = agent(*RUN, "--json", "--trace", str(tmp_path / "t.jsonl"))
    assert p.returncode == 0, p.stderr
    done = last_done(p.stdout)
    assert [(c["verdict"], c["ids"], c["layer"]) for c in done["claims"]] == [
        ("not_supported", [1], "lexical"), ("uncited", [], "lexical"), ("not_supported", [2], "lexical")]
    first = done["claims"][0]
    assert set(first) == {"sentence", "ids", "verdict", "layer", "evidence", "note"}
    assert first["note"].startswith("Not found in [1]") and "checked against the snippet only" in first["note"]
    assert first["evidence"]["id"] == 1 and first["evidence"]["text"].startswith("The tower is 330 metres")
    assert done["claims_summary"] == {"checked": 2, "supported": 0, "not_supported": 2, "uncited": 1,
                                      "partly": 0, "contradicted": 0}
    assert done["sources"][0] == {"id": 1, "title": "Eiffel Tower - Wikipedia",
                                  "url": "https://en.wikipedia.org/wiki/Eiffel_Tower"}  # shape unchanged


def test_check_off_leaves_done_as_it_was():
    for args, env in ((["--check-claims", "off"], {}), ([], {"DEEPSEARCH_CHECK_CLAIMS": "off"})):
        done = last_done(agent(*RUN, "--json", *args, **env).stdout)
        assert "claims" not in done and "claims_summary" not in done


def test_a_bad_check_mode_is_a_usage_error():
    p = agent(*RUN, "--check-claims", "maybe")
    assert p.returncode == 2


def test_check_trace_rechecks_a_recorded_run_and_an_older_one(tmp_path):
    trace = tmp_path / "t.jsonl"
    assert agent(*RUN, "--trace", str(trace)).returncode == 0
    p = agent("check", str(trace), "--json")
    assert p.returncode == 0, p.stderr
    [row] = [json.loads(line) for line in p.stdout.splitlines()]
    assert row["claims"] == row["recorded_claims"]  # a pure function: the same verdicts afresh
    # A trace written before claims were checked: no claims, no snippets. It loads and is checked.
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    for line in lines:
        for key in ("claims", "claims_summary", "snippets"):
            line.pop(key, None)
    old = tmp_path / "old.jsonl"
    old.write_text("".join(json.dumps(line) + "\n" for line in lines))
    [row] = [json.loads(line) for line in agent("check", str(old), "--json").stdout.splitlines()]
    assert row["recorded_claims"] is None
    assert row["claims"][0]["note"] == "Nothing of [1] was recorded to check against"
    text = agent("check", str(trace)).stdout
    assert "0 of 2 cited claims found in their sources · 2 not found · 1 sentence without a citation" in text
    assert agent("check", str(tmp_path / "missing.jsonl")).returncode == 2


def test_terminal_and_reports_show_the_check(tmp_path):
    trace = tmp_path / "t.jsonl"
    p = agent(*RUN, "--trace", str(trace))
    assert "Checked 0 of 2 cited claims found in their sources" in p.stdout
    assert "closest: The tower is 330 metres" in p.stdout
    for fmt in ("md", "html"):
        out = tmp_path / f"r.{fmt}"
        assert agent("--export", str(trace), "-o", str(out)).returncode == 0
        report = out.read_text()
        assert "0 of 2 cited claims found in their sources" in report
        assert "The Eiffel Tower is 300 m tall" in report and "Not found in" in report


def test_check_trace_with_a_judge_that_cannot_be_reached_keeps_the_lexical_verdicts(tmp_path):
    trace = tmp_path / "t.jsonl"
    assert agent("How tall is the Eiffel Tower?", "--model-script", str(DATA / "eiffel.script.json"),
                 "--search-fixture", str(DATA / "eiffel.search.json"), "--trace", str(trace)).returncode == 0
    p = agent("check", str(trace), "--json", "--judge-base-url", "http://127.0.0.1:9/v1", "--judge-model", "m")
    assert p.returncode == 1 and "could not run" in p.stderr
    [row] = [json.loads(line) for line in p.stdout.splitlines()]
    assert [(c["verdict"], c["layer"]) for c in row["claims"]] == [("supported", "lexical")]
    assert agent("check", str(trace), "--judge-model", "m").returncode == 2
