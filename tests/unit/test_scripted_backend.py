"""The scripted backend's catalogue form, and the demo mode that plays it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.backends.scripted import ScriptError, load_script
from agent.config import Settings
from agent.demo import demo_settings
from agent.events import Answer, Done, Error, SearchDone, SearchStart
from agent.search import build_search
from agent.session import ChatSession, build_backend
from tests.engine_helpers import answer, call
from ui.app_ui import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]


def session_for(script: dict | list, tmp_path: Path, fixture: dict | None = None) -> ChatSession:
    script_file, fixture_file = tmp_path / "script.json", tmp_path / "search.json"
    script_file.write_text(json.dumps(script))
    fixture_file.write_text(json.dumps(fixture or {}))
    settings = Settings(backend="scripted", model_script=str(script_file), search_fixture=str(fixture_file),
                        provider="fixture")
    return ChatSession(settings=settings, backend=build_backend(settings))


def answered(session: ChatSession, question: str) -> str:
    events = list(session.ask(question))
    assert isinstance(events[-1], Done), events[-1]
    return events[-1].answer


def test_each_question_plays_its_own_rounds_and_others_the_default(tmp_path: Path) -> None:
    session = session_for({
        "questions": {"First question?": [call("one"), answer("About one [1].")],
                      "Second  QUESTION?": [call("two"), answer("About two [1], not [1, 3].")]},
        "default": [answer("No recording for that [1].")],
    }, tmp_path, {"one": [{"title": "One", "url": "https://one.example/", "content": "1"}],
                  "two": [{"title": "Two", "url": "https://two.example/", "content": "2"}]})
    assert answered(session, "first   question?") == "About one [1]."  # case and spacing ignored
    # A follow-up gets its own run, which numbers its own sources from [1] again.
    assert answered(session, "Second question?") == "About two [1], not [1, 3]."
    assert answered(session, "Something else") == "No recording for that [1]."  # it was shown none


def test_a_list_script_is_played_verbatim_for_every_question(tmp_path: Path) -> None:
    """The docs/DESIGN.md contract: string i is the raw text of round i, whatever came before."""
    session = session_for([call("q"), answer("Cited [1] and [2].")], tmp_path, {
        "q": [{"title": "A", "url": "https://a.example/", "content": "a"}]})
    assert answered(session, "First?") == "Cited [1] and [2]."
    (tmp_path / "two.json").write_text(json.dumps({"q": [
        {"title": "B", "url": "https://b.example/", "content": "b"}]}))
    session.search = build_search(session.settings.with_overrides(search_fixture=str(tmp_path / "two.json")))
    assert answered(session, "Second?") == "Cited [1] and [2]."  # not renumbered to this run's source 2


def test_a_question_without_rounds_or_default_is_an_error_event(tmp_path: Path) -> None:
    session = session_for({"questions": {"Known?": [answer("yes")]}}, tmp_path)
    [event] = list(session.ask("Unknown?"))
    assert isinstance(event, Error)
    assert "'Unknown?'" in event.message and "'known?'" in event.message and "default" in event.message


@pytest.mark.parametrize("content,needle", [
    ({"questions": {"q": "not a list"}}, "at question 'q'"),
    ({"questions": {"q": ["ok"]}, "default": [1, 2]}, 'at "default"'),
    ({"questions": ["q"]}, "must be a JSON list of strings"),
    ({"rounds": ["a"]}, "must be a JSON list of strings"),
    ("just a string", "must be a JSON list of strings"),
])
def test_malformed_catalogues_are_refused_naming_the_file(tmp_path: Path, content, needle: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ScriptError, match="bad.json") as info:
        load_script(path)
    assert needle in str(info.value)


@pytest.fixture(scope="module")
def demo_session() -> ChatSession:
    settings = demo_settings(Settings()).with_overrides(script_delay_s=0)
    return ChatSession(settings=settings, backend=build_backend(settings))


@pytest.mark.parametrize("question,expected,searches", [
    (EXAMPLES[0], "330 metres", 2),
    (EXAMPLES[1], "August 1858", 2),
    (EXAMPLES[2], "Rayleigh scattering", 1),
])
def test_demo_mode_answers_each_example_with_its_own_run(demo_session, question, expected, searches) -> None:
    events = list(demo_session.ask(question))
    done = events[-1]
    assert isinstance(done, Done) and expected in done.answer and not done.stopped
    assert sum(isinstance(e, SearchStart) for e in events) == searches
    results = [r for e in events if isinstance(e, SearchDone) for r in e.results]
    cited = {s.id for s in done.sources if s.id in done.cited}
    assert cited and cited <= {r.id for r in results}  # it cites what this run found


def test_demo_mode_says_so_for_any_other_question(demo_session) -> None:
    events = list(demo_session.ask("What is the capital of Australia?"))
    done = events[-1]
    assert isinstance(done, Done) and done.searches == 0
    assert "demo mode" in done.answer
    assert not re.search(r"(?<![\w-])--[a-z]", done.answer), "the note for visitors names no command-line flag"
    assert all(q in done.answer for q in EXAMPLES)  # it points to what the demo can show
    assert "".join(e.text for e in events if isinstance(e, Answer)) == done.answer
