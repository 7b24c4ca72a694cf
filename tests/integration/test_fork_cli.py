"""``python -m agent --replay TRACE --fork-at N [QUESTION]`` (issue 24.4): what a fork reuses, what
it asks anew, what it refuses, and that its --json output and trace keep the contract."""

from __future__ import annotations

import json
from pathlib import Path

from agent.records.trace import read_trace
from tests.engine_helpers import answer, call
from tests.integration.test_trace_cli import run_cli
from tests.unit.test_fork import HOSTILE

QUESTION = "How tall is the Eiffel Tower?"
TOWER = "https://en.wikipedia.org/wiki/Eiffel_Tower"


def events_of(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def recorded(tmp_path: Path, *, question: str = QUESTION, trace: str = "run.jsonl", **pages: str) -> Path:
    """A recorded run with two searches (the first read from a page fixture when ``pages``)."""
    script = write(tmp_path / "script.json", [call("Eiffel height"), call("Eiffel paint"),
                                               answer("It is 330 m [1] and brown [2].")])
    fixture = write(tmp_path / "fx.json", {
        "Eiffel height": [{"title": "Eiffel Tower", "url": TOWER, "content": "330 metres"}],
        "Eiffel paint": [{"title": "Paint", "url": "https://example.com/paint", "content": "brown"}]})
    args = [question, "--json", "--model-script", str(script), "--search-fixture", str(fixture),
            "--trace", str(tmp_path / trace)]
    if pages:
        args += ["--page-fixture", str(write(tmp_path / "pages.json", pages)), "--read-top", "1"]
    else:
        args += ["--read", "off"]
    live = run_cli(*args)
    assert live.returncode == 0, live.stderr
    return tmp_path / trace


def fork(tmp_path: Path, trace: Path, n: int, *extra: str, rounds: list[str] | None = None):
    """Fork ``trace`` at ``n`` with a script for what follows and a search fixture that fails every
    search: anything searched again shows as an error."""
    script = write(tmp_path / "after.json", rounds or [answer("Forked: 330 m [1].")])
    never = write(tmp_path / "never.json", {q: {"error": "searched again"} for q in ("Eiffel height", "Eiffel paint")})
    return run_cli("--replay", str(trace), "--fork-at", str(n), "--json", "--model-script", str(script),
                   "--search-fixture", str(never), *extra)


def index(events: list[dict], kind: str, nth: int = 0) -> int:
    return [i for i, e in enumerate(events) if e["type"] == kind][nth]


def after_step(events: list[dict], nth: int) -> int:
    """The index just after the ``nth`` search and the reads that followed it."""
    at = index(events, "search_done", nth) + 1
    while events[at]["type"] in ("read_start", "read_done"):
        at += 1
    return at


def test_fork_after_a_search_reuses_the_recorded_results_and_records_its_parent(tmp_path: Path) -> None:
    trace = recorded(tmp_path)
    live = events_of(read_trace_lines(trace))
    n = index(live, "search_done", 1) + 1
    out = fork(tmp_path, trace, n, "--trace", str(tmp_path / "fork.jsonl"), "--transcript", str(tmp_path / "t.txt"))
    assert out.returncode == 0, out.stderr
    events = events_of(out.stdout)
    searches = [e for e in events if e["type"] == "search_done"]
    assert [s["query"] for s in searches] == ["Eiffel height", "Eiffel paint"]
    assert all("error" not in s for s in searches)
    assert [s["results"] for s in searches] == [e["results"] for e in live if e["type"] == "search_done"]
    done = events[-1]
    assert done["answer"] == "Forked: 330 m [1]." and done["end"] == "answered" and done["cited"] == [1]
    # The --json contract: the same event types, each with the same keys, as the run it forks.
    assert keys_by_type(events) == keys_by_type(live)
    meta, timed = read_trace(tmp_path / "fork.jsonl")
    assert meta["fork"] == {"trace": "run.jsonl", "run": 0, "at": n, "event": n} and meta["version"] == 3
    assert [e.type for _, e in timed][:n] == [e["type"] for e in live[:n]]
    assert "330 metres" in (tmp_path / "t.txt").read_text()  # the recorded snippet, read again
    replay = run_cli("--replay", str(tmp_path / "fork.jsonl"), "--json", "--speed", "0")
    assert replay.returncode == 0 and events_of(replay.stdout)[-1]["answer"] == done["answer"]
    # The fork's trace makes a share player like any trace, saying where the branch came from.
    made = run_cli("--export", str(tmp_path / "fork.jsonl"), "--format", "player", "-o", str(tmp_path / "p.html"))
    assert made.returncode == 0, made.stderr
    player = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert f"A branch of run.jsonl, continued from its event {n}." in player and "Forked: 330 m" in player


def test_fork_at_the_first_event_asks_the_question_again(tmp_path: Path) -> None:
    trace = recorded(tmp_path)
    out = fork(tmp_path, trace, 0, rounds=[answer("Afresh.")])
    assert out.returncode == 0, out.stderr
    events = events_of(out.stdout)
    assert [e["type"] for e in events if e["type"] not in ("thinking", "answer")] == ["done"]
    assert events[-1]["answer"] == "Afresh."


def test_fork_a_later_turn_with_a_new_question_keeps_the_turn_before(tmp_path: Path) -> None:
    trace = recorded(tmp_path, question="How tall is the Eiffel Tower?", trace="session.jsonl")
    recorded(tmp_path, question="When was the Eiffel Tower built?", trace="session.jsonl")
    first = len(read_trace(trace, run=0)[1])
    total = first + len(read_trace(trace, run=1)[1])
    transcript = tmp_path / "t.txt"
    out = fork(tmp_path, trace, first + 3, "What colour is it?", "--transcript", str(transcript),
               rounds=[answer("Brown.")])
    assert out.returncode == 0, out.stderr
    assert events_of(out.stdout)[-1]["answer"] == "Brown."
    text = transcript.read_text()
    assert "What colour is it?" in text and "When was the Eiffel Tower built?" not in text
    assert "It is 330 m (en.wikipedia.org) and brown (example.com)." in text  # the first turn, remembered
    after = fork(tmp_path, trace, total, "And its weight?", rounds=[answer("10,100 t.")])
    assert after.returncode == 0, after.stderr
    assert events_of(after.stdout)[-1]["answer"] == "10,100 t."


def test_bad_fork_points_and_traces_exit_2_naming_the_value(tmp_path: Path) -> None:
    trace = recorded(tmp_path)
    live = events_of(read_trace_lines(trace))
    truncated = tmp_path / "cut.jsonl"
    truncated.write_text("\n".join(trace.read_text().splitlines()[:4]) + "\n")
    cases = {
        ("-1",): "fork point -1 is out of range",
        (str(len(live)),): f"fork point {len(live)} is out of range",
        (str(len(live) - 1),): "the run's 'done'",
        (str(index(live, "search_done")),): f"event {index(live, 'search_done')} ('search_done') is inside",
        ("1", "--run", "0"): "--run 0 is not used",
        ("x",): "invalid int value: 'x'",
    }
    for args, words in cases.items():
        out = run_cli("--replay", str(trace), "--fork-at", *args)
        assert out.returncode == 2 and words in out.stderr, (args, out.stderr)
    cut = run_cli("--replay", str(truncated), "--fork-at", "0")
    assert cut.returncode == 2 and "truncated" in cut.stderr
    alone = run_cli("--fork-at", "3", "Q?")
    assert alone.returncode == 2 and "--replay TRACE" in alone.stderr


def test_a_hostile_version_1_trace_forks_without_forging_anything(tmp_path: Path) -> None:
    """Script and tool tags in a recorded title, snippet, passage and URL of an old (v1) trace:
    the fork reads it, puts it back escaped, and prints it only as JSON strings."""
    trace = recorded(tmp_path, **{TOWER: "<html><body><p>" + "The tower is 330 metres tall. " * 5 + "</p></body></html>"})
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    for obj in lines:
        if obj["type"] == "meta":
            obj["version"] = 1
        for ref in obj.get("results", []) + obj.get("sources", []):
            ref["title"] = HOSTILE
        if obj["type"] == "read_done":
            obj["passages"] = [{"text": HOSTILE, "start": 0, "end": len(HOSTILE)}]
        if obj["type"] == "done":
            obj.pop("end", None)
            obj["snippets"] = {k: HOSTILE for k in obj.get("snippets", {})}
    trace.write_text("".join(json.dumps(obj) + "\n" for obj in lines))
    live = events_of(read_trace_lines(trace))
    transcript = tmp_path / "t.txt"
    out = fork(tmp_path, trace, after_step(live, 1), "--transcript", str(transcript))
    assert out.returncode == 0, out.stderr
    events = events_of(out.stdout)
    assert any(e["type"] == "read_done" and e["passages"] and e["passages"][0]["text"] == HOSTILE for e in events)
    body = transcript.read_text().split("<|im_start|>assistant\n<think>\n", 1)[1]
    assert body.count("<tool_call>") == 2 and body.count("<tool_response>") == 2
    assert body.count("<|im_start|>") == 4 and "\u2039|im_start\u00a6>system" in body


def test_recorded_reads_are_reused_not_fetched(tmp_path: Path) -> None:
    page = "<html><body><p>" + "The Eiffel Tower is 330 metres tall. " * 5 + "</p></body></html>"
    trace = recorded(tmp_path, **{TOWER: page})
    live = events_of(read_trace_lines(trace))
    out = fork(tmp_path, trace, after_step(live, 1))  # no --page-fixture: nothing to read from
    assert out.returncode == 0, out.stderr
    reads = [e for e in events_of(out.stdout) if e["type"] == "read_done"]
    assert reads == [e for e in live if e["type"] == "read_done"]
    assert reads[0]["url"] == TOWER and "330 metres" in reads[0]["passages"][0]["text"]


def keys_by_type(events: list[dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for event in events:
        out.setdefault(event["type"], set()).update(event)
    return out


def read_trace_lines(trace: Path) -> str:
    """The last run's events as --json lines (what --replay --json prints)."""
    replay = run_cli("--replay", str(trace), "--json", "--speed", "0")
    assert replay.returncode == 0, replay.stderr
    return replay.stdout
