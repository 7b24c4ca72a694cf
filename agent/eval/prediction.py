"""The short prediction that is scored, taken from a run's final answer.

Search-R1 and ReSearch models answer inside ``<answer>`` (ReSearch as
``\\boxed{X}``), which their dialect already reads out (``agent/dialects``,
``extract_answer``). QwQ writes prose, so for it the eval's system prompt asks
for one closing ``Final answer: X`` line (``ANSWER_INSTRUCTION``), and that
line is the prediction. The question itself is never changed: a scripted
catalogue matches on it, and the benchmarks ask it as written.
"""

from __future__ import annotations

import re

from ..dialects import extract_answer
from ..dialects.research import unbox

ANSWER_INSTRUCTION = (
    "This question is part of an evaluation with short reference answers. After your answer, "
    "end with one last line of the form \"Final answer: X\", where X is only the answer itself "
    "(a name, number, date, place or yes/no, a few words at most), without citations."
)

# "Final answer: X", also as Markdown ("**Final answer:** X", "**Final answer: X**").
_FINAL_LINE = re.compile(r"^[\s*_#>-]*final answer\s*[*_]*\s*:\s*[*_]*\s*(.+?)\s*[*_]*\s*$", re.I | re.M)


def answer_instruction(dialect: str) -> str | None:
    """What the eval adds to the system prompt: only QwQ's free-form answers need it; the
    trained Search-R1 and ReSearch prompts must stay verbatim and already ask for a short answer."""
    return ANSWER_INSTRUCTION if dialect == "qwq" else None


def extract_prediction(answer: str, *, dialect: str) -> str:
    """The dialect's own answer (the whole answer when it finds none); for QwQ its last
    ``Final answer:`` line if there is one; ``\\boxed{X}`` becomes ``X``."""
    text = extract_answer(dialect, answer) or answer
    if dialect == "qwq":
        lines = _FINAL_LINE.findall(text)
        text = lines[-1] if lines else text
    return unbox(text)
