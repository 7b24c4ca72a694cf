"""The short prediction that is scored, taken from a run's full answer.

Search-R1 and ReSearch models write their answer inside ``<answer>``
(ReSearch as ``\\boxed{X}``); QwQ writes prose, so the eval's system prompt
asks it to end with one ``Final answer: X`` line (``ANSWER_INSTRUCTION``).
The question itself is never changed: a scripted catalogue matches on it, and
the benchmarks ask it as written.
"""

from __future__ import annotations

import re

ANSWER_INSTRUCTION = (
    "This question is part of an evaluation with short reference answers. After your answer, "
    "end with one last line of the form \"Final answer: X\", where X is only the answer itself "
    "(a name, number, date, place or yes/no, a few words at most), without citations."
)

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
# "Final answer: X", also as Markdown ("**Final answer:** X", "**Final answer: X**").
_FINAL_LINE = re.compile(r"^[\s*_#>-]*final answer\s*[*_]*\s*:\s*[*_]*\s*(.+?)\s*[*_]*\s*$", re.I | re.M)
_BOXED = "\\boxed{"


def extract_prediction(answer: str) -> str:
    """The last ``<answer>`` content, else the last ``Final answer:`` line, else the whole
    answer; ``\\boxed{X}`` (braces nested or not) becomes ``X``."""
    tagged = _ANSWER_TAG.findall(answer)
    if tagged:
        text = tagged[-1]
    else:
        lines = _FINAL_LINE.findall(answer)
        text = lines[-1] if lines else answer
    return unbox(text).strip()


def unbox(text: str) -> str:
    """The content of the last ``\\boxed{...}`` in ``text`` (or ``text`` itself when there is none)."""
    start = text.rfind(_BOXED)
    if start == -1:
        return text
    depth, i = 1, start + len(_BOXED)
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j]
    return text[i:]  # an unclosed box: everything after it
