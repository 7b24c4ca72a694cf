"""Each answer's sources as people see them: numbered from 1 in order of first citation, then the (integration part of test_citation_numbering.py)"""

from __future__ import annotations

import json
from pathlib import Path

from agent.__main__ import main
from agent.events import to_dict
from agent.records.report import export
from tests.engine_helpers import answer, call, result
from tests.integration.test_trace_cli import run_cli
from tests.unit.test_citation_numbering import TEXT, cites_three_before_one


def test_cli_json_keeps_engine_ids_and_adds_the_numbers(tmp_path: Path) -> None:
    script, fixture = tmp_path / "s.json", tmp_path / "f.json"
    script.write_text(json.dumps([call("q"), answer(TEXT)]))
    fixture.write_text(json.dumps({"q": [result(1), result(2), result(3)]}))
    proc = run_cli("Which?", "--json", "--model-script", str(script), "--search-fixture", str(fixture))
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    searched = {r["id"] for e in events if e["type"] == "search_done" for r in e["results"]}
    done = events[-1]
    assert done["type"] == "done" and done["cited"] == [3, 1] and TEXT in done["answer"]
    assert done["display_numbers"] == {"3": 1, "1": 2, "2": 3}
    assert {int(k) for k in done["display_numbers"]} == searched == {s["id"] for s in done["sources"]}


def test_an_old_trace_without_the_numbers_is_numbered_from_its_answer(tmp_path: Path) -> None:
    """A version-1 trace (no ``end``, no ``display_numbers``) exports and replays numbered."""
    meta = {"type": "meta", "version": 1, "question": "Which?", "model": "m", "backend": "scripted",
            "settings": {}, "started_at": "2025-01-01T00:00:00Z", "scripted": True}
    lines = [meta]
    for i, event in enumerate(cites_three_before_one()):
        data = to_dict(event)
        data.pop("display_numbers", None)
        data.pop("end", None)
        lines.append({**data, "t": i * 0.1})
    trace = tmp_path / "v1.jsonl"
    trace.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert "Gamma says so [\\[1\\]](https://c.example/z)" in export(trace, fmt="md")
    out = tmp_path / "r.html"
    assert main(["--export", str(trace), "-o", str(out)]) == 0
    assert '<li id="source-1" value="1"><a href="https://c.example/z"' in out.read_text(encoding="utf-8")
    proc = run_cli("--replay", str(trace), "--speed", "0")
    assert proc.returncode == 0 and "Gamma says so [1]. Alpha agrees [2]." in proc.stdout
    replayed = [json.loads(x) for x in run_cli("--replay", str(trace), "--json", "--speed", "0").stdout.splitlines()]
    assert replayed[-1]["display_numbers"] == {"3": 1, "1": 2, "2": 3} and replayed[-1]["cited"] == [3, 1]

