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
    starts = [s for s, _ in timeline["s"]]
    assert starts == sorted(starts)
    marked = {int(n) for n in re.findall(r'data-ev="(\d+)"', html)}
    assert marked <= set(range(total)) and 0 in marked
    grows = {int(n) for n in re.findall(r'data-grow="(\d+)"', html)}
    assert grows == {g for g in timeline["g"] if g >= 0}
