"""Running a dataset: scores, resume, concurrency, Ctrl-C safety, through the Python API."""

import json
import threading
from pathlib import Path

import pytest

from agent.config import settings_from_env
from agent.eval.dataset import load_dataset
from agent.eval.one import Asker, NoteBackend, file_stem
from agent.eval.prediction import ANSWER_INSTRUCTION
from agent.eval.results import read_results
from agent.eval.runner import pending_questions, run_dataset
from agent.search import build_search
from agent.session import build_backend
from agent.records.trace import read_trace

DATA = Path(__file__).resolve().parents[1] / "data" / "eval"
CATALOGUE, SEARCH = DATA / "catalogue.json", DATA / "search.json"
# The catalogue's known answers: Paris right, Marlowe wrong, "about 330 metres tall" half right,
# "no it is not" for golden "no" (F1 0 by HotpotQA's yes/no rule, subEM 1).
EXPECTED = {"paris": (1.0, 1.0, 1.0), "hamlet": (0.0, 0.0, 0.0),
            "eiffel": (0.0, 2 / 3, 1.0), "wall": (0.0, 0.0, 1.0)}


def asker(out, **overrides):
    settings = settings_from_env({}, model_script=str(CATALOGUE), search_fixture=str(SEARCH), **overrides)
    return Asker(settings=settings, backend=NoteBackend(build_backend(settings), ANSWER_INSTRUCTION),
                 search=build_search(settings), out=out)


def run(out, *, concurrency=1, cancel=None, limit=None, **kw):
    questions = load_dataset(DATA / "questions.jsonl", limit=limit).questions
    return run_dataset(questions, asker=asker(out, **kw), concurrency=concurrency,
                       cancel=cancel or threading.Event(), settings_summary={"dataset": "questions.jsonl"})


def rows(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_known_answers_give_the_exact_expected_scores(tmp_path):
    outcome = run(tmp_path)
    got = {r["id"]: (r["em"], r["f1"], r["subem"]) for r in rows(tmp_path)}
    assert got.keys() == EXPECTED.keys()
    for qid, (em, f1, subem) in EXPECTED.items():
        assert got[qid] == (em, pytest.approx(f1, abs=1e-6), subem), qid
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s == outcome.summary
    assert (s["n"], s["total"], s["complete"], s["errors"]) == (4, 4, True, 0)
    assert s["em"] == 0.25 and s["f1"] == pytest.approx((1 + 2 / 3) / 4, abs=1e-6) and s["subem"] == 0.75
    assert s["mean_searches"] == 0.5 and s["settings"] == {"dataset": "questions.jsonl"}


def test_each_result_line_holds_what_a_person_needs(tmp_path):
    run(tmp_path)
    paris = next(r for r in rows(tmp_path) if r["id"] == "paris")
    assert paris["prediction"] == "Paris" and paris["answer"].startswith("The capital of France is **Paris** [1]")
    assert paris["golden_answers"] == ["Paris"] and paris["cited"] == [1] and paris["searches"] == 1
    assert paris["end"] == "answered" and paris["error"] is None and paris["tokens"] > 0
    meta, events = read_trace(tmp_path / paris["trace"])
    assert meta["question"] == "What is the capital of France?" and events[-1][1].type == "done"
    report = (tmp_path / paris["report"]).read_text()
    assert "What is the capital of France?" in report and "<script" not in report
    table = (tmp_path / "report.html").read_text()
    assert f'href="{paris["report"]}"' in table and "25.0%" in table and "<script" not in table


def test_the_question_is_asked_as_written_and_the_instruction_goes_to_the_system_prompt():
    seen = []

    class Spy:
        name, model_id = "spy", "spy"

        def start(self, messages, tools, *, settings=None):
            seen.append(messages)
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError):
        NoteBackend(Spy(), ANSWER_INSTRUCTION).start(
            [{"role": "system", "content": "S"}, {"role": "user", "content": "Who wrote Hamlet?"}], [])
    assert seen[0] == [{"role": "system", "content": f"S\n\n{ANSWER_INSTRUCTION}"},
                       {"role": "user", "content": "Who wrote Hamlet?"}]


def test_resume_skips_done_questions_and_rescores_the_whole_set(tmp_path):
    first = run(tmp_path, limit=2)
    assert first.summary["n"] == 2 and first.ran == 2
    second = run(tmp_path)
    assert second.ran == 2 and second.summary["n"] == 4 and second.summary["em"] == 0.25
    assert sorted(r["id"] for r in rows(tmp_path)) == sorted(EXPECTED)  # nothing asked twice
    assert run(tmp_path).ran == 0


def test_a_line_cut_off_by_a_kill_is_dropped_and_that_question_runs_again(tmp_path):
    run(tmp_path)
    text = (tmp_path / "results.jsonl").read_text()
    (tmp_path / "results.jsonl").write_text(text[:-40])  # the last line loses its end
    assert len(read_results(tmp_path / "results.jsonl")) == 3
    again = run(tmp_path)
    assert again.ran == 1 and again.summary["n"] == 4
    assert all(line.endswith("}") for line in (tmp_path / "results.jsonl").read_text().splitlines())


def test_an_error_row_is_asked_again_on_resume(tmp_path):
    run(tmp_path)
    lines = rows(tmp_path)
    lines[1].update(end="error", error="server down", em=0.0)
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    done, todo = pending_questions(load_dataset(DATA / "questions.jsonl").questions, tmp_path)
    assert [q.id for q in todo] == [lines[1]["id"]] and len(done) == 3


def test_another_dataset_in_the_same_folder_is_refused(tmp_path):
    run(tmp_path)
    lines = rows(tmp_path)
    lines[0]["question"] = "Something else?"
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    with pytest.raises(ValueError, match="another question"):
        run(tmp_path)


def test_concurrent_questions_give_the_same_scores(tmp_path):
    outcome = run(tmp_path, concurrency=4, script_delay_s=0.002)
    assert outcome.summary["n"] == 4 and outcome.summary["em"] == 0.25 and outcome.summary["subem"] == 0.75
    # Each question has its own source numbering: both searches' results are [1].
    cited = {r["id"]: r["cited"] for r in rows(tmp_path)}
    assert cited["paris"] == [1] and cited["eiffel"] == [1]


def test_concurrency_really_overlaps_questions(tmp_path):
    starts, lock, peak = [], threading.Lock(), [0]
    a = asker(tmp_path, script_delay_s=0.01)
    real_ask = a.ask

    def ask(q, cancel):
        with lock:
            starts.append(q.id)
            peak[0] = max(peak[0], len(starts))
        try:
            return real_ask(q, cancel)
        finally:
            with lock:
                starts.remove(q.id)

    object.__setattr__(a, "ask", ask)
    questions = load_dataset(DATA / "questions.jsonl").questions
    run_dataset(questions, asker=a, concurrency=3, cancel=threading.Event(), settings_summary={})
    assert peak[0] == 3


def test_a_cancelled_run_writes_only_complete_results(tmp_path):
    cancel = threading.Event()
    a = asker(tmp_path, script_delay_s=0.05)
    questions = load_dataset(DATA / "questions.jsonl").questions
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    outcome = run_dataset(questions, asker=a, concurrency=2, cancel=cancel, settings_summary={})
    timer.join()
    assert outcome.interrupted and outcome.summary["n"] < 4 and not outcome.summary["complete"]
    assert len(rows(tmp_path)) == outcome.summary["n"]  # no stopped question was recorded
    resumed = run(tmp_path)
    assert resumed.summary["n"] == 4 and resumed.summary["em"] == 0.25


def test_file_stems_are_safe_and_distinct():
    assert file_stem("q-12") == "q-12"
    assert file_stem("a/b") != file_stem("a_b") and "/" not in file_stem("a/b")
    assert file_stem("../../etc").startswith("etc-")


def test_resuming_with_other_engine_settings_is_refused(tmp_path):
    questions = load_dataset(DATA / "questions.jsonl", limit=1).questions
    first = {"model": "m", "engine": {"max_searches": 5, "temperature": 0.6}}
    run_dataset(questions, asker=asker(tmp_path), concurrency=1, cancel=threading.Event(), settings_summary=first)
    changed = {"model": "m", "engine": {"max_searches": 2, "temperature": 0.6}}
    with pytest.raises(ValueError, match=r"engine.max_searches 5 -> 2"):
        run_dataset(questions, asker=asker(tmp_path), concurrency=1, cancel=threading.Event(),
                    settings_summary=changed)
    # Settings that do not change an answer (concurrency, limit) are not compared.
    same = dict(first, concurrency=8, limit=None)
    assert run_dataset(questions, asker=asker(tmp_path), concurrency=1, cancel=threading.Event(),
                       settings_summary=same).summary["n"] == 1


def test_a_cut_off_run_is_recorded_with_the_engines_end_and_scores_zero(tmp_path):
    outcome = run(tmp_path, limit=1, max_new_tokens=3)
    row = rows(tmp_path)[0]
    assert row["end"] == "token_limit" and row["answer"] == "" and row["em"] == 0.0
    assert outcome.summary["ends"] == {"token_limit": 1} and outcome.summary["errors"] == 0
