"""Issue 25.11: a lone surrogate in a query (a valid JSON escape, \\ud800, that a page can steer
the model into writing) is searched like any other text, never an internal error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.dialects.tags import parse_query
from agent.events import json_line, to_dict
from agent.index import DocumentIndex
from agent.index.__main__ import main
from agent.parser import ToolCall, parse_call
from agent.search.chain import SearchChain
from agent.search.base import SearchResult
from tests.engine_helpers import done_of, run_script


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    (tmp_path / "z.txt").write_text("zebraword lives here", encoding="utf-8")
    with DocumentIndex(tmp_path / "idx") as index:
        index.add_file(tmp_path / "z.txt")
    return tmp_path / "idx"


def test_the_index_searches_a_query_with_a_lone_surrogate(index_dir: Path) -> None:
    with DocumentIndex(index_dir, read_only=True) as index:
        assert [h.pid for h in index.search("zebraword \ud800")] == ["z.txt#1"]
        assert index.query_terms("\udfff zebraword") == ["zebraword"]


@pytest.mark.parametrize("as_json", [False, True])
def test_index_search_cli_prints_instead_of_a_traceback(index_dir: Path, as_json: bool,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["search", "zebraword \ud800", "--index", str(index_dir)] + (["--json"] if as_json else [])
    assert main(argv) == 0
    out = capsys.readouterr().out
    out.encode("utf-8")  # printable
    assert "zebraword lives here" in out


def test_both_call_parsers_make_the_query_writable() -> None:
    call = parse_call(json.dumps({"name": "web_search", "arguments": {"query": "zebraword \ud800"}}))
    assert isinstance(call, ToolCall) and call.query == "zebraword \ufffd"
    tag_call = parse_query(" zebraword \ud800 ")
    assert isinstance(tag_call, ToolCall) and tag_call.query == "zebraword \ufffd"


class Recording:
    name = "recording"

    def __init__(self) -> None:
        self.queries: list[str] = []

    def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        self.queries.append(query)
        return [SearchResult(title="Z", url="https://z.example/", content="zebraword")]


def test_a_search_chain_never_hands_a_provider_a_lone_surrogate() -> None:
    provider = Recording()
    SearchChain([provider], backoff_s=0).search("zebraword \ud800", max_results=1)
    assert provider.queries == ["zebraword \ufffd"]


def test_a_run_whose_model_writes_the_escape_answers_and_prints() -> None:
    script = ['Search.\n</think>\n\n<tool_call>\n{"name": "web_search", "arguments": '
              '{"query": "zebraword \\ud800"}}\n</tool_call>', 'Found.\n</think>\n\nIt lives here [1].']
    provider = Recording()
    events, _ = run_script(script, providers=[provider])
    for event in events:
        json_line(to_dict(event)).encode("utf-8")  # what --json prints
    assert provider.queries == ["zebraword \ufffd"]
    assert done_of(events).end == "answered"
