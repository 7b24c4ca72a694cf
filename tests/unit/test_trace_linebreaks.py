"""Issue 11.2: every character ``str.splitlines`` breaks on, in every recorded text field,
leaves a trace the app can read back: CLI --trace/--replay/--export, app.py --trace session
files and the UI's downloads. The writer escapes them; the reader splits on "\\n" only, so a
trace written raw by an older build reads too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.backends.scripted import ScriptedBackend
from agent.config import Settings
from agent.events import Answer, Done, Error, RefusedCall, RunStats, SearchDone, SearchStart, SourceRef, Thinking
from agent.records.conversation import Turn
from agent.records.report import export
from agent.records.trace import TraceWriter, read_runs, read_trace
from ui.pump import stamp_ms
from ui.recording import Recorder
from ui.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]

# Everything str.splitlines() splits on except "\n" and "\r", which JSON always escapes.
BREAKS = ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def events_with(ch: str) -> list:
    ref = SourceRef(id=1, title=f"Title{ch}one", url=f"https://example.com/a{ch}b")
    return [
        Thinking(text=f"think{ch}ing"),
        SearchStart(query=f"que{ch}ry", round=1, max_searches=5),
        SearchDone(query=f"que{ch}ry", provider=f"fix{ch}ture", latency_s=0.1, results=(ref,)),
        SearchStart(query="down", round=2, max_searches=5),
        SearchDone(query="down", provider="fixture", latency_s=0.1, error=f"HTTP{ch}503"),
        Error(message=f"recover{ch}ed"),
        Answer(text=f"ans{ch}wer [1]"),
        Done(answer=f"ans{ch}wer [1]", sources=(ref,), cited=(1,), searches=2,
             stats=RunStats(refused_calls=(RefusedCall(reason="budget", query=f"mo{ch}re"),))),
    ]


def write(path: Path, ch: str, *, question: str | None = None) -> list:
    events = events_with(ch)
    with TraceWriter(path, question=question or f"How{ch}tall?", settings=Settings(backend="scripted"),
                     model=f"script{ch}model") as writer:
        for event in events:
            writer.write(event)
    return events


@pytest.mark.parametrize("ch", BREAKS, ids=[f"U+{ord(c):04X}" for c in BREAKS])
def test_every_text_field_round_trips(tmp_path: Path, ch: str) -> None:
    path = tmp_path / "t.jsonl"
    events = write(path, ch)
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(events) + 1  # one event a line
    meta, timed = read_trace(path)
    assert meta["question"] == f"How{ch}tall?" and meta["model"] == f"script{ch}model"
    assert [e for _, e in timed] == events
    assert "wer" in export(path, fmt="md") and "wer" in export(path, fmt="html")


@pytest.mark.parametrize("ch", ["\u2028", "\x85"])
def test_a_raw_trace_from_an_older_writer_still_reads(tmp_path: Path, ch: str) -> None:
    path = tmp_path / "raw.jsonl"
    write(path, ch)
    text = path.read_text(encoding="utf-8")
    raw = text.replace("\\u2028", "\u2028").replace("\\u0085", "\x85")
    assert ch in raw
    path.write_text(raw, encoding="utf-8")
    assert read_trace(path)[1][-1][1].answer == f"ans{ch}wer [1]"


def test_one_such_question_keeps_a_session_file_readable(tmp_path: Path) -> None:
    """``app.py --trace``: every answer's recording is appended to one file."""
    session = tmp_path / "session.jsonl"
    settings = Settings(backend="scripted")
    backend = ScriptedBackend(rounds=[], settings=settings)
    runtime = Runtime(settings=settings, backend=backend, loader=None, trace_path=str(session))  # type: ignore[arg-type]
    for n, question in enumerate(["first", "bad\u2028question\x85here", "third"]):
        folder = tmp_path / f"answer{n}"
        folder.mkdir()
        recorder = Recorder(folder, question=question, runtime=runtime, settings=settings)
        turn = Turn(question=question, meta=recorder.meta)
        for event in events_with("\u2029"):
            recorder.write(event, stamp_ms())
            turn.add(event)
        recorder.close()
        trace, html, md = recorder.reports(turn)  # the UI's three downloads
        assert trace and html and md, question
    assert [meta["question"] for meta, _ in read_runs(session)] == [
        "first", "bad\u2028question\x85here", "third"]


# --------------------------------------------------------------------------- no server paths


def test_ui_downloads_name_files_not_server_folders(tmp_path: Path) -> None:
    """Issue 13: a trace downloaded from the UI carries no server paths (the demo's
    /…/assets/demo/scripts.json, a local model folder), only file names."""
    from ui.startup import make_runtime

    runtime = make_runtime(Settings(model=str(tmp_path / "models" / "my-model")), demo_reason="test")
    recorder = Recorder(tmp_path, question="q", runtime=runtime,
                        settings=runtime.settings.with_overrides(model=str(tmp_path / "models" / "my-model")))
    turn = Turn(question="q", meta=recorder.meta)
    for event in events_with(" "):
        recorder.write(event, stamp_ms())
        turn.add(event)
    recorder.close()
    trace, html, md = recorder.reports(turn)
    assert trace and html and md
    for path in (trace, html, md):
        text = Path(path).read_text(encoding="utf-8")
        assert str(ROOT / "assets") not in text and str(tmp_path) not in text and "/tmp" not in text, path
    meta, _ = read_trace(trace)
    assert meta["settings"]["model_script"] == "scripts.json"
    assert meta["settings"]["search_fixture"] == "search.json"
    assert meta["settings"]["model"] == "my-model"


# --------------------------------------------------------------------------- other JSONL files


@pytest.mark.parametrize("ch", BREAKS, ids=[f"U+{ord(c):04X}" for c in BREAKS])
def test_eval_results_resume_whatever_the_model_wrote(tmp_path: Path, ch: str) -> None:
    """The same class of bug in agent.eval's results.jsonl: a prediction holding U+2028 must
    not make the resumable file 'not a result this tool wrote'."""
    from agent.eval.results import Result, ResultsWriter, read_results

    path = tmp_path / "results.jsonl"
    writer = ResultsWriter(path)
    for n in range(2):
        writer.append(Result(id=str(n), question=f"q{ch}{n}", golden_answers=[f"a{ch}"], answer=f"x{ch}y",
                             prediction=f"x{ch}y", em=0.0, f1=0.0, subem=0.0, searches=0, cited=[], end="answered",
                             error=None, seconds=0.1, tokens=1, trace="t.jsonl", report=None))
    writer.close()
    rows = read_results(path)
    assert [rows[k]["prediction"] for k in ("0", "1")] == [f"x{ch}y"] * 2


def test_a_search_r1_corpus_row_may_hold_line_separators(tmp_path: Path) -> None:
    """JSONL from another tool (``ensure_ascii=False``) with U+2028 inside a passage is one row."""
    from agent.index.readers import read_file

    rows = [{"id": "1", "contents": '"Tower"\nIt is\u2028330 m\x85tall.'}, {"id": "2", "contents": '"B"\nbody'}]
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode("utf-8")
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(data)
    passages = read_file(path, data).passages
    assert len(passages) == 2 and "330 m" in str(passages[0])
