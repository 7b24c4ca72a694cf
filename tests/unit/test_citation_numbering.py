"""Each answer's sources as people see them: numbered from 1 in order of first citation, then the
uncited ones, in the CLI, the reports, the terminal and a replayed trace of any version; the
engine's ids (what the model cites, ``done.cited``, ``search_done``) keep their meaning."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from agent.__main__ import main
from agent.backends.scripted import ScriptedBackend
from agent.events import Answer, Done, SearchDone, SearchStart, SourceRef, Thinking, from_dict, to_dict
from agent.records.report import export_runs
from agent.search import SearchChain
from agent.session import ChatSession
from agent.terminal import TerminalPrinter
from agent.text.citations import display_numbering, renumber
from tests.engine_helpers import FakeProvider, answer, call, result, settings
from tests.unit.test_trace import write_trace

A = SourceRef(id=1, title="Alpha", url="https://a.example/x")
B = SourceRef(id=2, title="Beta", url="https://b.example/y")
C = SourceRef(id=3, title="Gamma", url="https://c.example/z")
TEXT = "Gamma says so [3]. Alpha agrees [1]. Gamma again [3]."


def cites_three_before_one() -> list:
    return [Thinking(text="The third result [3] looks best."),
            SearchStart(query="q", round=1, max_searches=3),
            SearchDone(query="q", provider="fixture", latency_s=0.1, results=(A, B, C)),
            Answer(text=TEXT),
            Done(answer=TEXT, sources=(A, B, C), cited=(3, 1), searches=1)]


# --------------------------------------------------------------------------- the function


def test_first_cited_is_one_then_the_next_newly_cited_then_the_uncited() -> None:
    assert display_numbering(TEXT, [1, 2, 3]) == {3: 1, 1: 2, 2: 3}
    assert list(display_numbering(TEXT, [1, 2, 3])) == [3, 1, 2]  # in the order people see them
    assert display_numbering(TEXT, [1, 2, 3], uncited=False) == {3: 1, 1: 2}


def test_groups_and_linked_citations_count_as_the_loop_counts_them() -> None:
    assert display_numbering("x [2, 1] y [3](https://elsewhere.example)", [1, 2, 3]) == {2: 1, 1: 2, 3: 3}
    assert display_numbering("[3](u) then [1,2]", [1, 2, 3], uncited=False) == {3: 1, 1: 2, 2: 3}


@pytest.mark.parametrize("text", ["[9] [0] [3]", "[12345] [3]", "[" + "9" * 5000 + "] [3]", "[-1] [3]", "[x] [3]"])
def test_a_number_with_no_source_is_never_given_a_real_sources_number(text: str) -> None:
    numbers = display_numbering(text, [1, 2, 3])
    assert numbers == {3: 1, 1: 2, 2: 3}
    assert renumber(text, numbers).endswith("[1]")
    assert "9?" in renumber("[9]", numbers) and renumber("[0, 3]", numbers) == "[0?, 1]"


def test_sources_that_are_not_one_to_n_keep_invalid_numbers_invalid() -> None:
    """An old trace's follow-up listed sources 4-6 only: the model's [1] is no citation of any."""
    numbers = display_numbering("[1] and [6] and [4]", [4, 5, 6])
    assert numbers == {6: 1, 4: 2, 5: 3}
    assert renumber("[1] and [6] and [4]", numbers) == "[1?] and [1] and [2]"


def test_nothing_cited_and_nothing_found() -> None:
    assert display_numbering("No citations here.", [2, 1, 3]) == {1: 1, 2: 2, 3: 3}
    assert display_numbering("", []) == {} and display_numbering("[1]", []) == {}
    assert display_numbering("[2]", [2, 2, 1]) == {2: 1, 1: 2}  # a repeated id is one source


def test_numbers_already_on_screen_are_kept() -> None:
    shown = display_numbering("first [5]", [5])
    assert display_numbering("then [2] and [5]", [2, 5], taken=shown, uncited=False) == {5: 1, 2: 2}
    # Earlier text may have cited a source this part cannot: its number stays taken.
    assert display_numbering("[1]", [1], taken={7: 1}, uncited=False) == {7: 1, 1: 2}


@pytest.mark.parametrize("handles,taken,error", [
    (["1"], None, "a source id must be a whole number, got '1'"),
    ([True], None, "a source id must be a whole number, got True"),
    ([1.0], None, "a source id must be a whole number, got 1.0"),
    ([1, 2], {1: 2}, "numbers already given must be 1, 2, ... once each, got {1: 2}"),
    ([1, 2], {1: 1, 2: 1}, "numbers already given must be 1, 2, ... once each, got {1: 1, 2: 1}"),
])
def test_bad_input_is_refused_naming_the_value(handles, taken, error) -> None:
    with pytest.raises((TypeError, ValueError), match=re.escape(error)):
        display_numbering("[1]", handles, taken=taken)


def test_an_answer_that_is_not_text_is_refused() -> None:
    with pytest.raises(TypeError, match="must be text, got None"):
        display_numbering(None, [1])  # type: ignore[arg-type]


def test_renumber_rewrites_citations_outside_code_only() -> None:
    numbers = display_numbering(TEXT, [1, 2, 3])
    assert renumber("a [3, 1] b [3](https://x.example) `c [3]` [2]", numbers) == "a [1, 2] b [1] `c [3]` [3]"
    assert renumber("```\nx = a[3]\n```\n[3]", numbers) == "```\nx = a[3]\n```\n[1]"
    assert renumber("~~~\n[3]\n", numbers) == "~~~\n[3]\n"  # a fence still open
    assert renumber("no brackets", numbers) == "no brackets"


# --------------------------------------------------------------------------- the done event


def test_done_maps_each_id_to_its_number_and_keeps_ids_in_the_json() -> None:
    done = cites_three_before_one()[-1]
    data = to_dict(done)
    assert data["display_numbers"] == {"3": 1, "1": 2, "2": 3}
    assert list(data["cited"]) == [3, 1] and [s["id"] for s in data["sources"]] == [1, 2, 3]
    assert from_dict(json.loads(json.dumps(data))) == done
    # Derived, never read back: a trace that says otherwise is numbered from its answer anyway.
    assert from_dict({**data, "display_numbers": {"1": 1}}).display_numbers == {3: 1, 1: 2, 2: 3}


# --------------------------------------------------------------------------- the terminal


def test_terminal_prints_the_numbers_people_see_and_sources_in_order() -> None:
    out = io.StringIO()
    printer = TerminalPrinter(out)
    for event in cites_three_before_one():
        printer(event)
    text = out.getvalue()
    assert "Gamma says so [1]. Alpha agrees [2]. Gamma again [1]." in text
    assert text.index("[1] Gamma — https://c.example/z") < text.index("[2] Alpha — https://a.example/x")
    assert "Beta —" not in text  # uncited: not in the Sources list
    assert "The third result [3]" in text  # the model's reasoning, as it wrote it


def test_terminal_marks_text_written_before_a_search_and_numbers_the_answer_afresh() -> None:
    out = io.StringIO()
    printer = TerminalPrinter(out)
    events = [SearchStart(query="q", round=1, max_searches=3),
              SearchDone(query="q", provider="p", latency_s=0.1, results=(A, B)),
              Answer(text="Draft cites [2] and [7].\n\n"),
              SearchStart(query="r", round=2, max_searches=3),
              SearchDone(query="r", provider="p", latency_s=0.1, results=(C,)),
              *cites_three_before_one()[3:]]
    for event in events:
        printer(event)
    text = out.getvalue()
    assert "Draft cites [1] and [7?]." in text
    assert text.index("Draft") < text.index("(written before a search; not part of the answer)") < text.index(
        "search 2/3")
    assert "Gamma says so [1]. Alpha agrees [2]." in text and "[1] Gamma — " in text


# --------------------------------------------------------------------------- reports


def test_reports_number_in_order_of_first_citation() -> None:
    meta = {"question": "Which?"}
    md = export_runs([(meta, cites_three_before_one())], "md")
    assert "Gamma says so [\\[1\\]](https://c.example/z). Alpha agrees [\\[2\\]](https://a.example/x)." in md
    sources = md[md.index("## Sources"):md.index("## Stats")]
    assert re.findall(r"- \\\[(\d)\\\] \[(\w+)\]", sources) == [("1", "Gamma"), ("2", "Alpha"), ("3", "Beta")]
    assert sources.index("**Cited**") < sources.index("Gamma") < sources.index("**Also found**") < sources.index(
        "Beta")
    # The search's results in the order the search gave them, with the numbers of the chips.
    assert re.findall(r"- \\\[(\d)\\\] \[(\w+)\]", md[:md.index("## Answer")]) == [
        ("2", "Alpha"), ("3", "Beta"), ("1", "Gamma")]
    assert "| Cited | \\[1\\], \\[2\\] |" in md
    assert "The third result [3] looks best." in md  # thinking: the model's own words

    html = export_runs([(meta, cites_three_before_one())], "html")
    assert re.findall(r'<a class="cite" href="#source-(\d)">(\d)</a>', html) == [("1", "1"), ("2", "2"), ("1", "1")]
    assert re.findall(r'<li id="source-(\d)" value="(\d)"><a href="([^"]+)"', html) == [
        ("1", "1", "https://c.example/z"), ("2", "2", "https://a.example/x"), ("3", "3", "https://b.example/y")]
    assert re.findall(r'<li value="(\d)"><a href="([^"]+)"', html) == [
        ("2", "https://a.example/x"), ("3", "https://b.example/y"), ("1", "https://c.example/z")]


def test_a_conversation_export_numbers_each_answer_from_one() -> None:
    follow_up = [SearchStart(query="r", round=1, max_searches=3),
                 SearchDone(query="r", provider="fixture", latency_s=0.1, results=(A, B)),
                 Answer(text="Beta [2], then Alpha [1]."),
                 Done(answer="Beta [2], then Alpha [1].", sources=(A, B), cited=(2, 1), searches=1)]
    runs = [({"question": "Which?"}, cites_three_before_one()), ({"question": "And then?"}, follow_up)]
    md = export_runs(runs, "md")
    second = md[md.index("# And then?"):]
    assert "Beta [\\[1\\]](https://b.example/y), then Alpha [\\[2\\]](https://a.example/x)." in second
    html = export_runs(runs, "html")
    assert '<a class="cite" href="#q2-source-1">1</a>' in html and 'id="q2-source-1"' in html


def test_export_of_a_session_trace_numbers_each_answer_from_one(tmp_path: Path) -> None:
    follow_up = [SearchStart(query="r", round=1, max_searches=3),
                 SearchDone(query="r", provider="fixture", latency_s=0.1, results=(A, B)),
                 Answer(text="Beta [2], then Alpha [1]."),
                 Done(answer="Beta [2], then Alpha [1].", sources=(A, B), cited=(2, 1), searches=1)]
    trace = tmp_path / "session.jsonl"
    write_trace(trace, cites_three_before_one())
    write_trace(trace, follow_up)
    out = tmp_path / "conversation.md"
    assert main(["--export", str(trace), "-o", str(out)]) == 0
    first, second = out.read_text(encoding="utf-8").split("\n---\n")
    assert "Gamma says so [\\[1\\]](https://c.example/z)" in first
    assert "Beta [\\[1\\]](https://b.example/y), then Alpha [\\[2\\]](https://a.example/x)." in second


# --------------------------------------------------------------------------- a conversation


def test_follow_ups_number_from_one_and_the_history_holds_no_numbers() -> None:
    s = settings(max_searches=2)
    rounds = [call("q"), answer(TEXT)]
    backend = ScriptedBackend(rounds=rounds * 2, settings=s)
    table = {"q": [result(1, url="https://a.example/x"), result(2, url="https://b.example/y"),
                   result(3, url="https://c.example/z")]}
    session = ChatSession(settings=s, backend=backend, search=SearchChain([FakeProvider(table)], backoff_s=0.0))
    first = [e for e in session.ask("Which?") if isinstance(e, Done)][0]
    second = [e for e in session.ask("And again?") if isinstance(e, Done)][0]
    assert first.display_numbers == second.display_numbers == {3: 1, 1: 2, 2: 3}
    assert second.cited == (3, 1)
    said = session.history[1][1]
    assert said == "Gamma says so (c.example). Alpha agrees (a.example). Gamma again (c.example)."
    assert not re.search(r"\[\d", " ".join(text for _, text in session.history))
