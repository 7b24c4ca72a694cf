"""A trace that cannot be replayed says what is wrong in words: no Python ``None``, class
reprs or constructor errors, whatever the line lacks or holds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.records.trace import TraceError, read_trace

META = {"type": "meta", "version": 2, "question": "q", "model": "m", "backend": "scripted", "settings": {},
        "started_at": "2026-01-01T00:00:00Z", "scripted": True, "recorder": "deepsearch"}
DONE = {"type": "done", "answer": "a", "sources": [], "cited": [], "searches": 0, "stopped": False,
        "end": "answered", "stats": {}, "t": 1.0}
PYTHON_WORDS = re.compile(r"\bNone\b|<class|__init__|positional argument|keyword argument|argument after")


def _without(d: dict, key: str) -> dict:
    return {k: v for k, v in d.items() if k != key}


CASES = {  # name: (lines, what the message must say)
    "no version": ([_without(META, "version"), DONE], "has no version number"),
    "null version": ([{**META, "version": None}, DONE], "has no version number"),
    "text version": ([{**META, "version": "two"}, DONE], 'version must be a whole number (this app reads versions 1, 2, 3), got "two"'),
    "no question": ([_without(META, "question"), DONE], "the meta line has no 'question'"),
    "null model": ([{**META, "model": None}, DONE], "meta field 'model' must be text, got null"),
    "no type first": ([{"version": 2}, DONE], "a JSON object with no 'type'"),
    "no type later": ([META, {"text": "x", "t": 0.1}, DONE], "the line has no event 'type'"),
    "no t": ([META, {"type": "thinking", "text": "x"}, DONE], "this event has none"),
    "null t": ([META, {"type": "thinking", "text": "x", "t": None}, DONE], "got null"),
    "missing field": ([META, {"type": "thinking", "t": 0.1}, DONE], "the field 'text' is missing"),
    "null text": ([META, {"type": "thinking", "text": None, "t": 0.1}, DONE], "'text' for a 'thinking' event: it must be text, got null"),
    "number text": ([META, {"type": "answer", "text": 5, "t": 0.1}, DONE], "it must be text, got 5"),
    "results not a list": ([META, {"type": "search_done", "query": "q", "provider": "p", "latency_s": 1,
                                   "results": "abc", "t": 0.1}, DONE], "bad field 'results' for a 'search_done' event: it must be a list, got \"abc\""),
    "source without url": ([META, {"type": "search_done", "query": "q", "provider": "p", "latency_s": 1,
                                   "results": [{"id": 1, "title": "t"}], "t": 0.1}, DONE], "bad fields for source 1 in 'results' of a 'search_done' event: the field 'url' is missing"),
    "source id text": ([META, {"type": "search_done", "query": "q", "provider": "p", "latency_s": 1,
                               "results": [{"id": "1", "title": "t", "url": "u"}], "t": 0.1}, DONE],
                       "bad field 'id' for source 1 in 'results' of a 'search_done' event: it must be a whole number, got \"1\""),
    "null stats": ([META, {**DONE, "stats": None}], "bad field 'stats' for a 'done' event: it must be a JSON object, got null"),
    "bad end": ([META, {**DONE, "end": None}], "bad field 'end' for a 'done' event: it must be one of 'answered'"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_bad_trace_says_what_is_wrong_in_words(tmp_path: Path, name: str) -> None:
    lines, expected = CASES[name]
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(TraceError) as info:
        read_trace(path)
    message = str(info.value)
    assert expected in message
    assert not PYTHON_WORDS.search(message), message
