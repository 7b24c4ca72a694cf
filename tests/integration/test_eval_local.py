"""The shipped tiny corpus end to end offline: index it, then evaluate its questions with
``--provider local`` (a scripted model makes the searches; the index answers them)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_eval_cli import env, evaluate, results

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "eval"


def test_tiny_corpus_questions_run_end_to_end_on_the_local_index(tmp_path):
    index, out = tmp_path / "index", tmp_path / "out"
    add = subprocess.run([sys.executable, "-m", "agent.index", "add", str(DATA / "tiny-corpus.jsonl"),
                          "--index", str(index)], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120)
    assert add.returncode == 0, add.stderr
    p = evaluate(str(DATA / "tiny-questions.jsonl"), "--out", str(out), "--no-progress", "--provider", "local",
                 "--index", str(index), "--model-script", str(DATA / "tiny-catalogue.json"))
    assert p.returncode == 0, p.stderr
    summary = json.loads((out / "summary.json").read_text())
    # Five answers right, "the Danube" wrong (the Volga is longer).
    assert (summary["n"], summary["errors"]) == (6, 0)
    assert summary["em"] == pytest.approx(5 / 6, abs=1e-6) and summary["subem"] == pytest.approx(5 / 6, abs=1e-6)
    rows = {r["id"]: r for r in results(out)}
    assert rows["tiny-q3"]["em"] == 0.0 and rows["tiny-q1"]["prediction"] == "Dijon"
    assert [r["searches"] for r in rows.values()] == [2, 1, 0, 2, 2, 1]
    # The searches were answered by the index: the passages the model read are the corpus's.
    trace = [json.loads(line) for line in (out / rows["tiny-q1"]["trace"]).read_text().splitlines()]
    found = [s for e in trace if e["type"] == "search_done" for s in e["results"]]
    assert found and all(e.get("provider") == "local" for e in trace if e["type"] == "search_done")
    assert rows["tiny-q1"]["cited"] == [1, 2]
