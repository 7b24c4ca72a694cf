"""The share player's file: size, escaping, and the timeline matching the rendered events."""

from __future__ import annotations

import json
import re

from agent.player import player_html
from agent.records.timed import turns_from_runs
from devtools.conversations import HOSTILE, synthetic_run


def _html(**kwargs) -> str:
    runs = [synthetic_run(f"Question {i}", **kwargs) for i in range(3)]
    return player_html("Question 0", turns_from_runs(runs))


def test_three_questions_with_fifteen_sources_stay_under_a_megabyte_and_a_half():
    html = _html(searches=1, results=5, thinking_tokens=3000, answer_tokens=600)
    assert len(html.encode("utf-8")) < 1.5 * 1024 * 1024
    assert html.count('class="turn"') == 3 and len(re.findall(r'<li[^>]*value="\d+"', html)) >= 30


def test_hostile_text_is_escaped_everywhere_by_the_reports_renderer():
    html = _html(hostile=True)
    body = html.split("<body>", 1)[1]
    assert HOSTILE not in body and "<img" not in body and 'href="javascript:' not in body
    assert body.count("<script") == 2  # the timeline's JSON and the player's own script
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in body


def test_every_event_has_a_step_and_every_step_something_to_show():
    html = _html(searches=2, results=2)
    timeline = json.loads(re.search(r'<script type="application/json" id="timeline">(.*?)</script>', html).group(1))
    total = len(timeline["s"])
    assert total == len(timeline["g"]) and total > 0
    turns = timeline["t"]
    assert [t[0] for t in turns] == [0, turns[0][1], turns[0][1] + turns[1][1]] and sum(t[1] for t in turns) == total
    for first, count, *_ in turns:  # each turn's times start at 0 and run forward
        starts = [s for s, _ in timeline["s"][first:first + count]]
        assert starts == sorted(starts) and starts[0] < 1
    marked = {int(n) for n in re.findall(r'data-ev="(\d+)"', html)}
    assert marked <= set(range(total)) and 0 in marked
    grows = {int(n) for n in re.findall(r'data-grow="(\d+)"', html)}
    assert grows == {g for g in timeline["g"] if g >= 0}


def _forked_conversation():
    """Q1 -> Q2 asked twice (a fork of its second search, then a regenerate), Q3 after the first Q2."""
    runs = [synthetic_run("Q1"), synthetic_run("Q2", searches=2), synthetic_run("Q2 again", answer_tokens=5),
            synthetic_run("Q2 third", answer_tokens=6), synthetic_run("Q3 after the first")]
    turns = turns_from_runs(runs[:2])
    for meta, timed in runs[2:4]:
        sibling = turns_from_runs([(meta, timed)])[0]
        sibling.turn.parent = turns[0].turn.id
        turns.append(sibling)
    follow_up = turns_from_runs([runs[4]])[0]
    follow_up.turn.parent = turns[1].turn.id
    return [*turns, follow_up]


def test_every_branch_is_in_the_file_and_the_shown_one_reads_first():
    turns = _forked_conversation()
    html = player_html("Q1", turns, head=turns[2].turn.id)  # "Q2 again" was shown
    shown, others = html.split('<section id="branches"', 1)
    questions = re.findall(r'<h1 class="question">([^<]*)</h1>', shown)
    assert questions == ["Q1", "Q2 again"]
    assert re.findall(r'<h1 class="question">([^<]*)</h1>', others) == ["Q2", "Q3 after the first", "Q2 third"]
    # Read without JavaScript, each other branch says where it belongs and links to its siblings.
    assert "Question 2, branch 1 of 3 after “Q1”." in others and "Question 3, branch 1 of 1 after “Q2”." in others
    assert '<span class="sr-only">Branch </span>2/3' in shown
    assert re.search(r'href="#turn-(\d+)" data-to="\d+" aria-label="Previous branch"', shown)
    for target in re.findall(r'href="#turn-(\d+)"', html):
        assert f'id="turn-{target}"' in html  # every switcher link leads to a turn in the file
    timeline = json.loads(re.search(r'id="timeline">(.*?)</script>', html).group(1))
    table = timeline["t"]
    assert [t[2] for t in table] == [-1, 0, 0, 2, 0]  # parents: file order is Q1, Q2 again, Q2, Q3, Q2 third
    assert table[0][3] == 1 and table[2][3] == 3  # a switch to Q2 goes on with its own follow-up
    assert [t[4] for t in table] == [1, 2, 1, 1, 3]  # each turn's place among its siblings, as asked


def test_a_conversation_with_branches_stays_within_the_size_bound():
    runs = [synthetic_run(f"Question {i}", searches=1, results=5, thinking_tokens=3000, answer_tokens=600)
            for i in range(3)]
    turns = turns_from_runs(runs)
    sibling = turns_from_runs([synthetic_run("Question 2 again", searches=1, results=5, thinking_tokens=1000,
                                             answer_tokens=300)])[0]
    sibling.turn.parent = turns[1].turn.id
    html = player_html("Question 0", [*turns, sibling], head=turns[2].turn.id)
    assert html.count('class="turn"') == 4 and len(html.encode("utf-8")) < 1.5 * 1024 * 1024


def test_a_fork_traces_player_says_where_it_came_from():
    meta, timed = synthetic_run("Forked")
    meta["fork"] = {"trace": "<b>orig</b>.jsonl", "run": 0, "at": 7, "event": 7}
    html = player_html("Forked", turns_from_runs([(meta, timed)]))
    assert "A branch of &lt;b&gt;orig&lt;/b&gt;.jsonl, continued from its event 7." in html


def test_a_hostile_or_looped_record_still_makes_a_safe_file():
    turns = _forked_conversation()
    turns[0].turn.question = HOSTILE
    html = player_html("Q1", turns, head=turns[2].turn.id)
    assert HOSTILE not in html and "after “&lt;script&gt;window.pwned=1&lt;/script&gt;" in html
    looped = turns_from_runs([synthetic_run("A"), synthetic_run("B")])
    looped[0].turn.parent = looped[1].turn.id  # a damaged record: each turn the other's parent
    html = player_html("A", looped, head=looped[1].turn.id)
    assert html.count('class="turn"') == 2
