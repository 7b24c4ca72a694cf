"""ReSearch (Agent-RL/ReSearch, archived as branch ``re-search`` of Agent-RL/ReCall).

Tags ``<think>``, ``<search>``, ``<result>``, ``<answer>``. A round ends at
``</search>``; results go back in the same assistant turn as
`` <result>\\n…\\n</result>``; the final answer is ``\\boxed{X}`` inside
``<answer>``. The system prompt is ``re_search_template_sys`` from
``src/verl/utils/dataset/template.py``, quoted verbatim: a trained model
expects it.
"""

from __future__ import annotations

import re
from typing import Iterable

from ..search.sources import Source
from .base import Dialect, Notes
from .chatml import render_chatml
from .tags import write_round, ANSWER_CLOSE, SEARCH_CLOSE, TagParser, escape_tags, last_answer, parse_query, title_line

SYSTEM_PROMPT = (
    "You are a helpful assistant that can solve the given question step by step with the help of the "
    "wikipedia search tool. Given a question, you need to first think about the reasoning process in the "
    "mind and then provide the answer. During thinking, you can invoke the wikipedia search tool to search "
    "for fact information about specific topics if needed. The reasoning process and answer are enclosed "
    "within <think> </think> and <answer> </answer> tags respectively, and the search query and result are "
    "enclosed within <search> </search> and <result> </result> tags respectively. For example, <think> This "
    "is the reasoning process. </think> <search> search query here </search> <result> search result here "
    "</result> <think> This is the reasoning process. </think> <answer> The final answer is \\[ "
    "\\boxed{answer here} \\] </answer>. In the last part of the answer, the final exact answer is enclosed "
    "within \\boxed{} with latex format."
)

# What their rollout splices for an empty query.
NOTHING_TO_SEARCH = "nothing to search"

NOTES = Notes(
    budget_spent=("Search budget used up ({n} of {n} searches); this search was not run. "
                  "Give the final answer now inside <answer> </answer>."),
    context_full=("The context is nearly full, so this search was not run. "
                  "Give the final answer now inside <answer> </answer>."),
    search_failed="The search failed ({reason}). Search again with a different query, or answer.",
    bad_call=NOTHING_TO_SEARCH,
    rounds_spent=("The round limit is reached, so this search was not run. "
                  "Give the final answer now inside <answer> </answer>."),
)

_BOXED = re.compile(r"\\boxed\s*\{")


def unbox(answer: str) -> str:
    """The content of the last ``\\boxed{…}`` (braces balanced); the answer itself,
    stripped, when it has none."""
    starts = [m.end() for m in _BOXED.finditer(answer)]
    if not starts:
        return answer.strip()
    depth, start = 1, starts[-1]
    for i in range(start, len(answer)):
        depth += {"{": 1, "}": -1}.get(answer[i], 0)
        if depth == 0:
            return answer[start:i].strip()
    return answer[start:].strip()  # cut off before the closing brace


def extract_answer(output: str) -> str | None:
    answer = last_answer(output)
    return None if answer is None else unbox(answer)


def build_messages(question: str, *, max_searches: int,
                   history: Iterable[tuple[str, str]] = ()) -> list[dict[str, str]]:
    """The trained system prompt, earlier turns, the question (all outside text escaped)."""
    del max_searches  # the trained prompt has no budget; the loop says when it is spent
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for role, text in history:
        if role not in ("user", "assistant"):
            raise ValueError(f"history role must be 'user' or 'assistant', got {role!r}")
        messages.append({"role": role, "content": escape_tags(text)})
    messages.append({"role": "user", "content": escape_tags(question.strip())})
    return messages


def format_results(query: str, sources: list[Source], *, number: int, budget: int) -> str:
    """Each passage as its corpus ``contents`` (``"Title"\\ntext``), blank lines between."""
    del query, number, budget
    if not sources:
        return "No results."
    return "\n\n".join(f'"{escape_tags(title_line(s.title))}"\n{escape_tags(s.content)}' for s in sources)


def splice(observation: str) -> str:
    return f" <result>\n{observation}\n</result>"


DIALECT = Dialect(
    name="research",
    call_stops=(SEARCH_CLOSE,),
    end_stops=(ANSWER_CLOSE,),
    tools=(),
    notes=NOTES,
    build_messages=build_messages,
    new_parser=lambda: TagParser(finish_answer=unbox),
    parse_call=parse_query,
    format_results=format_results,
    splice=splice,
    extract_answer=extract_answer,
    render_prompt=render_chatml,
    write_round=write_round,
)
