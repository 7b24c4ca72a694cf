"""The share player: a conversation's runs as one self-contained HTML file that replays them.

The file is the finished conversation, rendered by the HTML report's own functions
(``report_html``: the same escaping, links and citation chips), so it reads without JavaScript.
Each element that appears during the run carries ``data-ev``, the index of the event that
makes it appear; each text that streams (thinking, the answer) carries ``data-grow``. The
timeline holds numbers only -- per event its time within its turn, for a streaming event which
text grows, and per turn its events, parent, the child a switch continues with and its place
among its siblings -- so no recorded text is ever handled by the script as markup: it only hides
and moves rendered elements and shortens their text nodes (``player.js``). Every branch is in the
file (``tree.py``); the script plays one path through them, by default the branch the chat
showed. A strict Content-Security-Policy allows exactly the file's own script and style (by hash) and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..events import Answer, Error, SearchDone, SearchStart, Thinking
from ..records.timed import TimedTurn
from ..records.replay import MAX_REPLAY_PAUSE_S
from ..records.runs import SCRIPTED_BADGE, Run, byline, regroup
from ..records.report_html import CSS, answer_block, escape, search_results, sources_section, stats_section
from ..records.trace import Meta
from .tree import Tree

ASSETS = Path(__file__).resolve().parent
QUESTION_PAUSE_S = 1.0  # between one answer's end and the next question, when replayed


MAX_STRETCH_S = 120.0  # the longest one stretch of thinking or answer takes to type out


@dataclass
class _Timeline:
    """Per event: when it starts and ends (s, from the first), and which text it grows (-1: none)."""

    spans: list[list[float]] = field(default_factory=list)
    grows: list[int] = field(default_factory=list)
    grow_count: int = 0
    end: float = 0.0  # where the previous event ended, on the player's clock
    recorded_end: float = 0.0  # ... and on the recording's

    def next_turn(self) -> None:
        """Each turn's times start at 0: the script lays out the branch it plays (a pause between
        one answer and the next question, ``QUESTION_PAUSE_S``)."""
        self.end = 0.0
        self.recorded_end = 0.0

    def add(self, span: tuple[float, float], *, grows: bool = False) -> tuple[int, int]:
        """(event index, grow id or -1) of the next event; gaps are capped as a replay caps them."""
        first, last = span
        start = self.end + min(max(first - self.recorded_end, 0.0), MAX_REPLAY_PAUSE_S)
        self.end = start + min(max(last - first, 0.0), MAX_STRETCH_S)
        self.recorded_end = max(self.recorded_end, last)
        self.spans.append([round(start, 3), round(self.end, 3)])
        grow = -1
        if grows:
            grow, self.grow_count = self.grow_count, self.grow_count + 1
        self.grows.append(grow)
        return len(self.spans) - 1, grow


def player_html(title: str, turns: Sequence[TimedTurn], *, head: str | None = None) -> str:
    """The player of a conversation: ``turns`` are all its turns, every branch (a parent not
    among them counts as none), in the order they were asked; ``head`` the newest turn of the
    branch the chat showed (None: the last of ``turns``), which the file plays by default.

    Every turn is rendered once (``Tree``): the shown branch in ``main``, then the other turns
    in a section of their own that reads without JavaScript; a turn with siblings carries a
    "◀ 2/3 ▶" switcher whose links lead to them (the script turns a click into a switch).
    """
    if not turns:
        raise ValueError("no turns to play; record at least one answer first")
    tree = Tree.of(turns, head=head)
    timeline = _Timeline()
    articles, table = [], []
    for i, timed in enumerate(tree.turns):
        timeline.next_turn()
        first = len(timeline.spans)
        anchor = f"q{i + 1}-" if i < tree.shown else f"t{i + 1}-"
        articles.append(_turn(timed, timeline, anchor=anchor, number=i, tree=tree))
        siblings = tree.siblings(i)
        table.append([first, len(timeline.spans) - first, tree.parent[i], tree.follow[i], siblings.index(i) + 1])
    data = json.dumps({"s": timeline.spans, "g": timeline.grows, "t": table, "q": QUESTION_PAUSE_S},
                      separators=(",", ":"))
    script = (ASSETS / "player.js").read_text(encoding="utf-8")
    style = CSS + (ASSETS / "player.css").read_text(encoding="utf-8")
    csp = (f"default-src 'none'; script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; "
           "img-src 'none'; base-uri 'none'; form-action 'none'")
    controls = (ASSETS / "controls.html").read_text(encoding="utf-8").strip()
    others = ""
    if len(articles) > tree.shown:
        others = ('<section id="branches" aria-labelledby="branches-title"><h2 id="branches-title" class="where">'
                  'Other branches</h2><p class="meta where">Each question below was asked on another branch of '
                  'this conversation; its ◀ ▶ links lead to the branches beside it.</p>'
                  f'{"".join(articles[tree.shown:])}</section>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{style}</style></head>\n"
        f'<body><main id="conversation">{"".join(articles[:tree.shown])}</main>{others}\n{controls}\n'
        f'<script type="application/json" id="timeline">{data}</script>\n'
        f"<script>{script}</script></body></html>\n"
    )


def _turn(timed: TimedTurn, timeline: _Timeline, *, anchor: str, number: int, tree: Tree) -> str:
    events = list(timed.turn.events)
    run = regroup(events)
    numbers = run.numbers
    last_search = max((i for i, e in enumerate(events) if isinstance(e, SearchStart)), default=-1)
    final = max((i for i, e in enumerate(events) if isinstance(e, Answer) and i > last_search), default=None)
    parts: list[str | int] = []  # an int: the slot for the results of the search that event started
    searches: dict[int, str] = {}
    open_search: int | None = None
    answer = (-1, len(timeline.spans) + len(events) - 1)  # (grow id, event it appears at)
    for i, (span, event) in enumerate(zip(timed.times, events)):
        index, grow = timeline.add(span, grows=isinstance(event, (Thinking, Answer)))
        match event:
            case Answer() if i == final:
                answer = (grow, index)
            case Thinking(text=text) | Answer(text=text):
                label = "Thinking…" if isinstance(event, Thinking) else "Written before a search"
                parts.append(f'<details class="thinking" data-ev="{index}"><summary>{label}</summary>'
                             f'<div class="pre" data-grow="{grow}">{escape(text)}</div></details>')
            case SearchStart():
                open_search = index
                parts += [f'<section class="search" data-ev="{index}">'
                          f'<h3>Search {event.round}/{event.max_searches}: {escape(event.query)}</h3>',
                          index, "</section>"]
            case SearchDone():
                key = open_search if open_search is not None and open_search not in searches else None
                if key is None:  # results with no start recorded (an old trace): their own section
                    key = index
                    parts += [f'<section class="search" data-ev="{index}"><h3>Search: {escape(event.query)}</h3>',
                              index, "</section>"]
                searches[key] = _results(event, numbers, index)
                open_search = None
            case Error():
                parts.append(f'<p class="error" data-ev="{index}">Error: {escape(event.message)}</p>')
    unfinished = '<p class="meta">did not finish</p>'
    body = "".join(p if isinstance(p, str) else searches.get(p, unfinished) for p in parts)
    head = _header(timed, number, tree)
    return _article(timed.meta, run, body, head=head, index=number, answer=answer, anchor=anchor,
                    end=len(timeline.spans) - 1)


def _results(done: SearchDone, numbers: dict[int, int], index: int) -> str:
    meta = f'<p class="meta" data-ev="{index}">{escape(done.provider)} · {done.latency_s:.2f} s</p>'
    if done.error:
        return meta + f'<p class="error" data-ev="{index}">Search failed: {escape(done.error)}</p>'
    if not done.results:
        return meta + f'<p class="meta" data-ev="{index}">No results.</p>'
    return meta + search_results(done, numbers).replace("<ol>", f'<ol data-ev="{index}">', 1)


def _header(timed: TimedTurn, index: int, tree: Tree) -> str:
    """The question, its byline, and for a turn with siblings its "◀ 2/3 ▶" switcher; a turn off
    the shown branch also says, for a reader without JavaScript, where it belongs."""
    meta = timed.meta
    badge = f'<p><span class="badge">{SCRIPTED_BADGE}</span></p>' if meta.get("scripted") else ""
    siblings = tree.siblings(index)
    depth = tree.depth(index)
    switcher = _switcher(siblings, index, depth) if len(siblings) > 1 else ""
    where = ""
    if index >= tree.shown:
        parent = tree.parent[index]
        after = (f' after “{escape(tree.turns[parent].turn.question)}”' if parent >= 0 else "")
        place = f"Question {depth}, branch {siblings.index(index) + 1} of {len(siblings)}"
        where = f'<p class="meta where">{place}{after}.</p>'
    fork = meta.get("fork")
    forked = ""
    if isinstance(fork, dict) and isinstance(fork.get("trace"), str):
        forked = (f'<p class="meta">A branch of {escape(fork["trace"])}, continued from its event '
                  f'{escape(fork.get("at", "?"))}.</p>')
    return (f'<header>{badge}{where}<h1 class="question">{escape(meta.get("question", ""))}</h1>'
            f'<p class="meta">{escape(byline(meta))}</p>{forked}{switcher}</header>')


def _switcher(siblings: list[int], index: int, depth: int) -> str:
    place = siblings.index(index)
    return (f'<nav class="branches" aria-label="Branches of question {depth}">'
            f'{_arrow("prev", "Previous branch", siblings[place - 1] if place > 0 else None)}'
            f'<span class="branch-n"><span class="sr-only">Branch </span>{place + 1}/{len(siblings)}</span>'
            f'{_arrow("next", "Next branch", siblings[place + 1] if place + 1 < len(siblings) else None)}</nav>')


def _arrow(side: str, name: str, to: int | None) -> str:
    mark = "◀" if side == "prev" else "▶"
    if to is None:  # the first or last branch: a dimmed arrow, no control
        return f'<span class="branch-{side} off" aria-hidden="true">{mark}</span>'
    return (f'<a class="branch-{side}" href="#turn-{to + 1}" data-to="{to}" aria-label="{name}" '
            f'title="{name}">{mark}</a>')


def _article(meta: Meta, run: Run, body: str, *, head: str, index: int, answer: tuple[int, int], anchor: str,
             end: int) -> str:
    grow, start = answer
    if run.answer.strip():
        shown = answer_block(run.answer.strip(), run.numbers, anchor)
        grows = f' data-grow="{grow}"' if grow >= 0 else ""
        text = f'<div class="markdown"{grows}>{shown}</div>'
    else:
        text = '<p class="meta">No answer was given.</p>'
    stopped = ('<p><span class="badge stopped">Stopped before the end</span></p>'
               if run.done is not None and run.done.stopped else "")
    tail = f'<div class="after" data-ev="{end}">{sources_section(run, anchor)}{stats_section(run)}</div>'
    return (f'<article class="turn" id="turn-{index + 1}" data-turn="{index}">{head}'
            f'<section class="run">{body}</section>'
            f'<section class="answer" data-ev="{start}"><h2>Answer</h2>{stopped}{text}</section>'
            f"{tail}</article>")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
