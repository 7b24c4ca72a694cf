"""A trace whose run was judged by the model after it ended (a ``claims_judged`` line, as the
app appends to its ``--trace`` file): the real CLI's replay, export and check all show the judged
verdicts, never the lexical ones it first recorded."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_trace_cli import run_cli
from tests.unit.test_trace_judged import _done, _judged, _two_runs
from agent.records.judged import judged_line


def test_replay_export_and_check_show_the_judged_verdicts(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    first, _ = _two_runs(path)
    with path.open("a", encoding="utf-8") as out:
        out.write((judged_line(first, _judged(_done())) or "") + "\n")
    replayed = run_cli("--replay", str(path), "--run", "0", "--json", "--speed", "0")
    assert replayed.returncode == 0, replayed.stderr
    done = json.loads(replayed.stdout.splitlines()[-1])
    assert done["type"] == "done" and [c["layer"] for c in done["claims"]] == ["judge", "judge"]
    assert done["claims_summary"]["contradicted"] == 2
    last = run_cli("--replay", str(path), "--json", "--speed", "0")  # the second run was not judged
    assert [c["layer"] for c in json.loads(last.stdout.splitlines()[-1])["claims"]] == ["lexical", "lexical"]
    exported = run_cli("--export", str(path), "--format", "md", "-o", str(tmp_path / "report.md"))
    assert exported.returncode == 0, exported.stderr
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "0 of 2 cited claims found in their sources" in report  # the first run, judged
    assert "2 of 2 cited claims found in their sources" in report  # the second, as recorded
    checked = run_cli("check", str(path), "--json")
    rows = [json.loads(line) for line in checked.stdout.splitlines()]
    assert [[c["layer"] for c in row["recorded_claims"]] for row in rows] == [["judge"] * 2, ["lexical"] * 2]
