"""A recorded run regrouped the way a person reads it, and its stats in words.

The model both report writers (``report_html``, ``report_md``) render; it knows
nothing of either format, so the writers depend on it and never on each other
or on ``report``, which only picks a writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Sequence

from ..events import (REFUSAL_REASONS, Answer, Done, Error, Event, PassageRef, ReadDone, RunEnd, SearchDone,
                      SearchStart, SourceRef, Thinking)
from ..text.citations import cited_ids, display_numbering

SCRIPTED_BADGE = "Scripted run (not a real model)"

Meta = dict[str, Any]
RecordedRun = tuple[Meta, Sequence[Event]]


# --------------------------------------------------------------------------- the run, as blocks


@dataclass
class Search:
    query: str
    round: int | None = None
    max_searches: int | None = None
    done: SearchDone | None = None

    @property
    def label(self) -> str:
        return f"Search {self.round}/{self.max_searches}" if self.round else "Search"


@dataclass
class Run:
    """The events regrouped the way a person reads them."""

    blocks: list[str | Search | ReadDone | Error] = field(default_factory=list)  # str = a thinking block
    answer: str = ""
    done: Done | None = None
    sources: dict[int, SourceRef] = field(default_factory=dict)

    @property
    def cited(self) -> list[int]:
        return list(self.done.cited if self.done is not None else cited_ids(self.answer, self.sources))

    @cached_property
    def numbers(self) -> dict[int, int]:
        """Source id -> the number people read: cited from 1 in order of first citation, then the
        rest (``display_numbering``: a ``done``'s ``display_numbers``, and numbers after those for
        any source a search found that the ``done`` does not list). Read once regrouped."""
        return display_numbering(self.answer, self.sources)

    def source_groups(self) -> list[tuple[str, list[int]]]:
        """("Cited", ids) and ("Also found", the rest), each in the order of their numbers."""
        numbers = self.numbers
        cited = sorted((n for n in self.cited if n in self.sources), key=numbers.__getitem__)
        rest = sorted((n for n in self.sources if n not in cited), key=numbers.__getitem__)
        return [(heading, ids) for heading, ids in (("Cited", cited), ("Also found", rest)) if ids]


def regroup(events: Iterable[Event]) -> Run:
    run, answer = Run(), []
    open_search: Search | None = None
    after_thinking = False  # deltas merge into one block until something else happens
    for event in events:
        match event:
            case Thinking(text=text):
                if after_thinking and isinstance(last := run.blocks[-1], str):
                    run.blocks[-1] = last + text
                else:
                    run.blocks.append(text)
            case Answer(text=text):
                answer.append(text)
            case SearchStart(query=query, round=n, max_searches=budget):
                open_search = Search(query=query, round=n, max_searches=budget)
                run.blocks.append(open_search)
            case SearchDone():
                if open_search is None or open_search.done is not None or open_search.query != event.query:
                    open_search = Search(query=event.query)
                    run.blocks.append(open_search)
                open_search.done = event
                run.sources.update({r.id: r for r in event.results})
            case ReadDone():
                run.blocks.append(event)
            case Error():
                run.blocks.append(event)
            case Done():
                run.done = event
                run.sources.update({s.id: s for s in event.sources})
        after_thinking = isinstance(event, Thinking)
    run.answer = run.done.answer if run.done is not None else "".join(answer)
    return run


def document_place(ref: SourceRef) -> str:
    """Where a document source is: "report.pdf, page 3". A document that was read is where the
    passages the model read are ("report.pdf, pages 2, 7"; the file alone when no page is known)."""
    pages = sorted({p.page for p in document_passages(ref) if p.page is not None})
    if not pages:
        return ref.file or ""
    return f"{ref.file or ''}, page{'s' if len(pages) > 1 else ''} {', '.join(map(str, pages))}"


def document_passages(ref: SourceRef) -> tuple[PassageRef, ...]:
    """What to show of a document source: the passages the model read of it when it was read
    whole, else the passage its search found."""
    if ref.passages:
        return ref.passages
    text = ref.text or ""
    return (PassageRef(text=text, start=0, end=len(text), page=ref.page),)


def passage_page_label(ref: SourceRef, passage: PassageRef) -> str:
    """"page 7" for a read passage of a document read across pages; "" where ``document_place``
    already says it (one page) or no page is known."""
    pages = {p.page for p in ref.passages or ()}
    return f"page {passage.page}" if passage.page is not None and len(pages) > 1 else ""


def byline(meta: Meta) -> str:
    parts = [f"model {meta.get('model') or '?'}", f"backend {meta.get('backend') or '?'}"]
    if meta.get("started_at"):
        parts.append(f"recorded {meta['started_at']}")
    return " · ".join(parts)


# --------------------------------------------------------------------------- stats, in words


# The engine's stat keys (agent/loop/finish.py) as a person reads them; an unknown key is shown spelled out.
STAT_LABELS: dict[str, str] = {
    "total_s": "Total time",
    "ttft_s": "Time to first token",
    "thinking_tokens": "Thinking tokens",
    "thinking_tok_s": "Thinking speed",
    "answer_tokens": "Answer tokens",
    "answer_tok_s": "Answer speed",
    "prompt_tokens": "Prompt tokens",
    "generated_tokens": "Generated tokens",
    "spliced_tokens": "Search-result tokens added",
    "prefilled_tokens": "Tokens prefilled",
    "reprefill_tokens": "Prefill without KV reuse",
    "prefill_saved_tokens": "Prefill saved by KV reuse",
    "context_tokens": "Context used (tokens)",
    "rounds": "Generation rounds",
    "search_latencies_s": "Search times",
    "bad_calls": "Malformed tool calls",
    "refused_calls": "Tool calls not run",
    "finish": "How the last round ended",
    "budget_exhausted": "Search budget used up",
    "context_forced": "Answer forced (context nearly full)",
    "truncated": "Cut off at the token limit",
}


# How a run ended (``Done.end``), as a person reads it.
END_WORDS: dict[RunEnd, str] = {
    "answered": "with an answer",
    "no_answer": "without an answer",
    "stopped": "stopped before the end",
    "token_limit": "at the token limit of a round",
    "context_full": "with the context full",
    "rounds_exhausted": "at the round limit, without an answer",
}


def stat_rows(run: Run) -> list[tuple[str, str]]:
    """(label, value) rows for a person; empty when the run has no ``done``."""
    if run.done is None:
        return []
    done, numbers = run.done, run.numbers
    cited = sorted(numbers[n] for n in done.cited if n in numbers)
    rows = [("Searches", str(done.searches)), ("Sources found", str(len(done.sources))),
            ("Cited", ", ".join(f"[{n}]" for n in cited) or "none"), ("Stopped", _value(done.stopped)),
            ("Ended", END_WORDS[done.end])]
    for key, value in done.stats.to_dict().items():
        if key == "reads" and isinstance(value, dict):
            reads: dict[str, Any] = value
            rows += [(READ_LABELS.get(k, k), _stat_value(k, v)) for k, v in reads.items()
                     if k != "reader_tokens" or v]
            continue
        label = STAT_LABELS.get(str(key)) or str(key).replace("_", " ").capitalize()
        rows.append((label, _stat_value(str(key), value)))
    return rows


READ_LABELS: dict[str, str] = {"pages_read": "Pages read", "pages_failed": "Pages that could not be read",
                               "bytes": "Bytes fetched", "read_s": "Read time",
                               "tokens_added": "Tokens added by reading", "reader_tokens": "Model-reader tokens"}


# Keyed by any recorded string: a replayed trace may hold a reason this version does not know.
_REFUSAL_WORDS: dict[str, str] = {reason: words for reason, words in REFUSAL_REASONS.items()}


def _stat_value(key: str, value: Any) -> str:
    if key == "refused_calls" and isinstance(value, list):
        calls = [c for c in value if isinstance(c, dict)]
        return "; ".join(
            _REFUSAL_WORDS.get(str(c.get("reason")), "refused")
            + (f": {c['query']}" if c.get("query") else "") for c in calls) or "none"
    if _is_number(value) or (isinstance(value, list) and value and all(_is_number(v) for v in value)):
        unit = " tokens/s" if key.endswith("_tok_s") else " s" if key.endswith("_s") else ""
        if unit:
            items = value if isinstance(value, list) else [value]
            return ", ".join(f"{v:.1f}{unit}" if unit == " tokens/s" else f"{v:.2f}{unit}" for v in items)
    return _value(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + ")"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value) or "—"
    return str(value)
