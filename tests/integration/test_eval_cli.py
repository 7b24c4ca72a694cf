"""``python -m agent.eval`` driven as a person would: a real subprocess, files on disk, Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.chat_reply import reply_chat
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "eval"
ENGINE = ["--model-script", str(DATA / "catalogue.json"), "--search-fixture", str(DATA / "search.json")]


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "TAVILY", "OPENAI"))}
    e.update(PYTHON_DOTENV_DISABLED="1", **extra)
    return e


def evaluate(*args, timeout=120, **extra_env):
    return subprocess.run([sys.executable, "-m", "agent.eval", *args], cwd=ROOT, env=env(**extra_env),
                          capture_output=True, text=True, timeout=timeout)


def results(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_csv_with_mapped_fields_scores_like_the_jsonl(tmp_path):
    p = evaluate(str(DATA / "questions.csv"), "--out", str(tmp_path), "--question-field", "Question",
                 "--answer-field", "Answer", *ENGINE)
    assert p.returncode == 0, p.stderr
    assert "em 0.250  f1 0.417  subem 0.750  (4/4 questions, 0 error(s))" in p.stdout
    assert "EM 0.250" in p.stderr  # the progress bar's running score
    assert [r["id"] for r in results(tmp_path)] == ["1", "2", "3", "4"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["settings"]["backend"] == "scripted" and summary["settings"]["fields"]["question"] == "Question"


def test_each_trace_replays_and_exports_with_the_main_cli(tmp_path):
    assert evaluate(str(DATA / "questions.jsonl"), "--out", str(tmp_path), "--limit", "1", *ENGINE).returncode == 0
    trace = tmp_path / results(tmp_path)[0]["trace"]
    p = subprocess.run([sys.executable, "-m", "agent", "--replay", str(trace), "--speed", "0", "--json"],
                       cwd=ROOT, env=env(), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    done = json.loads(p.stdout.splitlines()[-1])
    assert done["type"] == "done" and done["answer"].endswith("Final answer: Paris")


def test_concurrency_flag_gives_the_same_results(tmp_path):
    p = evaluate(str(DATA / "questions.jsonl"), "--out", str(tmp_path), "--concurrency", "4", "--no-progress",
                 *ENGINE, DEEPSEARCH_SCRIPT_DELAY="0.002")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""  # --no-progress: nothing on stderr
    assert sorted(r["id"] for r in results(tmp_path)) == ["eiffel", "hamlet", "paris", "wall"]
    assert json.loads((tmp_path / "summary.json").read_text())["settings"]["concurrency"] == 4


@pytest.mark.parametrize("content,needle", [
    ("", "no usable row"),
    ('{"question": "q"}\n', "no usable row"),
    ("{broken\n", "line 1 is not JSON"),
])
def test_bad_datasets_exit_2_with_a_message(tmp_path, content, needle):
    path = tmp_path / "d.jsonl"
    path.write_text(content)
    p = evaluate(str(path), "--out", str(tmp_path / "out"), *ENGINE)
    assert p.returncode == 2 and needle in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,needle", [
    (["/nonexistent.jsonl"], "does not exist"),
    (["DATA.txt"], "unknown format"),
    (["DATA", "--limit", "0"], "--limit must be at least 1"),
    (["DATA", "--concurrency", "0"], "--concurrency must be at least 1"),
    (["DATA", "--judge-model", "m"], "needs both --judge-base-url and --judge-model"),
    (["DATA", "--trace", "x.jsonl"], "do not apply here"),
    (["DATA", "--model-script", "/nonexistent.json"], "does not exist"),
])
def test_bad_arguments_exit_2(tmp_path, args, needle):
    args = [str(DATA / "questions.jsonl") if a == "DATA" else a for a in args]
    if args[0] == "DATA.txt":
        args[0] = str(tmp_path / "d.txt")
        Path(args[0]).write_text("x")
    p = evaluate(*args, "--out", str(tmp_path / "out"), *(ENGINE if "--model-script" not in args else []))
    assert p.returncode == 2 and needle in p.stderr and "Traceback" not in p.stderr


def test_resuming_with_another_model_or_budget_is_refused(tmp_path):
    data = str(DATA / "questions.jsonl")
    assert evaluate(data, "--out", str(tmp_path), "--limit", "1", "--no-progress", *ENGINE).returncode == 0
    p = evaluate(data, "--out", str(tmp_path), "--no-progress", "--max-searches", "2", *ENGINE)
    assert p.returncode == 2 and "engine.max_searches 5 -> 2" in p.stderr
    # What does not change an answer may change: the limit and the concurrency.
    assert evaluate(data, "--out", str(tmp_path), "--no-progress", "--concurrency", "2", *ENGINE).returncode == 0


def test_an_out_that_is_a_file_exits_2(tmp_path):
    (tmp_path / "file").write_text("x")
    p = evaluate(str(DATA / "questions.jsonl"), "--out", str(tmp_path / "file"), "--no-progress", *ENGINE)
    assert p.returncode == 2 and "cannot write the results" in p.stderr and "Traceback" not in p.stderr


def test_a_folder_holding_another_datasets_results_exits_2(tmp_path):
    (tmp_path / "results.jsonl").write_text(json.dumps(
        {"id": "paris", "question": "Other?", "golden_answers": ["x"], "em": 0, "f1": 0, "subem": 0,
         "end": "answered"}) + "\n")
    p = evaluate(str(DATA / "questions.jsonl"), "--out", str(tmp_path), *ENGINE)
    assert p.returncode == 2 and "another question" in p.stderr


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_keeps_complete_lines_and_the_rerun_resumes(tmp_path, stop):
    proc = subprocess.Popen([sys.executable, "-m", "agent.eval", str(DATA / "questions.jsonl"),
                             "--out", str(tmp_path), "--no-progress", *ENGINE],
                            cwd=ROOT, env=env(DEEPSEARCH_SCRIPT_DELAY="0.03"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    path = tmp_path / "results.jsonl"
    wait_until(lambda: path.exists() and path.read_text().count("\n") >= 1,
               f"a first complete line in {path}", timeout=60)
    proc.send_signal(stop)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "rerun the same command to resume" in err and "Traceback" not in err
    text = path.read_text()
    assert text.endswith("\n")
    kept = [json.loads(line) for line in text.splitlines()]
    assert 1 <= len(kept) < 4
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n"] == len(kept) and summary["complete"] is False
    again = evaluate(str(DATA / "questions.jsonl"), "--out", str(tmp_path), "--no-progress", *ENGINE)
    assert again.returncode == 0, again.stderr
    assert len(results(tmp_path)) == 4 and "(4/4 questions" in again.stdout


class _FakeJudge(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint that calls an answer correct when it mentions 330 or Paris."""

    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        answer = body["messages"][0]["content"].split("Answer to grade:")[1]
        verdict = "CORRECT" if ("330" in answer or "Paris" in answer) else "INCORRECT"
        reply_chat(self, model=body["model"], content=f"<think>CORRECT?</think>\n{verdict}")

    def log_message(self, *args):
        pass


def test_an_llm_judge_grades_beside_em(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeJudge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        p = evaluate(str(DATA / "questions.jsonl"), "--out", str(tmp_path), "--no-progress",
                     "--judge-base-url", f"http://127.0.0.1:{server.server_port}/v1", "--judge-model", "grader",
                     *ENGINE, DEEPSEARCH_JUDGE_API_KEY="judge-secret-key")
    finally:
        server.shutdown()
    assert p.returncode == 0, p.stderr
    verdicts = {r["id"]: r["judge"] for r in results(tmp_path)}
    # Judged on the whole answer: "about 330 metres tall" is right though its EM is 0.
    assert verdicts == {"paris": "correct", "hamlet": "incorrect", "eiffel": "correct", "wall": "incorrect"}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["judge"] == 0.5 and summary["judged"] == 4 and summary["em"] == 0.25
    assert "judge 0.500 (4 graded)" in p.stdout
    req = _FakeJudge.requests[-1]
    assert req["path"] == "/v1/chat/completions" and req["model"] == "grader"
    assert req["auth"] == "Bearer judge-secret-key"
    assert "judge-secret-key" not in (tmp_path / "summary.json").read_text()


def test_an_unreachable_judge_leaves_em_and_says_why(tmp_path):
    p = evaluate(str(DATA / "questions.jsonl"), "--out", str(tmp_path), "--no-progress", "--limit", "1",
                 "--judge-base-url", "http://127.0.0.1:9/v1", "--judge-model", "grader", *ENGINE,
                 DEEPSEARCH_OPENAI_TIMEOUT="2")
    assert p.returncode == 0, p.stderr
    row = results(tmp_path)[0]
    assert row["em"] == 1.0 and row["judge"] is None and "judge" in row["judge_error"]


def test_a_search_r1_run_scores_its_answer_tag_and_keeps_the_trained_prompt(tmp_path):
    (tmp_path / "d.jsonl").write_text(json.dumps({"id": "e", "question": "How tall is the Eiffel Tower",
                                                  "golden_answers": ["330 metres"]}) + "\n")
    (tmp_path / "script.json").write_text(json.dumps([
        "<think> I need the height. </think>\n<search> Eiffel Tower height </search>",
        "<think> 330 m. </think>\n<answer> 330 metres </answer>"]))
    p = evaluate(str(tmp_path / "d.jsonl"), "--out", str(tmp_path / "out"), "--no-progress", "--dialect", "search-r1",
                 "--model-script", str(tmp_path / "script.json"), "--search-fixture", str(DATA / "search.json"))
    assert p.returncode == 0, p.stderr
    row = results(tmp_path / "out")[0]
    assert (row["prediction"], row["em"], row["searches"]) == ("330 metres", 1.0, 1)
    settings = json.loads((tmp_path / "out" / "summary.json").read_text())["settings"]
    assert settings["answer_instruction"] is None and settings["engine"]["dialect"] == "search-r1"


def test_citation_metrics_per_row_in_the_summary_and_the_report(tmp_path):
    p = evaluate(str(DATA / "questions.jsonl"), "--out", str(tmp_path), "--no-progress", *ENGINE)
    assert p.returncode == 0, p.stderr
    rows = {r["id"]: r for r in results(tmp_path)}
    metrics = ("citation_recall", "citation_precision", "supported_claim_rate", "uncited_sentences")
    # "The capital of France is **Paris** [1]." is in its snippet; "Final answer: Paris" cites nothing.
    assert [rows["paris"][k] for k in metrics] == [1.0, 1.0, 0.5, 1]
    # Two sentences, no citation: nothing to recall or to be precise about, nothing supported.
    assert [rows["hamlet"][k] for k in metrics] == [None, None, 0.0, 2]
    summary = json.loads((tmp_path / "summary.json").read_text())
    # Means over rows that have a value: recall (1 + 1) / 2; rate (0.5 + 0 + 0.5 + 0) / 4; 1 + 2 + 1 + 2 uncited.
    assert [summary[k] for k in metrics] == [1.0, 1.0, 0.25, 6]
    report = (tmp_path / "report.html").read_text()
    assert "citation recall" in report and "uncited sentences" in report
