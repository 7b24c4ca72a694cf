"""Every shape an event can take, serialised byte for byte as ``--json`` and traces write it, and
read back to the same events. The CLI golden (tests/integration/test_json_golden.py) covers what a
scripted run emits; this covers what it cannot reach: document passages, a stopped ``done``, a
``done`` with no stats, controls and bidi characters, every refusal reason.
Set ``GOLDEN_UPDATE=1`` to rewrite the recorded file after a deliberate contract change.
"""

import itertools
import os
from pathlib import Path

from agent.claims import Claim, Evidence
from agent.config import Settings
from agent.events import (Answer, Done, Error, RefusedCall, RunStats, SearchDone, SearchStart, SourceRef, Thinking,
                          json_line, to_dict)
from agent.records.trace import TRACE_VERSION, TraceWriter, read_trace

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "json_golden" / "events.jsonl"

WEB = SourceRef(id=1, title="Ünïcode \u202e title", url="https://example.org/a?b=1")
WEB_WITH_SNIPPET = SourceRef(id=1, title="Ünïcode \u202e title", url="https://example.org/a?b=1",
                             snippet="The tower is 330 metres tall.")
DOC = SourceRef(id=2, title="Report", url="", kind="document", file="report.pdf", page=3,
                text="The passage\u2028with a line separator.")
DOC_NO_PAGE = SourceRef(id=3, title="notes", url="", kind="document", file="a/notes.txt", text="")

EVENTS = [
    Thinking(text="I should search \x85 now.\n"),
    SearchStart(query="tower", round=1, max_searches=3),
    SearchDone(query="tower", provider="tavily", latency_s=0.5, results=(WEB,)),
    SearchStart(query="my files", round=2, max_searches=3, tool="search_documents"),
    SearchDone(query="my files", provider="documents", latency_s=0.0, results=(DOC, DOC_NO_PAGE),
               tool="search_documents"),
    SearchDone(query="down", provider="duckduckgo", latency_s=1.25, error="duckduckgo: 429"),
    Answer(text="It is [2] and [1, 3]."),
    Error(message="a recoverable problem"),
    Done(answer="It is [2] and [1, 3].", sources=(WEB_WITH_SNIPPET, DOC, DOC_NO_PAGE), cited=(2, 1, 3), searches=2,
         stats=RunStats(total_s=3.5, ttft_s=None, search_latencies_s=(0.5, 0.0, 1.25), rounds=3,
                        refused_calls=(RefusedCall(reason="budget", query="q"),
                                       RefusedCall(reason="context", query="big"),
                                       RefusedCall(reason="malformed", detail="not JSON"),
                                       RefusedCall(reason="rounds", query="late")),
                        finish="tool_call", budget_exhausted=True, context_forced=True, truncated=True),
         end="rounds_exhausted",
         claims=(Claim(sentence="It is [2] and [1, 3].", ids=(2, 1, 3), verdict="not_supported", layer="lexical",
                       evidence=Evidence(id=2, text="The passage", start=0, end=11),
                       note="Not found in [1, 2, 3]: the name \u201cX\u201d"),
                 Claim(sentence="Judged.", ids=(), verdict="uncited", layer="judge", evidence=None, note=""))),
    Done(answer="partial", stopped=True),
    Done(answer="", end="no_answer"),
]


def _lines() -> list[str]:
    return [json_line(to_dict(event)) for event in EVENTS]


def test_every_event_shape_serialises_as_recorded():
    text = "\n".join(_lines()) + "\n"
    if os.environ.get("GOLDEN_UPDATE") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8").split("\n")
    for number, (want, have) in enumerate(zip(expected, text.split("\n")), start=1):
        assert have == want, f"events.jsonl line {number} differs"
    assert text.count("\n") == len(expected) - 1


def test_a_trace_writes_the_same_lines_plus_t_and_reads_back_the_same_events(tmp_path):
    ticks = itertools.count()
    path = tmp_path / "t.jsonl"
    with TraceWriter(path, question="q", settings=Settings(backend="scripted"), model="m",
                     clock=lambda: next(ticks) * 0.25) as writer:
        for event in EVENTS[:-2]:  # a run ends at its first done
            writer.write(event)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    for n, (line, plain) in enumerate(zip(lines[1:-1], _lines()), start=1):
        assert line == plain[:-1] + f', "t": {n * 0.25}}}'
    meta, timed = read_trace(path)
    assert meta["question"] == "q" and meta["version"] == TRACE_VERSION
    assert [event for _, event in timed] == EVENTS[:-2]
    assert [t for t, _ in timed] == [n * 0.25 for n in range(1, len(EVENTS) - 1)]
