"""An answer's Stats panel and its ending, in words people read.

``end_of`` reads the engine's typed ``Done.end`` when it has one and otherwise
works it out from the stats flags, so the note under a cut-off answer, the
meter and the No answer panel always agree on why an answer stopped.
"""

from __future__ import annotations

import math
from typing import Any, Literal, get_args

from agent.events import Done
from agent.loop import REFUSAL_REASONS

from .citations import escape_text

End = Literal["answered", "stopped", "token_limit", "context_full", "rounds_exhausted", "no_answer"]

# (the note under the answer, the meter's word) for each way an answer can be cut short.
CUT_SHORT: dict[str, tuple[str, str]] = {
    "token_limit": ("Cut off at the token limit: raise <em>Max new tokens per round</em> in Settings and ask again.",
                    "cut off at the token limit"),
    "context_full": ("Cut off because the model's context is full: start a New chat, or ask a narrower "
                     "question.", "cut off: context full"),
    "rounds_exhausted": ("Stopped at the round limit: the model kept working and never finished. Ask a "
                         "narrower question.", "round limit reached"),
    "no_answer": ("The model ended without writing an answer; asking again, or rephrasing, may help.",
                  "no answer"),
}


def end_of(done: Done) -> End:
    """How the run ended; ``no_answer`` when it ended without a cause the engine reported."""
    end = getattr(done, "end", None)
    stats = done.stats if isinstance(done.stats, dict) else {}
    if end in get_args(End) and end != "answered":
        return end  # type: ignore[return-value]
    if done.stopped:
        return "stopped"
    if stats.get("finish") == "context" or (stats.get("context_forced") and not done.answer.strip()):
        return "context_full"
    if stats.get("truncated") or stats.get("finish") == "length":
        return "token_limit"
    return "answered" if done.answer.strip() else "no_answer"


def _num(value: Any, fmt: str = "{:.2f}", unit: str = "") -> str:
    """A stat as text; "–" for what a replayed trace may hold instead of a number (a string,
    ``NaN``, a fraction where a count belongs), so the final frame always renders."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    if "d}" in fmt and not isinstance(value, int):
        return "–"
    return fmt.format(value) + unit


def format_stats(done: Done, *, label: str | None = None) -> str:
    s = done.stats if isinstance(done.stats, dict) else {}
    lat = s.get("search_latencies_s") or []
    lat_text = ", ".join(_num(x, unit=" s") for x in lat) if isinstance(lat, list) else "–"
    rows = [
        ("time to first token", _num(s.get("ttft_s"), unit=" s")),
        ("thinking", f"{_num(s.get('thinking_tokens'), '{:d}')} tokens · "
                     f"{_num(s.get('thinking_tok_s'), '{:.1f}')} tok/s"),
        ("answer", f"{_num(s.get('answer_tokens'), '{:d}')} tokens · "
                   f"{_num(s.get('answer_tok_s'), '{:.1f}')} tok/s"),
        ("searches used", f"{done.searches}" + (f" · {lat_text}" if lat else "")),
        ("prompt / generated tokens", f"{_num(s.get('prompt_tokens'), '{:d}')} / "
                                      f"{_num(s.get('generated_tokens'), '{:d}')}"),
        ("prefill saved by KV reuse", f"{_num(s.get('prefill_saved_tokens'), '{:d}')} tokens"),
        ("total time", _num(s.get("total_s"), "{:.1f}", " s")),
    ]
    notes = [text for key, text in (("budget_exhausted", "search budget used up"),
                                     ("context_forced", "context nearly full: answer forced"),
                                     ("truncated", "cut off at the token limit"))
             if s.get(key)]
    if notes:
        rows.append(("notes", "; ".join(notes)))
    refused = _refused_text(s.get("refused_calls"))
    if refused:
        rows.append(("tool calls not run", refused))
    if label:
        rows.insert(0, ("mode", label))
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def _refused_text(calls: Any) -> str:
    """One cell listing the calls the engine answered without running them."""
    if not isinstance(calls, list):
        return ""
    parts = []
    for call in calls:
        if not isinstance(call, dict):
            continue
        why = REFUSAL_REASONS.get(str(call.get("reason")), "refused")
        what = call.get("query") if call.get("reason") != "malformed" else call.get("detail")
        what_text = escape_text(str(what), limit=80) if what else ""  # escapes "|" for the table too
        parts.append(f"{why}: {what_text}" if what_text else why)
    return f"{len(parts)} · " + "; ".join(parts) if parts else ""
