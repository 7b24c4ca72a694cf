"""Search-R1 (PeterGriffinJin/Search-R1, Apache-2.0): the protocol its models were trained on.

The model writes ``<think>…</think>``, then ``<search> query </search>`` or
``<answer> … </answer>``. A round ends at ``</search>``; the results go back
inside the same assistant turn as ``<information>Doc 1(Title: "T") text …
</information>``; the answer is the content of the last ``<answer>``.
Protocol constants below are quoted from that repository (read at a14dc3a):
a trained model expects them verbatim.
"""

from __future__ import annotations

from typing import Iterable

from ..search.sources import Source
from .base import Dialect, Notes
from .chatml import render_chatml
from .tags import write_round, ANSWER_CLOSE, SEARCH_CLOSE, TagParser, escape_tags, last_answer, parse_query, title_line

# infer.py: the one user message, no system prompt.
PROMPT = (
    "Answer the given question. "
    "You must conduct reasoning inside <think> and </think> first every time you get new information. "
    "After reasoning, if you find you lack some knowledge, you can call a search engine by <search> query "
    "</search> and it will return the top searched results between <information> and </information>. "
    "You can search as many times as your want. "
    "If you find no further external knowledge needed, you can directly provide the answer inside <answer> "
    "and </answer>, without detailed illustrations. For example, <answer> Beijing </answer>. "
    "Question: {question}\n"
)

# search_r1/llm_agent/generation.py: what a round with neither a search nor an answer gets.
INVALID_ACTION = (
    "My previous action is invalid. If I want to search, I should put the query between <search> and "
    "</search>. If I want to give the final answer, I should put the answer between <answer> and "
    "</answer>. Let me try again."
)

NOTES = Notes(
    budget_spent=("Search budget used up ({n} of {n} searches); this search was not run. "
                  "Give the final answer now inside <answer> and </answer>."),
    context_full=("The context is nearly full, so this search was not run. "
                  "Give the final answer now inside <answer> and </answer>."),
    search_failed="The search failed ({reason}). Search again with a different query, or answer.",
    bad_call="This search was not run: {problem}.",
    rounds_spent=("The round limit is reached, so this search was not run. "
                  "Give the final answer now inside <answer> and </answer>."),
    no_action=INVALID_ACTION,
)


def build_messages(question: str, *, max_searches: int,
                   history: Iterable[tuple[str, str]] = ()) -> list[dict[str, str]]:
    """Earlier turns, then the trained prompt around the question (escaped).

    ``max_searches`` is not mentioned: the trained prompt says nothing of a
    budget, and the loop tells the model when it is spent.
    """
    del max_searches
    messages = [{"role": _role(role), "content": escape_tags(text)} for role, text in history]
    text = escape_tags(question.strip())
    if not text.endswith("?"):
        text += "?"  # as infer.py does: every training question ends with one
    messages.append({"role": "user", "content": PROMPT.format(question=text)})
    return messages


def _role(role: str) -> str:
    if role not in ("user", "assistant"):
        raise ValueError(f"history role must be 'user' or 'assistant', got {role!r}")
    return role


def format_results(query: str, sources: list[Source], *, number: int, budget: int) -> str:
    """``Doc i(Title: "T") text`` lines, numbered per search, exactly as Search-R1's
    ``_passages2string`` writes them (generation.py, infer.py): the title is the first line of the
    corpus ``contents``, ``"T"`` with its quotes, and the text is the rest."""
    del query, number, budget
    if not sources:
        return "No results."
    return "\n".join(f'Doc {i}(Title: "{escape_tags(title_line(s.title))}") {escape_tags(s.content)}'
                     for i, s in enumerate(sources, 1))


def splice(observation: str) -> str:
    # The training rollout's shape (the observation stripped); infer.py differs only in a
    # newline before </information>.
    return f"\n\n<information>{observation.strip()}</information>\n\n"


DIALECT = Dialect(
    name="search-r1",
    call_stops=(SEARCH_CLOSE,),
    end_stops=(ANSWER_CLOSE,),
    tools=(),
    notes=NOTES,
    build_messages=build_messages,
    new_parser=TagParser,
    parse_call=parse_query,
    format_results=format_results,
    splice=splice,
    extract_answer=last_answer,
    render_prompt=render_chatml,
    write_round=write_round,
)
