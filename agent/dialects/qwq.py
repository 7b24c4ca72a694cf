"""QwQ-32B: native tool calls in its own chat template (the default dialect).

The template renders the ``web_search`` schema into the system turn and
pre-fills ``<think>``; a round ends at ``</tool_call>``; results come back as a
``<tool_response>`` user turn; the answer is everything after ``</think>``,
citing the numbered results.
"""

from __future__ import annotations

import json

from ..parser import CALL_CLOSE, CALL_OPEN, THINK_CLOSE, StreamParser, ToolCall, parse_call
from ..prompt import OPEN_PAGE_TOOL_NAME, WEB_SEARCH_TOOL, build_messages, escape_untrusted, render_prompt
from ..records.fork import RecordedRound
from ..search.sources import Source
from .base import Dialect, Notes, escaped_chunks


def tool_response_splice(text: str) -> str:
    """What the chat template renders for a tool message plus the generation prompt.

    Starts by closing the assistant turn the tool call left open, so every round
    begins inside a fresh think block, exactly as a re-render would have it.
    """
    return (
        "<|im_end|>\n<|im_start|>user\n<tool_response>\n"
        f"{text}\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n"
    )


NOTES = Notes(
    budget_spent=("Search budget used up ({n} of {n} searches); this call was not run. "
                  "Do not call web_search again. Write your final answer now from the results above, "
                  "citing them as [n]."),
    context_full=("The context is nearly full, so searching is over and this call was not run. "
                  "Write your final answer now from the results above, citing them as [n]."),
    search_failed=("The search failed ({reason}). Search may be unavailable: try once more with a "
                   "different query, or answer from what you know and say that web search was unavailable."),
    rounds_spent=("The round limit is reached, so searching is over and this call was not run. "
                  "Do not call web_search again. Write your final answer now from the results above, "
                  "citing them as [n]."),
    bad_call=('Your tool call was not run: {problem}. To search, write <tool_call>\n'
              '{{"name": "web_search", "arguments": {{"query": "..."}}}}\n</tool_call>; '
              "otherwise give your final answer."),
)


def format_results(query: str, sources: list[Source], *, number: int, budget: int) -> str:
    lines = [f'Results for "{escape_untrusted(query)}" (search {number} of {budget}):']
    for s in sources:
        lines.append(f"\n[{s.id}] {escape_untrusted(s.title)}\n{_where(s)}\n{escape_untrusted(s.content)}")
    if not sources:
        lines.append("\nNo results. Try a different query, or answer from what you know.")
    else:
        lines.append(f"\nCite these as [{sources[0].id}] etc. You have {budget - number} search(es) left.")
    return "\n".join(lines)


def _where(source: Source) -> str:
    if source.kind == "document":
        page = f", page {source.page}" if source.page is not None else ""
        return f"File: {escape_untrusted(source.file or '')}{page}"
    return f"URL: {escape_untrusted(source.url)}"


def extract_answer(output: str) -> str | None:
    """Everything after the last ``</think>``; a model that never closed it answered
    in its thinking, so that is the answer."""
    head, sep, tail = output.rpartition("</think>")
    return (tail if sep else head or tail).strip() or None


def write_round(recorded: RecordedRound) -> list[str]:
    """A recorded round as QwQ writes it: thinking (the template opened ``<think>``), then
    ``</think>`` and the answer, then the call. Recorded text is escaped like any outside text:
    a recording is a file anyone may hand over, and its text must not forge a tag or a token."""
    chunks = escaped_chunks(recorded.thinking, escape_untrusted)
    if recorded.answer or recorded.call is not None:
        chunks.append(f"{THINK_CLOSE}\n\n")
    chunks += escaped_chunks(recorded.answer, escape_untrusted)
    if recorded.call is not None:
        chunks.append(f"\n{CALL_OPEN}\n{_call_json(recorded.call)}\n{CALL_CLOSE}")
    return chunks


def _call_json(call: ToolCall) -> str:
    if call.name == OPEN_PAGE_TOOL_NAME:
        args: dict[str, object] = {"id": call.source_id} if call.source_id is not None else {"url": call.url or ""}
    else:
        args = {"query": call.query}
    # ensure_ascii keeps every "<" or "|" of a recorded query as an escape, never a tag.
    return json.dumps({"name": call.name, "arguments": args}, ensure_ascii=True).replace("<", "\\u003c")


DIALECT = Dialect(
    name="qwq",
    call_stops=(CALL_CLOSE,),
    end_stops=(),
    tools=(WEB_SEARCH_TOOL,),
    notes=NOTES,
    build_messages=build_messages,
    new_parser=StreamParser,
    parse_call=parse_call,
    format_results=format_results,
    splice=tool_response_splice,
    extract_answer=extract_answer,
    render_prompt=render_prompt,
    write_round=write_round,
    promote_unclosed_thinking=True,
    cites=True,
)
