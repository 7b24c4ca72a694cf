"""Issue 25.19: resuming never reuses a row graded against golden answers that have since been
corrected (it is asked and graded again), and a results.jsonl holding damaged values ends with
exit 2 and the foreign-line message, not "internal error" on every later run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.integration.test_eval_cli import DATA, ENGINE, evaluate, results


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real first run's results folder, made once for the module."""
    out = tmp_path_factory.mktemp("first") / "out"
    p = evaluate(str(DATA / "questions.jsonl"), "--out", str(out), *ENGINE)
    assert p.returncode == 0, p.stderr
    return out


@pytest.fixture
def first_run(recorded: Path, tmp_path: Path) -> Path:
    """The first run's results folder, copied into this test's folder (each test damages its own)."""
    out = tmp_path / "out"
    shutil.copytree(recorded, out)
    return out


def test_a_corrected_golden_answer_is_graded_again(tmp_path: Path, first_run: Path) -> None:
    out = first_run
    before = {r["id"]: r for r in results(out)}
    assert before["paris"]["em"] == 1.0
    corrected = tmp_path / "corrected.jsonl"
    lines = [json.loads(line) for line in (DATA / "questions.jsonl").read_text().splitlines() if line.strip()]
    for row in lines:
        if row["id"] == "paris":
            row["golden_answers"] = ["Lyon"]  # same id and question, corrected answer
    corrected.write_text("".join(json.dumps(r) + "\n" for r in lines))
    p = evaluate(str(corrected), "--out", str(out), *ENGINE)
    assert p.returncode == 0, p.stderr
    latest = {r["id"]: r for r in results(out)}
    assert latest["paris"]["golden_answers"] == ["Lyon"] and latest["paris"]["em"] == 0.0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 4 and summary["em"] == pytest.approx(sum(r["em"] for r in latest.values()) / 4)


@pytest.mark.parametrize("damage", [
    {"f1": "abc"}, {"em": None}, {"subem": 7}, {"em": True}, {"golden_answers": "Paris"},
    {"end": "exploded"}, {"judge": 3}, {"seconds": "slow"}, {"question": ["x"]},
])
def test_damaged_values_exit_2_with_the_foreign_line_message(tmp_path: Path, first_run: Path, damage: dict) -> None:
    out = first_run
    rows = results(out)
    rows[1].update(damage)
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    p = evaluate(str(DATA / "questions.jsonl"), "--out", str(out), *ENGINE)
    assert p.returncode == 2, (p.returncode, p.stdout[-500:], p.stderr[-500:])
    assert "line 2 is not a result this tool wrote" in p.stderr
    assert "internal error" not in p.stderr + p.stdout


def test_deep_nesting_exits_2(tmp_path: Path, first_run: Path) -> None:
    out = first_run
    with (out / "results.jsonl").open("a") as f:
        f.write("[" * 100_000 + "\n")
    p = evaluate(str(DATA / "questions.jsonl"), "--out", str(out), *ENGINE)
    assert p.returncode == 2 and "is not a result this tool wrote" in p.stderr, p.stderr[-500:]
