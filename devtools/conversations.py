"""Synthetic recorded runs for the history and player tests and benchmarks: token-sized deltas,
searches with results, a cited answer, and (``hostile=True``) markup and script in every text
that comes from outside: the question, thinking, queries, titles, URLs, passages and answer."""

from __future__ import annotations

from typing import Any

from agent.text.citations import cited_ids
from agent.events import Answer, Done, RunStats, SearchDone, SearchStart, SourceRef, Thinking
from agent.records.trace import Meta, TimedEvent

HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


def synthetic_run(question: str, *, searches: int = 1, results: int = 5, thinking_tokens: int = 60,
                  answer_tokens: int = 40, hostile: bool = False,
                  step_s: float = 0.02) -> tuple[Meta, list[TimedEvent]]:
    """One run as a trace reads back: ``(meta, [(t, event), ...])``, ending in ``done``."""
    bad = HOSTILE if hostile else ""
    timed: list[TimedEvent] = []
    t = 0.0

    def at() -> float:
        nonlocal t
        t = round(t + step_s, 3)
        return t

    sources: list[SourceRef] = []
    for s in range(searches):
        timed += [(at(), Thinking(text=f"thought {s}.{k} {bad if k == 0 else ''}")) for k in range(thinking_tokens)]
        query = f"query {s} {bad}"
        timed.append((at(), SearchStart(query=query, round=s + 1, max_searches=max(5, searches))))
        found = []
        for r in range(results):
            n = len(sources) + 1
            url = "javascript:alert(1)" if hostile and r == 0 else f"https://example.org/{s}/{r}?q=<b>"
            found.append(SourceRef(id=n, title=f"Result {n} {bad}", url=url))
            sources.append(found[-1])
        timed.append((at(), SearchDone(query=query, results=tuple(found), latency_s=0.25, provider="fixture")))
    words = [f"word{k}" for k in range(answer_tokens)]
    cites = [f" [{n.id}]" for n in sources[::-1]] or [""]
    for k, word in enumerate(words):
        timed.append((at(), Answer(text=f"{word}{cites[k % len(cites)] if k % 7 == 6 else ''} ")))
    answer = "".join(event.text for _, event in timed if isinstance(event, Answer)) + (bad and f"\n\n{bad}")
    if bad:
        timed.append((at(), Answer(text=f"\n\n{bad}")))
    stats = RunStats(total_s=t, rounds=searches + 1)
    done = Done(answer=answer, sources=tuple(sources), cited=tuple(cited_ids(answer, {s.id for s in sources})),
                searches=searches, stats=stats)
    timed.append((at(), done))
    return meta_for(f"{question} {bad}".strip()), timed


def meta_for(question: str, **extra: Any) -> Meta:
    return {"type": "meta", "version": 2, "question": question, "model": "synthetic", "backend": "scripted",
            "settings": {}, "started_at": "2026-01-01T00:00:00Z", "scripted": True, "recorder": "deepsearch",
            **extra}
