"""An answer's Stats panel and its ending, in words people read.

``end_of`` reads the engine's typed ``Done.end``, so the note under a cut-off
answer, the meter and the No answer panel always agree on why an answer stopped.
"""

from __future__ import annotations

import math
from typing import Any

from agent.api import REFUSAL_REASONS, Done, RefusedCall, RunEnd

from .citations import escape_text

# (the note under the answer, the meter's word) for each way an answer can be cut short.
CUT_SHORT: dict[RunEnd, tuple[str, str]] = {
    "token_limit": ("Cut off at the token limit: raise <em>Max new tokens per round</em> in Settings and ask again.",
                    "cut off at the token limit"),
    "context_full": ("Cut off because the model's context is full: start a New chat, or ask a narrower "
                     "question.", "cut off: context full"),
    "rounds_exhausted": ("Stopped at the round limit: the model kept working and never finished. Ask a "
                         "narrower question.", "round limit reached"),
    "no_answer": ("The model ended without writing an answer; asking again, or rephrasing, may help.",
                  "no answer"),
}


def end_of(done: Done) -> RunEnd:
    """How the run ended, as the engine says (``Done.end``)."""
    return done.end


def _num(value: Any, fmt: str = "{:.2f}", unit: str = "") -> str:
    """A stat as text; "–" for what a replayed trace may hold instead of a number (a string,
    ``NaN``, a fraction where a count belongs), so the final frame always renders."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    if "d}" in fmt and not isinstance(value, int):
        return "–"
    return fmt.format(value) + unit


def format_stats(done: Done, *, label: str | None = None) -> str:
    s = done.stats
    lat_text = ", ".join(_num(x, unit=" s") for x in s.search_latencies_s)
    rows = [
        ("time to first token", _num(s.ttft_s, unit=" s")),
        ("thinking", f"{_num(s.thinking_tokens, '{:d}')} tokens · {_num(s.thinking_tok_s, '{:.1f}')} tok/s"),
        ("answer", f"{_num(s.answer_tokens, '{:d}')} tokens · {_num(s.answer_tok_s, '{:.1f}')} tok/s"),
        ("searches used", f"{done.searches}" + (f" · {lat_text}" if lat_text else "")),
        ("prompt / generated tokens", f"{_num(s.prompt_tokens, '{:d}')} / {_num(s.generated_tokens, '{:d}')}"),
        ("prefill saved by KV reuse", f"{_num(s.prefill_saved_tokens, '{:d}')} tokens"),
        ("total time", _num(s.total_s, "{:.1f}", " s")),
    ]
    if s.reads is not None:  # pages read, bytes, read time, tokens added (and the model reader's, if any)
        r = s.reads
        failed = f" ({r.pages_failed} could not be read)" if r.pages_failed else ""
        rows.insert(4, ("pages read", f"{r.pages_read}{failed} · {r.bytes:,} bytes · {_num(r.read_s, '{:.1f}', ' s')}"
                                      f" · {r.tokens_added:,} tokens added"
                                      + (f" · reader {r.reader_tokens:,} tokens" if r.reader_tokens else "")))
    # Why searching stopped early (facts of the run), then how it ended (``done.end``, never the flags).
    notes = [text for flag, text in ((s.budget_exhausted, "search budget used up"),
                                      (s.context_forced and done.end != "context_full",
                                       "context nearly full: answer forced"))
             if flag]
    if done.end in CUT_SHORT and done.end != "no_answer":
        notes.append(CUT_SHORT[done.end][1])
    if notes:
        rows.append(("notes", "; ".join(notes)))
    refused = _refused_text(s.refused_calls)
    if refused:
        rows.append(("tool calls not run", refused))
    if label:
        rows.insert(0, ("mode", label))
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def _refused_text(calls: tuple[RefusedCall, ...]) -> str:
    """One cell listing the calls the engine answered without running them."""
    parts = []
    for call in calls:
        what = call.detail if call.reason == "malformed" else call.query
        what_text = escape_text(what, limit=80) if what else ""  # escapes "|" for the table too
        why = REFUSAL_REASONS[call.reason]
        parts.append(f"{why}: {what_text}" if what_text else why)
    return f"{len(parts)} · " + "; ".join(parts) if parts else ""
