"""The model's verdicts recorded in a trace after the run (agent/records/judged.py): a
``claims_judged`` line naming its run by the meta's ``run`` id. Readers, replay, the check CLI
and the chat all see the judged verdicts; a malformed or stray line is refused by name."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from agent.claims import check_answer
from agent.claims.cli import main as check_main
from agent.config import Settings
from agent.events import Done, SourceRef
from agent.records.judged import judged_line
from agent.records.trace import TraceError, TraceWriter, read_runs, read_trace
from ui.mapper import events_to_messages

PAGE = "The Eiffel Tower is 330 metres tall. It opened on 31 March 1889."
ANSWER = "The tower is 330 metres tall [1]. It opened in 1889 [1]."


def _done() -> Done:
    sources = (SourceRef(id=1, title="s1", url="", kind="document", file="f.txt", text=PAGE),)
    return Done(answer=ANSWER, sources=sources, cited=(1,), claims=tuple(check_answer(ANSWER, sources)))


def _judged(done: Done) -> Done:
    claims = tuple(replace(c, verdict="contradicted", layer="judge", note="[1] says otherwise (the model)")
                   for c in done.claims or ())
    return replace(done, claims=claims)


def _two_runs(path: Path) -> tuple[dict, dict]:
    metas = []
    for question in ("first?", "second?"):
        with TraceWriter(path, question=question, settings=Settings(backend="scripted"), model="m") as writer:
            writer.write(_done())
            metas.append(writer.meta)
    return metas[0], metas[1]


def test_the_judged_verdicts_go_into_the_run_they_name_and_nowhere_else(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    first, second = _two_runs(path)
    assert first["run"] != second["run"]
    with path.open("a", encoding="utf-8") as out:
        out.write(judged_line(first, _judged(_done())) + "\n")  # after the second run, as the app appends
    runs = read_runs(path)
    assert [[c.layer for c in run[1][-1][1].claims] for run in runs] == [["judge", "judge"], ["lexical", "lexical"]]
    meta, timed = read_trace(path, run=0)
    assert meta["question"] == "first?" and timed[-1][1].claims_summary == {
        "checked": 2, "supported": 0, "not_supported": 2, "uncited": 0, "partly": 0, "contradicted": 2}
    assert read_trace(path)[1][-1][1].claims[0].layer == "lexical"  # the last run is untouched
    # A replay in the chat draws the judged verdicts.
    chat = "\n".join(str(m.content) for m in events_to_messages([e for _, e in timed], max_searches=3))
    assert "0 of 2 cited claims found in their sources · 2 not found · checked with the model" in chat
    # The check CLI re-checks lexically and shows what was recorded: the judged verdicts.
    out = io.StringIO()
    assert check_main([str(path), "--json", "--run", "0"], out=out) == 0
    row = json.loads(out.getvalue())
    assert [c["layer"] for c in row["recorded_claims"]] == ["judge", "judge"]
    assert [c["layer"] for c in row["claims"]] == ["lexical", "lexical"]


def test_the_last_judged_line_of_a_run_wins(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    first, _ = _two_runs(path)
    supported = replace(_done(), claims=tuple(replace(c, layer="judge") for c in _done().claims or ()))
    with path.open("a", encoding="utf-8") as out:
        out.write(judged_line(first, _judged(_done())) + "\n" + judged_line(first, supported) + "\n")
    assert [c.verdict for c in read_trace(path, run=0)[1][-1][1].claims] == ["supported", "supported"]


@pytest.mark.parametrize("change, expect", [
    (lambda line, meta: {**line, "run": "0123456789abcdef"}, "names run '0123456789abcdef', which this trace"),
    (lambda line, meta: {k: v for k, v in line.items() if k != "run"}, "must name its run's id in 'run'"),
    (lambda line, meta: {**line, "claims": line["claims"][:1]}, "does not check the sentences"),
    (lambda line, meta: {**line, "claims": "all fine"}, "'claims' must be a list"),
    (lambda line, meta: {**line, "verdict": "supported"}, "has no field 'verdict'"),
    (lambda line, meta: {**line, "claims": [{**c, "verdict": "SUPPORTED"} for c in line["claims"]]},
     "a claim's verdict must be one of"),
])
def test_a_bad_judged_line_is_refused_naming_its_line(tmp_path: Path, change, expect) -> None:
    path = tmp_path / "t.jsonl"
    first, _ = _two_runs(path)
    line = json.loads(judged_line(first, _judged(_done())) or "")
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, json.dumps(change(line, first))]) + "\n", encoding="utf-8")
    with pytest.raises(TraceError, match=expect) as caught:
        read_runs(path)
    assert f"t.jsonl:{len(lines) + 1}:" in str(caught.value)


def test_no_line_for_a_run_without_an_id_or_without_claims() -> None:
    meta = {"type": "meta", "question": "q"}  # a run recorded before runs had an id
    assert judged_line(meta, _done()) is None
    assert judged_line({**meta, "run": "ab"}, replace(_done(), claims=None)) is None


def test_secrets_never_reach_the_judged_line() -> None:
    done = _judged(_done())
    done = replace(done, claims=tuple(replace(c, note="key sk-secret-1 echoed") for c in done.claims or ()))
    line = judged_line({"run": "ab"}, done, secrets=["sk-secret-1"]) or ""
    assert "sk-secret-1" not in line and "[redacted]" in line
