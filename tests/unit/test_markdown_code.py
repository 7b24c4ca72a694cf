"""One definition of "inside code" for the chat and the reports: fenced ``` and ~~~ blocks and
inline code spans, read as CommonMark (and the chat's renderer, marked) reads them."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from agent.text.markdown_code import code_regions, outside_code, unclosed_fence

CASES = [
    ("a\n~~~\n<b1>\n~~~\nb <b2>", ["~~~\n<b1>\n~~~"]),
    ("a\n```py\n<b1>\n```\n<b2>", ["```py\n<b1>\n```"]),
    ("~~~\nstill open <b1>", ["~~~\nstill open <b1>"]),
    ("````\n```\n<b1>\n````\n<b2>", ["````\n```\n<b1>\n````"]),  # a shorter marker does not close
    ("~~~\n```\n<b1>\n~~~\n<b2>", ["~~~\n```\n<b1>\n~~~"]),  # nor the other character
    ("~~~\n<b1>\n~~~ not a closing fence\n<b2>", ["~~~\n<b1>\n~~~ not a closing fence\n<b2>"]),
    ("   ~~~\n<b1>\n   ~~~\n<b2>", ["   ~~~\n<b1>\n   ~~~"]),
    ("1. Run:\n   ```bash\n   <b1>\n   ```\n2. <b2>", ["   ```bash\n   <b1>\n   ```"]),
    ("1. ```bash\n   <b1>\n   ```\n2. <b2>", ["1. ```bash\n   <b1>\n   ```"]),  # a fence on the marker's line
    ("- a\n  - ```py\n    <b1>\n    ```\n\n<b2>", ["  - ```py\n    <b1>\n    ```"]),  # nested further in
    ("> ~~~\n> <b1>\n> ~~~\n\n<b2>", ["> ~~~\n> <b1>\n> ~~~"]),
    ("~~~\r\n<b1>\r\n~~~\r\n<b2>", ["~~~\r\n<b1>\r\n~~~\r"]),
    ("    ~~~\n    <b1>\n", ["    ~~~\n    <b1>\n"]),  # indented code: code either way
    ("Type ``` then <b1>", []),  # mid-line: no fence, and no closing run: literal backticks
    ("```js`\n<b1>", []),  # a backtick fence's info string has no backtick: not a fence
    ("a `<b1>` b ``<b2> ` z`` c <b3>", ["`<b1>`", "``<b2> ` z``"]),
    ("``<b1>` <b2>", []),  # runs of different lengths never pair
    ("\\`<b1>` <b2>", []),  # an escaped backtick is literal
    ("\\\\`<b1>` <b2>", ["`<b1>`"]),  # an escaped backslash is not
    ("`a\\`<b1>`", ["`a\\`"]),  # no escapes inside code: the span ends at the second backtick
]


def code(text: str) -> list[str]:
    return [text[start:end] for start, end in code_regions(text)]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_code_regions(text: str, expected: list[str]) -> None:
    assert code(text) == expected


@pytest.mark.parametrize(("text", "expected"), CASES + [
    ("    <b1>\n", []),  # an indented block: left to the escaping (see the module's docstring)
    ("`a\n<b1>`", []),  # a span over a line break: likewise
])
def test_what_is_code_here_is_code_to_a_commonmark_renderer(text: str, expected: list[str]) -> None:
    """Never the dangerous way round: every tag this takes for code, CommonMark shows as text."""
    rendered = MarkdownIt("commonmark", {"html": True}).render(text)
    for tag in re.findall(r"<b\d>", "".join(code(text))):
        assert f"&lt;{tag[1:-1]}&gt;" in rendered and tag not in rendered, (text, rendered)


def test_outside_code_changes_only_the_text_around_code() -> None:
    text = "x <b> `<b>` y\n~~~\n<b>\n~~~\nz <b>"
    assert outside_code(text, lambda part: part.replace("<", "&lt;")) == \
        "x &lt;b> `<b>` y\n~~~\n<b>\n~~~\nz &lt;b>"


@pytest.mark.parametrize(("text", "marker"), [
    ("a\n~~~\nb", "~~~"), ("````py\n```\nb", "````"), ("~~~\nb\n~~~\n", None), ("a ``` b", None), ("", None)])
def test_unclosed_fence_names_the_marker_that_closes_it(text: str, marker: str | None) -> None:
    assert unclosed_fence(text) == marker
