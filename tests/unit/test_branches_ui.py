"""The chat's branch controls without a browser: the switcher and Continue from here as the chat
draws them, the actions the page sends back (forged ones refused), where a fork starts, and the
branch the model remembers after a switch."""

from __future__ import annotations

import re

import pytest

from agent.api import (Answer, Conversation, Done, ReadDone, ReadStart, RunStats, SearchDone, SearchStart, SourceRef,
                       Thinking)
from ui.branch_events import _chat_above, fork_point
from ui.branch_links import BranchAction, fork_link, parse_action, switcher
from ui.branches import TurnViews, chat_before, path_messages, show_branch, turn_bar, with_bar

SOURCE = SourceRef(id=1, title="Eiffel Tower", url="https://example.org/eiffel")


def answered(record: Conversation, question: str, answer: str):
    turn = record.begin(question)
    for event in (Thinking(text="Let me search."), SearchStart(query="height", round=1, max_searches=3),
                  SearchDone(query="height", provider="fixture", latency_s=0.1, results=(SOURCE,)),
                  Thinking(text="Found it."), Answer(text=answer),
                  Done(answer=answer, sources=(SOURCE,), cited=(1,), searches=1,
                       stats=RunStats())):
        turn.add(event)
    return turn


def record_with_branches() -> tuple[Conversation, list]:
    """Q1 -> (A, B, C): three branches of the second question, C shown."""
    record = Conversation(keep_branches=True)
    first = answered(record, "Q1", "One [1].")
    branches = []
    for text in ("A [1].", "B [1].", "C [1]."):
        record.head = first.id
        branches.append(answered(record, "Q2", text))
    return record, [first, *branches]


def content(message) -> str:
    if isinstance(message, str):
        return message
    return message.content if isinstance(message.content, str) else str(message.content)


@pytest.mark.parametrize("text, expected", [
    ("show:t0123456789ab", BranchAction(kind="show", turn="t0123456789ab")),
    ("fork:t0123456789ab:q", BranchAction(kind="fork", turn="t0123456789ab")),
    ("fork:tab:s2", BranchAction(kind="fork", turn="tab", step=("search", 2))),
    ("fork:tab:r0", BranchAction(kind="fork", turn="tab", step=("read", 0))),
])
def test_the_actions_a_control_sends_are_read_back(text, expected):
    assert parse_action(text) == expected


@pytest.mark.parametrize("text", ["", None, 42, "show:", "show:t1 extra", "fork:t1", "fork:t1:x3", "fork:t1:s",
                                  "show:../../etc", "show:<script>", "fork:t1:s99999", "delete:t1", "show:" + "t" * 41])
def test_any_other_value_from_the_page_is_no_action(text):
    assert parse_action(text) is None


def test_the_switcher_names_its_controls_for_screen_readers_and_links_to_the_neighbours():
    html = switcher(position=2, count=3, previous="ta", following="tc")
    assert '<span class="sr-only">Previous branch</span>' in html and "Next branch" in html
    assert 'href="#ds-branch-ta"' in html and 'href="#ds-branch-tc"' in html
    assert '<span class="sr-only">Branch </span>2/3' in html
    assert "aria-" not in html  # the chat's sanitiser would strip it: hidden text names them instead
    first = switcher(position=1, count=2, previous=None, following="tb")
    assert "#ds-branch-" in first and first.count("<a ") == 1  # no control leads before the first


def test_a_turn_id_that_cannot_come_back_as_an_action_gets_no_control():
    hostile = 'x" onmouseover="alert(1)'
    assert fork_link(hostile, "q") == ""
    assert "<a " not in switcher(position=1, count=2, previous=None, following=hostile)
    assert fork_link("t1", "s0") == '<a class="ds-fork" href="#ds-fork-t1-s0">Continue from here</a>'


def test_the_bar_shows_the_position_among_branches_and_continue_on_earlier_questions():
    record, (first, a, b, c) = record_with_branches()
    bar = content(turn_bar(record, c, earlier=False))
    assert "3/3" in bar and f"#ds-branch-{b.id}" in bar and f"#ds-fork-{c.id}-q" not in bar  # the last question
    middle = content(turn_bar(record, b, earlier=False))
    assert "2/3" in middle and f"#ds-branch-{a.id}" in middle and f"#ds-branch-{c.id}" in middle
    assert turn_bar(record, c, earlier=False, running=True).count("<a ") == 0  # inert while it runs
    assert f"#ds-fork-{first.id}-q" in content(turn_bar(record, first, earlier=True))
    single = Conversation()
    alone = single.begin("asked once")
    assert turn_bar(single, alone, earlier=False) is None  # one branch, no step, the last question: nothing
    assert turn_bar(record, first, earlier=False, running=True) is None


def test_switching_shows_that_branch_and_the_model_remembers_it():
    record, (first, a, b, c) = record_with_branches()
    assert show_branch(record, a.id)
    assert [t.id for t in record.path()] == [first.id, a.id]
    assert record.memory(max_turns=5)[-1] == ("assistant", "A (example.org).")
    follow = answered(record, "Q3", "Three [1].")  # a follow-up continues the branch shown
    assert follow.parent == a.id
    show_branch(record, c.id)
    show_branch(record, a.id)
    assert record.head == follow.id  # back to where that branch was left
    assert not show_branch(record, "tnope")


def test_the_chat_of_the_branch_shown_has_every_question_its_bar_and_answer():
    record, (first, a, b, c) = record_with_branches()
    show_branch(record, b.id)
    chat = path_messages(record, TurnViews(), record.path(), max_searches=3, secrets=())
    texts = [content(m) for m in chat]
    assert [m.content for m in chat if m.role == "user"] == ["Q1", "Q2"]
    assert any("2/3" in t for t in texts) and any(f"#ds-fork-{first.id}-q" in t for t in texts)
    assert any("B " in t for t in texts) and not any("A " in t or "C " in t for t in texts)
    searches = [content(m) for m in chat if (m.metadata or {}).get("title", "").startswith("Searched")]
    # each finished search panel offers to continue after it, in its own turn
    assert f"#ds-fork-{first.id}-s0" in searches[0] and f"#ds-fork-{b.id}-s0" in searches[1]


def test_the_bar_is_part_of_the_answers_message_never_a_message_of_its_own():
    record, (first, a, b, c) = record_with_branches()
    show_branch(record, b.id)
    views = TurnViews()
    chat = path_messages(record, views, record.path(), max_searches=3, secrets=())
    plain = [m for t in record.path() for m in [views.shown[t.id][0], *views.shown[t.id][1]]]
    assert len(chat) == len(plain)  # the same messages the answers have: the bar adds none
    answers = [m for m in chat if m.role == "assistant" and not (m.metadata or {}).get("title")]
    assert len(answers) == 2 and "One [" not in content(answers[0])
    assert content(answers[1]).rstrip().endswith("</div>") and "2/3" in content(answers[1])
    assert content(answers[1]).index("B ") < content(answers[1]).index('class="ds-turn-bar')
    assert f"#ds-fork-{first.id}-q" in content(answers[0])  # the earlier question, at its answer's foot
    # An answer with no text (stopped before it wrote any): the bar goes into its open panel once
    # it ended (Gradio opens a panel whose status is not "done"), never into a message of its own.
    thought = {"role": "assistant", "content": "hm", "metadata": {"title": "Thought", "status": "done"}}
    panel = {"role": "assistant", "content": "stopped", "metadata": {"title": "Stopped"}}
    stats = {"role": "assistant", "content": "n", "metadata": {"title": "Stats", "status": "done"}}
    bar = '<div class="ds-turn-bar ds-extra">x</div>'
    assert with_bar([thought, panel, stats], bar, ended=False) == [thought, panel, stats]
    ended = with_bar([thought, panel, stats], bar)
    assert len(ended) == 3 and ended[1]["content"] == f"stopped\n\n{bar}" and ended[2] == stats
    assert with_bar([thought], bar) == [{**thought, "content": f"hm\n\n{bar}"}]  # no open panel: the last


def test_every_step_can_be_continued_from_the_answers_foot_without_opening_its_panel():
    record, (first, a, b, c) = record_with_branches()
    bar = turn_bar(record, first, earlier=False)
    assert f'href="#ds-fork-{first.id}-s0"' in bar and '<span class="sr-only">Continue from here after </span>' \
        'Search 1</a>' in bar
    assert 'title="height"' in bar  # what the step looked up
    turn = Conversation().begin("Q")
    for event in (SearchStart(query='x" onclick="alert(1)', round=1, max_searches=3),
                  SearchDone(query="x", provider="fixture", latency_s=0.1, results=(SOURCE,)),
                  Thinking(text="Open it."), ReadStart(id=1, url=SOURCE.url, title="Eiffel <b>Tower</b>"),
                  ReadDone(id=1, url=SOURCE.url, title="Eiffel Tower", bytes=10, latency_s=0.1),
                  Answer(text="x"), Done(answer="x", sources=(SOURCE,), cited=(), searches=1, stats=RunStats())):
        turn.add(event)
    steps = turn_bar(Conversation(turns={turn.id: turn}, head=turn.id), turn, earlier=False)
    assert steps.count("ds-fork ds-step") == 2 and "-r0" in steps and "Read 1" in steps
    assert 'onclick="' not in steps and "<b>" not in steps  # the query and title stay text


def test_the_browsers_own_chat_stays_when_the_record_does_not_hold_it():
    record = Conversation(keep_branches=True)
    turn = record.begin("asked after a restart")
    shown = [{"role": "user", "content": "an older question"}, {"role": "assistant", "content": "its answer"}]
    assert chat_before(record, TurnViews(), turn, shown, max_searches=3, secrets=()) == shown
    assert chat_before(record, TurnViews(), turn, [], max_searches=3, secrets=()) == []


def test_a_fork_starts_after_the_step_whose_panel_was_used():
    record = Conversation(keep_branches=True)
    turn = answered(record, "Q", "Done [1].")
    assert fork_point(turn, None) == 0
    assert fork_point(turn, ("search", 0)) == 3  # the thinking after the search's results
    assert fork_point(turn, ("search", 1)) is None and fork_point(turn, ("read", 0)) is None
    read = record.begin("R")
    for event in (Thinking(text="Open it."), ReadStart(id=1, url=SOURCE.url, title="Eiffel"),
                  ReadDone(id=1, url=SOURCE.url, latency_s=0.2), Answer(text="Read."),
                  Done(answer="Read.", sources=(), stats=RunStats())):
        read.add(event)
    assert fork_point(read, ("read", 0)) == 3


def test_the_chat_above_a_question_is_cut_at_that_question():
    chat = [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"},
            {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}]
    assert _chat_above(chat, 0) == [] and _chat_above(chat, 1) == chat[:2] and _chat_above(chat, 5) == chat


def test_the_share_file_holds_every_branch_and_shows_the_one_the_chat_showed():
    from agent.api import TimedTurn, player_html
    from agent.history.store import Saved, Summary

    record, (first, a, b, c) = record_with_branches()
    timed = {t.id: TimedTurn(turn=t, times=[(0.0, 0.0)] * len(t.events)) for t in record.turns.values()}
    saved = Saved(summary=Summary(id="c1", title="Q1", created=0, updated=0, turns=4, bytes=0, shared=False),
                  turns=timed, head=b.id)
    assert saved.branches() == [(1, 1), (2, 3)]
    html = player_html("Q1", list(saved.turns.values()), head=saved.head)
    shown, others = html.split('<section id="branches"', 1)
    assert re.findall(r'<div class="markdown"[^>]*><p>(\w+) ', shown) == ["One", "B"]  # the branch shown first
    assert re.findall(r'<div class="markdown"[^>]*><p>(\w+) ', others) == ["A", "C"]  # then the others
    assert html.count('<nav class="branches"') == 3  # one switcher per branch of the second question
    assert '<span class="sr-only">Branch </span>2/3' in shown
    assert shown.count('aria-label="Previous branch"') == 1 and shown.count('aria-label="Next branch"') == 1
