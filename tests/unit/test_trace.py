"""Recordings: record a run, read it back strictly, replay it, export HTML and Markdown."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from agent.__main__ import main
from agent.config import Settings
from agent.events import (
    Answer,
    Done,
    Error,
    RefusedCall,
    RunStats,
    SearchDone,
    SearchStart,
    SourceRef,
    Thinking,
)
from agent.records.replay import MAX_REPLAY_PAUSE_S, replay
from agent.records.report import export, export_events
from agent.records.trace import TraceError, TraceWriter, read_runs, read_trace

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "assets" / "demo"
HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
HOSTILE_THINKING = "fine so far </details><script>alert(2)</script> and on"


# --------------------------------------------------------------------------- helpers


class FakeClock:
    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


def write_trace(path: Path, events, times=None, **settings_kw) -> Path:
    settings_kw.setdefault("backend", "scripted")
    times = list(times if times is not None else [i * 0.5 for i in range(len(events))])
    clock = FakeClock(0.0, *times)
    with TraceWriter(path, question="How tall is it?", settings=Settings(**settings_kw),
                     model="script:test", clock=clock) as writer:
        for event in events:
            writer.write(event)
    return path


def sample_events(*, title: str = "Eiffel Tower - Wikipedia", url: str = "https://en.wikipedia.org/wiki/Eiffel_Tower",
                  thinking: str = "Let me search.", stopped: bool = False):
    ref = SourceRef(id=1, title=title, url=url)
    evil = SourceRef(id=2, title="Click me", url="javascript:alert(3)")
    return [
        Thinking(text=thinking[: len(thinking) // 2]),
        Thinking(text=thinking[len(thinking) // 2:]),
        SearchStart(query="eiffel <b>height</b>", round=1, max_searches=5),
        SearchDone(query="eiffel <b>height</b>", provider="fixture", latency_s=0.25, results=(ref, evil)),
        SearchStart(query="down", round=2, max_searches=5),
        SearchDone(query="down", provider="fixture", latency_s=1.5, error="HTTP 503 <oops>"),
        Thinking(text="Enough."),
        Answer(text="It is 330 m [1], not [9]."),
        Done(answer="It is 330 m [1], not [9].", sources=(ref, evil), cited=(1,), searches=2,
             stopped=stopped, end="stopped" if stopped else "answered",
             stats=RunStats(total_s=2.5, search_latencies_s=(0.25, 1.5), finish="stop",
                            refused_calls=(RefusedCall(reason="budget", query="<b>more</b> | x"),))),
    ]


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if dict(attrs).get("id"):
            self.ids.add(dict(attrs)["id"])

    def handle_data(self, data):
        self.text.append(data)


def parse_html(doc: str) -> Collector:
    parser = Collector()
    parser.feed(doc)
    parser.close()
    return parser


# --------------------------------------------------------------------------- round trip


def test_terminal_replay_prints_the_answer(tmp_path: Path, capsys) -> None:
    trace = write_trace(tmp_path / "t.jsonl", sample_events())
    assert main(["--replay", str(trace), "--speed", "0"]) == 0
    out = capsys.readouterr().out
    assert "It is 330 m [1]" in out and "search 1/5" in out


# --------------------------------------------------------------------------- timing


def test_replay_sleeps_recorded_gaps_over_speed(tmp_path: Path) -> None:
    events = sample_events()
    times = [0.5, 0.5, 1.0, 2.5, 2.5, 4.0, 4.25, 5.0, 5.0]
    trace = write_trace(tmp_path / "t.jsonl", events, times=times)
    slept: list[float] = []
    out = list(replay(trace, speed=2, sleep=slept.append))
    assert out == events
    assert slept == pytest.approx([0.25, 0.25, 0.75, 0.75, 0.125, 0.375])
    assert sum(slept) == pytest.approx(times[-1] / 2)

    slept.clear()
    assert list(replay(trace, speed=0, sleep=slept.append)) == events
    assert slept == []

    slept.clear()
    list(replay(trace, sleep=slept.append))
    assert sum(slept) == pytest.approx(times[-1])


def test_replay_pauses_are_capped_so_a_crafted_trace_cannot_hold_a_slot(tmp_path: Path) -> None:
    events = sample_events()
    times = [0.5, 1e9, 1e9, 1e9 + 3, 2e9, 2e9, 2e9, 2e9, 3e9]  # gaps of decades
    trace = write_trace(tmp_path / "t.jsonl", events, times=times)
    slept: list[float] = []
    assert list(replay(trace, speed=1, sleep=slept.append)) == events
    assert max(slept) == MAX_REPLAY_PAUSE_S == 5.0
    assert slept == pytest.approx([0.5, 5.0, 3.0, 5.0, 5.0])  # gaps under the cap stay as recorded
    for bad in ("Infinity", "NaN", "-1", '"3"'):  # times are checked when the file is read
        broken = tmp_path / "bad.jsonl"
        broken.write_text(trace.read_text().replace('"t": 3000000000.0', f'"t": {bad}'))
        with pytest.raises(TraceError, match="'t' must be a number"):
            list(replay(broken, sleep=slept.append))


def test_replay_refuses_negative_speed(tmp_path: Path, capsys) -> None:
    trace = write_trace(tmp_path / "t.jsonl", sample_events())
    with pytest.raises(ValueError, match="speed"):
        replay(trace, speed=-1)
    assert main(["--replay", str(trace), "--speed", "-1"]) == 2
    assert "--speed" in capsys.readouterr().err


def test_writer_times_are_seconds_since_creation_in_ms(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    clock = FakeClock(100.0, 100.00049, 101.23456)
    with TraceWriter(path, question="q", settings=Settings(backend="scripted"), model="m", clock=clock) as w:
        w.write(Thinking(text="a"))
        w.write(Done(answer="x"))
    lines = [json.loads(line) for line in _lines(path)]
    assert lines[0]["type"] == "meta" and "t" not in lines[0]
    assert [line["t"] for line in lines[1:]] == [0.0, 1.235]


# --------------------------------------------------------------------------- HTML


def test_html_export_is_self_contained_and_escapes_hostile_text(tmp_path: Path) -> None:
    events = sample_events(title=HOSTILE_TITLE, thinking=HOSTILE_THINKING)
    meta = {"question": "How <tall> is it?", "model": "script:x", "backend": "scripted", "scripted": True,
            "started_at": "2025-01-01T00:00:00Z"}
    doc = export_events(meta, events, "html")
    parsed = parse_html(doc)
    tags = [t for t, _ in parsed.tags]

    # No scripts, no external resources of any kind.
    lowered = doc.lower()
    assert "<script" not in lowered and "<link" not in lowered and "@import" not in lowered
    assert "url(" not in lowered and "<img" not in lowered and "<iframe" not in lowered
    assert "script" not in tags and "img" not in tags and "link" not in tags
    assert not any("src" in attrs for _, attrs in parsed.tags)
    assert not any(k.startswith("on") for _, attrs in parsed.tags for k in attrs)
    source_urls = {"https://en.wikipedia.org/wiki/Eiffel_Tower"}
    for _tag, attrs in parsed.tags:
        href = attrs.get("href")
        if href is not None:
            assert href.startswith("#") or href in source_urls, href
            if href.startswith("#"):
                assert href[1:] in parsed.ids, f"dangling anchor {href}"

    # Hostile text is shown, escaped.
    text = "".join(parsed.text)
    assert HOSTILE_TITLE in text and "&lt;img src=x onerror=alert(1)&gt;" in doc
    assert "</details><script>" in text and "&lt;/details&gt;&lt;script&gt;" in doc
    assert "javascript:alert(3)" in text  # as text, never as a link
    assert "HTTP 503 <oops>" in text and "eiffel <b>height</b>" in text
    assert "How <tall> is it?" in text

    # Structure: merged thinking in <details>, searches, linked answer, sources, stats, badge.
    assert tags.count("details") == 2  # two thinking deltas merged; the later one is its own block
    assert "Thinking…" in text and HOSTILE_THINKING.strip() in text
    assert "Search 1/5" in text and "Search failed: HTTP 503 <oops>" in text and "fixture · 0.25 s" in text
    assert '<a class="cite" href="#source-1">1</a>' in doc
    assert 'class="cite-missing"' in doc and "9?" in text  # unknown [9] is marked
    assert {"source-1", "source-2"} <= parsed.ids
    assert "Scripted run (not a real model)" in text
    # Stats in words, not the engine's keys.
    assert "Total time2.50 s" in text and "Search times0.25 s, 1.50 s" in text and "total_s" not in text
    assert "Tool calls not runover the search budget: <b>more</b> | x" in text and "<b>more" not in doc
    assert '<meta name="viewport"' in doc and "@media print" in doc and "max-width" in doc


def test_html_export_from_cli(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.jsonl", sample_events())
    out = tmp_path / "report.html"
    assert main(["--export", str(trace), "--format", "html", "-o", str(out)]) == 0
    doc = out.read_text(encoding="utf-8")
    assert doc.startswith("<!DOCTYPE html>") and "How tall is it?" in doc
    parse_html(doc)


def test_html_for_a_real_model_has_no_scripted_badge() -> None:
    meta = {"question": "q", "model": "Qwen/QwQ-32B", "backend": "transformers", "scripted": False}
    assert "Scripted run" not in export_events(meta, sample_events(), "html")


def test_stopped_run_is_marked_in_reports() -> None:
    meta = {"question": "q", "scripted": True}
    assert "Stopped before the end" in export_events(meta, sample_events(stopped=True), "html")
    assert "Stopped before the end" in export_events(meta, sample_events(stopped=True), "md")


# --------------------------------------------------------------------------- Markdown


def test_markdown_export(tmp_path: Path) -> None:
    events = sample_events(title="Tower [official] | *stars*", thinking=HOSTILE_THINKING)
    trace = write_trace(tmp_path / "t.jsonl", events)
    md = export(trace, fmt="md")
    assert md.startswith("# How tall is it?\n")
    assert "> **Scripted run (not a real model)**" in md
    assert md.count("<details><summary>Thinking…</summary>") == 2
    assert "&lt;/details&gt;&lt;script&gt;" in md and "</details><script>" not in md
    assert "**Search 1/5:** eiffel \\<b\\>height\\</b\\>" in md
    assert "Search failed: HTTP 503 \\<oops\\>" in md
    assert "[Tower \\[official\\] \\| \\*stars\\*](https://en.wikipedia.org/wiki/Eiffel_Tower)" in md
    assert "It is 330 m [\\[1\\]](https://en.wikipedia.org/wiki/Eiffel_Tower), not \\[9?\\]." in md
    assert "](javascript:" not in md and "javascript:alert(3)" in md
    assert "## Sources" in md and "## Stats" in md and "| Total time | 2.50 s |" in md and "total_s" not in md
    assert "| Tool calls not run | over the search budget: \\<b\\>more\\</b\\> \\| x |" in md

    out = tmp_path / "report.md"
    assert main(["--export", str(trace), "--format", "md", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == md


def test_markdown_closes_an_unclosed_code_fence() -> None:
    md = export_events({"question": "q"}, [Thinking(text="```python\nx = 1"), Done(answer="ok")], "md")
    block = md.split("<details><summary>Thinking…</summary>")[1].split("</details>")[0]
    assert block.count("```") == 2


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        export_events({"question": "q"}, [], "pdf")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- broken traces


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _rewrite(path: Path, lines: list[str], *, newline: bool = True) -> Path:
    path.write_text("\n".join(lines) + ("\n" if newline else ""), encoding="utf-8")
    return path


def broken_traces(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = write_trace(tmp_path / "good.jsonl", sample_events())
    lines = _lines(good)
    n = len(lines)
    meta = json.loads(lines[0])
    cases: dict[str, tuple[Path, str]] = {}

    def case(name: str, content: list[str], expect: str, *, newline: bool = True) -> None:
        path = _rewrite(tmp_path / f"{name}.jsonl", content, newline=newline)
        cases[name] = (path, expect.replace("FILE", str(path)))

    case("not_json", lines[:3] + ["{not json"] + lines[3:], "FILE:4: line is not valid JSON")
    case("cut_last_line", lines[:-1] + [lines[-1][:40]], f"FILE:{n}: line is not valid JSON (cut off",
         newline=False)
    case("truncated_run", lines[:5], "FILE:5: trace is truncated")
    case("empty", [""], "trace FILE is empty")
    case("no_meta", lines[1:], "FILE:1: the first line must be the meta line")
    case("version", [json.dumps({**meta, "version": 99})] + lines[1:],
         "unsupported trace version 99 in FILE:1 (this app reads versions 1, 2, 3)")
    case("unknown_type", lines[:2] + ['{"type": "telepathy", "t": 0.6}'] + lines[2:],
         "FILE:3: unknown event type 'telepathy'")
    case("bad_fields", lines[:2] + ['{"type": "thinking", "txt": "x", "t": 0.6}'] + lines[2:],
         "FILE:3: bad fields for a 'thinking' event")
    case("bad_type", lines[:2] + ['{"type": "thinking", "text": 5, "t": 0.6}'] + lines[2:],
         "FILE:3: bad field 'text'")
    case("bad_source", lines[:2] + [json.dumps({"type": "search_done", "query": "q", "provider": "p",
                                                "latency_s": 1, "results": [{"id": "1", "title": "t", "url": "u"}],
                                                "t": 0.6})] + lines[2:],
         "FILE:3: bad field 'id'")
    case("t_backwards", lines[:3] + ['{"type": "thinking", "text": "x", "t": 0.1}'] + lines[3:],
         "FILE:4: 't' goes backwards (0.1 after 0.5)")
    case("no_t", lines[:2] + ['{"type": "thinking", "text": "x"}'] + lines[2:], "FILE:3: 't' must be")
    case("after_done", lines + ['{"type": "thinking", "text": "x", "t": 9}'],
         f"FILE:{n + 1}: event 'thinking' after the run's 'done' event")
    cases["missing"] = (tmp_path / "nope.jsonl", f"trace {tmp_path / 'nope.jsonl'} does not exist")
    return cases


CASES = ["not_json", "cut_last_line", "truncated_run", "empty", "no_meta", "version", "unknown_type",
         "bad_fields", "bad_type", "bad_source", "t_backwards", "no_t", "after_done", "missing"]


@pytest.mark.parametrize("name", CASES)
def test_broken_trace_is_refused_with_file_and_line(tmp_path: Path, capsys, name: str) -> None:
    path, expect = broken_traces(tmp_path)[name]
    with pytest.raises(TraceError) as info:
        read_trace(path)
    assert expect in str(info.value)
    assert main(["--replay", str(path), "--json", "--speed", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing replayed before the file was refused
    assert expect in captured.err
    assert main(["--export", str(path), "--format", "html", "-o", str(tmp_path / "out.html")]) == 2
    assert not (tmp_path / "out.html").exists()


def test_replay_raises_before_yielding(tmp_path: Path) -> None:
    path, _ = broken_traces(tmp_path)["after_done"]
    with pytest.raises(TraceError):
        replay(path, speed=0)  # eager: no iteration needed to see the error


# --------------------------------------------------------------------------- runs per file


def test_appending_runs_and_reading_the_last(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    write_trace(path, [Answer(text="first"), Done(answer="first")])
    write_trace(path, [Thinking(text="crash")])
    with path.open("a", encoding="utf-8") as f:
        f.write('{"type": "thinking", "text": "cra')  # a crashed run leaves half a line
    write_trace(path, [Answer(text="third"), Done(answer="third")])
    assert read_trace(path)[1][-1][1] == Done(answer="third")
    assert read_trace(path, run=0)[1][-1][1] == Done(answer="first")
    assert read_trace(path, run=-3) == read_trace(path, run=0)
    with pytest.raises(TraceError, match=":6: line is not valid JSON"):
        read_trace(path, run=1)
    with pytest.raises(TraceError, match="not valid JSON"):  # every run must be whole
        read_runs(path)
    with pytest.raises(TraceError, match="holds 3 run"):
        read_trace(path, run=5)
    # Each run starts on its own line with its own meta.
    assert sum(json.loads(line).get("type") == "meta" for line in _lines(path) if line.endswith("}")) == 3


def test_read_runs_returns_every_run(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    write_trace(path, [Answer(text="a"), Done(answer="a")])
    write_trace(path, [Answer(text="b"), Done(answer="b")])
    assert [timed[-1][1].answer for _, timed in read_runs(path)] == ["a", "b"]  # type: ignore[union-attr]


def test_an_error_ended_run_is_complete(tmp_path: Path, capsys) -> None:
    path = write_trace(tmp_path / "e.jsonl", [Thinking(text="hm"), Error(message="model server down")])
    assert read_trace(path)[1][-1][1] == Error(message="model server down")
    assert main(["--replay", str(path), "--json", "--speed", "0"]) == 1  # like the live run: no done


# --------------------------------------------------------------------------- stopped runs


# --------------------------------------------------------------------------- secrets


def test_secrets_never_reach_the_trace(tmp_path: Path) -> None:
    tavily, openai = "tvly-CANARY-0123456789abcdef", "sk-CANARY-fedcba9876543210"
    settings = Settings(backend="openai", base_url="https://user:hunter2-secret@llm.example/v1",
                        tavily_api_key=tavily, openai_api_key=openai)
    path = tmp_path / "t.jsonl"
    with TraceWriter(path, question="q", settings=settings, model="m") as writer:
        writer.write(Error(message=f"401 from Tavily: invalid key {tavily}"))
    text = path.read_text(encoding="utf-8")
    assert tavily not in text and openai not in text and "CANARY" not in text
    assert "hunter2" not in text
    meta, timed = read_trace(path)
    assert meta["settings"]["base_url"] == "https://llm.example/v1"
    assert "tavily_api_key" not in meta["settings"] and "openai_api_key" not in meta["settings"]
    assert meta["scripted"] is False
    assert timed[0][1] == Error(message="401 from Tavily: invalid key [redacted]")


# --------------------------------------------------------------------------- bundled demos


def test_bundled_demos_load_and_are_marked_scripted(tmp_path: Path) -> None:
    traces = sorted(DEMO.glob("*.jsonl"))
    assert len(traces) >= 2
    finals = []
    for path in traces:
        meta, timed = read_trace(path)
        assert meta["scripted"] is True and meta["backend"] == "scripted", path
        assert "qwq" not in json.dumps(meta).lower(), f"{path} must not look like a real QwQ-32B run"
        assert "CANARY" not in path.read_text(encoding="utf-8")
        finals.append(timed[-1][1])
        for fmt in ("html", "md"):
            assert "Scripted run (not a real model)" in export(path, fmt=fmt)
    events = [e for path in traces for _, e in read_trace(path)[1]]
    assert any(isinstance(e, SearchDone) and e.error for e in events), "a demo shows a failed search"
    assert any(isinstance(e, Done) and e.stopped for e in finals), "a demo shows a stopped run"
    assert any(isinstance(e, Done) and not e.stopped and e.cited for e in finals)


def test_version_1_traces_still_read_and_their_end_is_inferred(tmp_path: Path) -> None:
    """The bundled demos were recorded as version 1 (no ``end`` in ``done``)."""
    meta, timed = read_trace(DEMO / "eiffel.jsonl")
    assert meta["version"] == 1
    done = timed[-1][1]
    assert isinstance(done, Done) and done.answer.strip() and done.end == "answered"
    lines = [json.dumps({**json.loads((DEMO / "eiffel.jsonl").read_text().splitlines()[0])}),
             json.dumps({"type": "done", "answer": "", "t": 1.0,
                         "stats": {"truncated": True, "finish": "length", "refused_calls": []}})]
    old = tmp_path / "old.jsonl"
    old.write_text("\n".join(lines) + "\n")
    [(_, done)] = read_trace(old)[1]
    assert done.end == "token_limit" and done.stats.truncated


def test_a_done_with_an_unknown_end_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    with TraceWriter(path, question="q", settings=Settings(backend="scripted"), model="m") as writer:
        writer.write(Done(answer="a"))
    lines = path.read_text().splitlines()
    lines[-1] = lines[-1].replace('"end": "answered"', '"end": "exploded"')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceError, match="end"):
        read_trace(path)
