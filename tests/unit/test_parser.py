"""The incremental parser: tags split anywhere, both call shapes, bad calls."""

import json

import pytest

from agent.parser import BadToolCall, StreamParser, ToolCall, parse_call

CALL = '{"name": "web_search", "arguments": {"query": "eiffel tower height"}}'
ROUND = f"Let me think.\n</think>\n\nBefore.<tool_call>\n{CALL}\n</tool_call>"
TAGS = ["<think>", "</think>", "<tool_call>", "</tool_call>"]


def feed_all(chunks):
    p = StreamParser()
    out = []
    for c in chunks:
        out += p.feed(c)
    out += p.close()
    return p, "".join(t for k, t in out if k == "thinking"), "".join(t for k, t in out if k == "answer")


def test_whole_round_splits_thinking_answer_and_call():
    p, thinking, answer = feed_all([ROUND])
    assert thinking == "Let me think.\n"
    assert answer == "Before."
    assert parse_call(p.call_text) == ToolCall("web_search", "eiffel tower height")


@pytest.mark.parametrize("size", [1, 2, 3, 5, 11])
def test_every_chunk_size_gives_the_same_result(size):
    chunks = [ROUND[i:i + size] for i in range(0, len(ROUND), size)]
    assert feed_all(chunks)[1:] == feed_all([ROUND])[1:]
    assert parse_call(feed_all(chunks)[0].call_text) == ToolCall("web_search", "eiffel tower height")


@pytest.mark.parametrize("tag", TAGS)
def test_every_split_position_of_every_tag(tag):
    text = {
        "<think>": "<think>reasoning</think>answer",
        "</think>": "reasoning</think>answer",
        "<tool_call>": f"reasoning</think><tool_call>{CALL}</tool_call>",
        "</tool_call>": f"reasoning<tool_call>{CALL}</tool_call>",
    }[tag]
    expected = feed_all([text])
    start = text.index(tag)
    for cut in range(start + 1, start + len(tag)):
        got = feed_all([text[:cut], text[cut:]])
        assert got[1:] == expected[1:], (tag, cut)
        assert got[0].call_text == expected[0].call_text, (tag, cut)
    # No tag text ever leaks into what people see.
    assert all(t not in expected[1] + expected[2] for t in TAGS)


def test_leading_think_is_swallowed():
    _, thinking, answer = feed_all(["<think>\nhmm</think>ok"])
    assert thinking == "\nhmm" and answer == "ok"


def test_missing_close_think_stays_thinking():
    p, thinking, answer = feed_all(["all reasoning, never closed"])
    assert thinking == "all reasoning, never closed" and answer == ""
    assert not p.saw_think_close and p.call_text is None


def test_tool_call_inside_thinking():
    p, thinking, answer = feed_all([f"I should search.\n<tool_call>\n{CALL}\n</tool_call>"])
    assert thinking == "I should search.\n" and answer == ""
    assert parse_call(p.call_text).query == "eiffel tower height"


def test_tags_without_newlines():
    p, _, _ = feed_all([f"x</think><tool_call>{CALL}</tool_call>"])
    assert parse_call(p.call_text).query == "eiffel tower height"


def test_seed_action_shape():
    call = parse_call('{"action": "web_search", "action_input": {"query": "q1"}}')
    assert call == ToolCall("web_search", "q1")


def test_arguments_as_json_string():
    assert parse_call('{"name": "web_search", "arguments": "{\\"query\\": \\"q\\"}"}') == ToolCall("web_search", "q")


def test_text_after_call_is_ignored():
    p, thinking, answer = feed_all([f"t</think>a<tool_call>{CALL}</tool_call>trailing <think>x"])
    assert answer == "a" and "trailing" not in thinking + answer


def test_unclosed_call_is_reported_open():
    p, _, _ = feed_all(['t</think><tool_call>{"name": "web_se'])
    assert p.call_open and p.call_text is None


def test_partial_tag_at_end_of_round_is_flushed_as_text():
    _, thinking, _ = feed_all(["a < b and c </thi"])
    assert thinking == "a < b and c </thi"


@pytest.mark.parametrize("raw,problem", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"name": "calculator", "arguments": {"x": 1}}', "unknown tool 'calculator'"),
    ('{"name": "web_search", "arguments": {"query": 42}}', "must be a string"),
    ('{"name": "web_search", "arguments": {"query": "   "}}', "empty"),
    ('{"name": "web_search", "arguments": "plain words"}', "must be an object"),
    ('{"name": "web_search"}', "must be an object"),
])
def test_bad_calls_explain_the_problem(raw, problem):
    call = parse_call(raw)
    assert isinstance(call, BadToolCall) and problem in call.problem


def test_query_is_squashed_and_capped():
    call = parse_call(json.dumps({"name": "web_search", "arguments": {"query": "a  \n b" + "x" * 1000}}))
    assert call.query.startswith("a b") and len(call.query) == 400


def test_fenced_json_is_accepted():
    assert parse_call(f"```json\n{CALL}\n```").query == "eiffel tower height"
