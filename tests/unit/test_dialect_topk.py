"""Issue 25.15: each dialect asks for as many results as its model was trained with (Search-R1: 3,
search_r1/llm_agent/generation.py's topk and infer.py), unless the setting says otherwise."""

from __future__ import annotations

import pytest

from agent.config import settings_from_env
from agent.search.base import SearchResult
from tests.engine_helpers import done_of, run_script


class Counting:
    name = "counting"

    def __init__(self) -> None:
        self.asked: list[int] = []

    def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        self.asked.append(max_results)
        return [SearchResult(title=f"T{i}", url=f"https://e.example/{i}", content=f"c{i}") for i in range(10)]


SEARCH_R1 = ["<think>look</think>\n<search> lakes </search>", "<think>ok</think>\n<answer> Baikal </answer>"]
QWQ = ['Search.\n</think>\n\n<tool_call>\n{"name": "web_search", "arguments": {"query": "lakes"}}\n</tool_call>',
       "Done.\n</think>\n\nBaikal [1]."]


@pytest.mark.parametrize(("dialect", "script", "wanted"), [("search-r1", SEARCH_R1, 3), ("qwq", QWQ, 5)])
def test_each_dialect_asks_for_its_own_number(dialect: str, script: list[str], wanted: int) -> None:
    provider = Counting()
    events, _ = run_script(script, providers=[provider], dialect=dialect)
    assert provider.asked == [wanted]
    done = done_of(events)
    assert len(done.sources) == wanted


def test_an_explicit_number_wins_over_the_dialects() -> None:
    provider = Counting()
    run_script(SEARCH_R1, providers=[provider], dialect="search-r1", results_per_search=7)
    assert provider.asked == [7]
    settings = settings_from_env({"DEEPSEARCH_RESULTS_PER_SEARCH": "4", "DEEPSEARCH_DIALECT": "search-r1"})
    assert settings.results_wanted == 4


def test_the_default_follows_a_dialect_chosen_after_the_environment() -> None:
    settings = settings_from_env({}).with_overrides(dialect="search-r1")
    assert settings.results_wanted == 3 and settings.public()["results_per_search"] == 3
    assert settings_from_env({}).results_wanted == 5


@pytest.mark.parametrize("raw", ["0", "-2"])
def test_a_number_below_one_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="results_per_search"):
        settings_from_env({"DEEPSEARCH_RESULTS_PER_SEARCH": raw})
