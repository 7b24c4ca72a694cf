"""Engine events -> ``gr.ChatMessage``s: the whole of what an answer looks like.

``AnswerView`` accumulates the events of one answer and renders them as panels,
in event order: Thinking, one Search panel per query, the next Thinking ...,
the answer (Markdown, ``[n]`` as chips), Sources, a collapsed Stats panel. It is
incremental: text is kept as lists of deltas and a block is re-rendered only
when it changed, so a long answer costs one join per UI update, not per token.
No decisions are made here; the engine's events are the truth.

Numbers: the model cites the engine's ids; a person sees each answer's own numbers
(``display_numbering``). While the answer streams, a source gets the next number when it is
first cited, and a number on screen never changes; at ``done`` the final numbering
(``Done.display_numbers``) applies to the whole message: chips, cards, Sources and the numbers
in the Search panels. Text written before a later search can cite only the sources found
before it was written; any other number in it is an invalid citation.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable

import gradio as gr
from gradio.components.chatbot import MetadataDict

from agent.api import (Answer, Done, Error, Event, ReadDone, ReadStart, SearchDone, SearchStart, SourceRef,
                       Thinking, display_numbering, has_claims_to_judge, redact)

from .citations import citation_target, document_passage, link_citations, neutralise, new_answer_scope
from .branch_links import fork_link
from .claims_view import flagged, render_marked, summary_html
from .notices import visitor_markdown
from .reads import reading_phase, render_read
from .search_panel import render_search
from .text_block import Block, BlockKind, ReadBlock, SearchBlock
from .source_list import read_passages, source_card, source_line
from .stats import CUT_SHORT, end_of, format_stats
from .titles import (DRAFT_TITLE, ERROR_TITLE, NO_ANSWER_TITLE, SOURCES_TITLE, STATS_TITLE, STOPPED_TEXT,
                     STOPPED_TITLE, THINKING_TITLE, thought_title)
from .titles import _provider_words as _provider_words
from .titles import provider_name as provider_name
from .titles import REPLAY_STOPPED_TEXT as REPLAY_STOPPED_TEXT

class AnswerView:
    """The messages of one answer, built up from its events."""

    def __init__(self, *, max_searches: int, clock: Callable[[], float] = time.monotonic,
                 label: str | None = None, secrets: Iterable[str | None] = (),
                 stopped_text: str = STOPPED_TEXT, scope: str | None = None) -> None:
        self.max_searches = max_searches
        # Names this answer's passage anchors for as long as it is rendered (every frame).
        self.scope = scope or new_answer_scope()
        self.stopped_text = stopped_text  # a replay says the recording was stopped, not "you"
        self.clock = clock
        self.label = label
        self.secrets = [s for s in secrets if s]
        self.blocks: list[Block] = []
        self.sources: dict[int, SourceRef] = {}
        self.live: dict[int, int] = {}  # display numbers given while the answer streams
        self.searches = 0
        self.done: Done | None = None
        self.error: str | None = None
        self.stopped = False
        self.notice: Block | None = None
        self.check_note: str | None = None  # the model check's word when it could not run
        self._tail: list[gr.ChatMessage] | None = None  # sources, stats, error, stopped
        self._started = clock()
        # The record turn this answer is, once its run has ended: its Search and Read panels then
        # offer "Continue from here" (ui/branches.py).
        self.fork_turn: str | None = None
        # The same turn, when its summary line offers "Check with the model" (ui/model_check.py).
        self.check_turn: str | None = None

    # -- feeding -----------------------------------------------------------

    def feed(self, event: Event, at: float | None = None) -> None:
        """Add ``event``, which happened at ``at`` on this view's clock (default: now)."""
        now = self.clock() if at is None else at
        match event:
            case Thinking(text=text):
                block = self._last("thinking")
                if block is None:
                    self._close_thinking(now)
                    block = Block(kind="thinking", started=now)
                    self.blocks.append(block)
                block.parts.append(text)
                block.dirty = True
            case Answer(text=text):
                self._close_thinking(now)
                block = self._last("answer")
                if block is None:
                    block = Block(kind="answer", started=now, known=frozenset(self.sources))
                    self.blocks.append(block)
                block.parts.append(text)
                block.dirty = True
            case SearchStart():
                self._close_thinking(now)
                self.searches = max(self.searches, event.round)
                self.max_searches = event.max_searches
                self.blocks.append(SearchBlock(started=now, start=event))
            case SearchDone():
                self._close_thinking(now)
                self._search_done(event, now)
            case ReadStart():
                self._close_thinking(now)
                self.blocks.append(ReadBlock(started=now, read_start=event))
            case ReadDone():
                self._read_done(event, now)
            case Error(message=message):
                self._close_thinking(now)
                self._close_pending(now)
                self.error = self._redact(message)
                self._tail = None
            case Done():
                self._close_thinking(now)
                self.done = event
                self._settle_answer(event, now)
                self.stopped = self.stopped or event.stopped
                self._close_pending(now)
                self.searches = max(self.searches, event.searches)
                self.sources.update({s.id: s for s in event.sources})
                self._renumbered()
                self._tail = None

    def _search_done(self, event: SearchDone, now: float) -> None:
        block = next((b for b in reversed(self.blocks) if isinstance(b, SearchBlock)
                      and b.done is None and b.start.query == event.query), None)
        if block is None:  # a done without its start (a hand-written trace)
            self.searches += 1
            block = SearchBlock(started=now, start=SearchStart(
                query=event.query, round=self.searches, max_searches=self.max_searches))
            self.blocks.append(block)
        block.done, block.ended, block.dirty = event, now, True
        self.sources.update({s.id: s for s in event.results})

    def _read_done(self, event: ReadDone, now: float) -> None:
        block = next((b for b in self.blocks if isinstance(b, ReadBlock) and b.read_done is None
                      and b.read_start.id == event.id and b.read_start.url == event.url), None)
        if block is None:  # a done without its start
            block = ReadBlock(started=now, read_start=ReadStart(id=event.id, url=event.url, title=event.title))
            self.blocks.append(block)
        block.read_done, block.ended, block.dirty = event, now, True

    def feed_all(self, events: Iterable[Event]) -> "AnswerView":
        for event in events:
            self.feed(event)
        return self

    def set_notice(self, title: str | None, text: str = "") -> None:
        """A status panel above the answer (e.g. 'loading the model'); None removes it."""
        self.notice = None if title is None else Block(kind="notice", title=title, parts=[text])

    def recheck(self, done: Done, *, note: str | None = None) -> None:
        """The same answer with its claims checked again (the model check on request): its
        underlines and summary line are drawn afresh; ``note`` says why the check did not run."""
        self.done, self.check_note, self._tail = done, note, None
        block = self._last("answer")
        if block is not None:
            block.dirty = True

    def mark_stopped(self) -> None:
        """Stopped from the UI before the engine said so: close what is open."""
        self._close_thinking(self.clock())
        self.stopped, self._tail = True, None
        self._close_pending(self.clock())

    def _close_pending(self, now: float) -> None:
        """Searches and reads still running when the run ended (Stop) render as stopped."""
        for block in self.blocks:
            if (isinstance(block, SearchBlock) and block.done is None) or \
                    (isinstance(block, ReadBlock) and block.read_done is None):
                block.ended, block.dirty = now, True

    def allow_forks(self, turn_id: str) -> None:
        """The run has ended: each Search and Read panel offers a branch from that step."""
        self.fork_turn = turn_id
        self._dirty("search")
        self._dirty("read")

    def offer_check(self, turn_id: str) -> None:
        """The run has ended on a backend that offers the model check: the summary line under the
        answer links to it while the answer has claims to judge (``has_claims_to_judge``)."""
        self.check_turn = turn_id
        block = self._last("answer")
        if block is not None:
            block.dirty = True

    @property
    def finished(self) -> bool:
        return self.done is not None or self.error is not None

    # -- rendering ---------------------------------------------------------

    def messages(self) -> list[gr.ChatMessage]:
        out: list[gr.ChatMessage] = []
        if self.notice is not None:
            out.append(gr.ChatMessage(content=self.notice.text() or "…", metadata={
                "title": self.notice.title, "status": "pending"}))
        # Answers first: a citation first seen there numbers a Search panel's result in this frame.
        for block in sorted(self.blocks, key=lambda b: b.kind != "answer"):
            if block.dirty or block.cached is None:
                block.cached = self._render(block)
                block.dirty = False
        out += [block.cached for block in self.blocks if block.cached is not None]
        if self._tail is None:
            self._tail = self._render_tail()
        return out + self._tail

    def meter(self) -> str:
        text = f"searches {self.searches}/{self.max_searches}"
        if self.error is not None:
            return f"{text} · error"
        if self.stopped:
            return f"{text} · stopped"
        if self.done is not None:
            end = end_of(self.done)
            if end in CUT_SHORT:
                return f"{text} · {CUT_SHORT[end][1]}"
            return f"{text} · done in {self.done.stats.total_s:.1f} s"
        pending = sum(1 for b in self.blocks if isinstance(b, ReadBlock) and b.read_done is None)
        if pending:
            return f"{text} · {reading_phase(pending)}"
        last: BlockKind = self.blocks[-1].kind if self.blocks else "thinking"
        phase = {"search": "searching…", "answer": "writing the answer…"}.get(last, "thinking…")
        return f"{text} · {phase}"

    def _render(self, block: Block) -> gr.ChatMessage | None:
        if block.kind == "thinking":
            text = block.markdown(neutralise)
            if not text:
                return None
            meta: MetadataDict = {"title": THINKING_TITLE, "status": "pending"}
            if block.ended is not None or self.finished or self.stopped:
                meta["title"] = thought_title((block.ended or self.clock()) - block.started)
                meta["status"] = "done"
            return gr.ChatMessage(content=text, metadata=self._labelled(block, meta))
        if isinstance(block, ReadBlock):
            message = render_read(block.read_start, block.read_done, finished=self.finished, stopped=self.stopped)
            return gr.ChatMessage(content=self._forkable(block, str(message.content)),
                                  metadata=self._labelled(block, message.metadata))
        if isinstance(block, SearchBlock):
            message = render_search(block.start, block.done, ended=self.stopped or self.finished,
                                    numbers=self.numbers, redact=self._redact)
            return gr.ChatMessage(content=self._forkable(block, str(message.content)),
                                  metadata=self._labelled(block, message.metadata))
        marks = flagged(self.done) if block is self._last("answer") else []
        if marks:  # the final answer, whole, with its unsupported sentences underlined
            text = render_marked(block.text().strip(), marks, lambda part: self._link(block, neutralise(part)))
        else:
            text = block.markdown(lambda part: self._link(block, neutralise(part)))
        if block.kind == "draft":
            return gr.ChatMessage(content=text, metadata={"title": DRAFT_TITLE, "status": "done"}) if text else None
        if block is self._last("answer") and self.done is not None:
            text += self._answer_extras(self.done)
        return gr.ChatMessage(content=text) if text else None

    def numbers(self) -> dict[int, int]:
        """Source id -> the number shown: the final numbering once done, else the live one."""
        return self.done.display_numbers if self.done is not None else self.live

    def _link(self, block: Block, text: str) -> str:
        """``text`` of an answer (or draft) block with its citations as chips."""
        if "[" not in text:
            return text
        known = self.sources.keys() if block.known is None else block.known
        if self.done is None:
            live = display_numbering(text, known, taken=self.live, uncited=False)
            if len(live) > len(self.live):
                self.live = live
                self._dirty("search")  # their result lists show the new number
        numbers = self.numbers()
        if block.known is not None:
            numbers = {h: n for h, n in numbers.items() if h in block.known}
        return link_citations(text, self.sources, numbers, scope=self.scope)

    def _forkable(self, block: Block, content: str) -> str:
        """A finished step's panel, with "Continue from here" once the run has ended."""
        ended = block.done is not None if isinstance(block, SearchBlock) else \
            isinstance(block, ReadBlock) and block.read_done is not None
        if self.fork_turn is None or not ended:
            return content
        ordinal = [b for b in self.blocks if b.kind == block.kind].index(block)
        return content + "\n\n" + fork_link(self.fork_turn, f"{block.kind[0]}{ordinal}")

    def _labelled(self, block: Block, meta: MetadataDict) -> MetadataDict:
        """The demo/replay label, once per answer: on its first panel."""
        if self.label and self.blocks and block is self.blocks[0]:
            meta = {**meta, "log": self.label}
        return meta

    def _answer_extras(self, done: Done) -> str:
        """Source cards and, for a cut-off answer, why: HTML under the answer, never part of the record."""
        numbers = self.numbers()
        extras = ""
        cards = "".join(source_card(self.sources[h], numbers[h], self.scope) for h in self._cited(done)
                        if citation_target(self.sources[h], self.scope))
        if cards:
            extras += f'\n\n<div class="ds-extra source-cards">{cards}</div>'
        check = self.check_turn if has_claims_to_judge(done) else None
        extras += summary_html(done, note=self.check_note, check_turn=check)
        end = end_of(done)
        if end in CUT_SHORT and end != "no_answer":
            extras += f'\n\n<div class="ds-extra answer-note">⚠ {CUT_SHORT[end][0]}</div>'
        return extras

    def _render_tail(self) -> list[gr.ChatMessage]:
        tail: list[gr.ChatMessage] = []
        done = self.done
        if done is not None and done.cited:
            numbers = self.numbers()
            lines = [document_passage(self.sources[h], numbers[h], self.scope) if self.sources[h].kind == "document"
                     else source_line(self.sources[h], numbers[h]) + read_passages(self.sources[h])
                     for h in self._cited(done)]
            if lines:
                tail.append(gr.ChatMessage(content="\n".join(lines),
                                           metadata={"title": f"{SOURCES_TITLE} ({len(lines)})"}))
        if done is not None and not done.answer.strip() and not self.stopped:
            # A panel, not an answer: the record holds no answer for it, so nothing goes back to the model.
            reason = CUT_SHORT.get(end_of(done), CUT_SHORT["no_answer"])[0]
            tail.append(gr.ChatMessage(content=reason, metadata={"title": NO_ANSWER_TITLE}))
        if self.error is not None:
            tail.append(gr.ChatMessage(content=visitor_markdown(self.error), metadata={"title": ERROR_TITLE}))
        if self.stopped:
            tail.append(gr.ChatMessage(content=self.stopped_text, metadata={"title": STOPPED_TITLE}))
        if done is not None:
            tail.append(gr.ChatMessage(content=format_stats(done, label=self.label),
                                       metadata={"title": STATS_TITLE, "status": "done"}))
        return tail

    # -- helpers -----------------------------------------------------------

    def _last(self, kind: BlockKind) -> Block | None:
        return self.blocks[-1] if self.blocks and self.blocks[-1].kind == kind else None

    def _close_thinking(self, now: float) -> None:
        block = self._last("thinking")
        if block is not None and block.ended is None:
            block.ended, block.dirty = now, True

    def _settle_answer(self, done: Done, now: float) -> None:
        """The answer is ``done.answer``: text streamed before a tool call becomes a draft panel."""
        answers = [b for b in self.blocks if b.kind == "answer"]
        final = done.answer.strip()
        keep = answers[-1] if answers and answers[-1].text().strip() == final else None
        for block in answers:
            if block is not keep:
                block.kind, block.dirty = "draft", True
        if keep is not None:
            keep.known = None  # the answer cites what ``done`` lists
        if keep is None and final:
            self.blocks.append(Block(kind="answer", started=now, parts=[done.answer]))

    def _cited(self, done: Done) -> list[int]:
        """The cited sources' ids in the order people see them (1, 2, ...)."""
        numbers = self.numbers()
        return sorted((h for h in done.cited if h in self.sources and h in numbers), key=numbers.__getitem__)

    def _renumbered(self) -> None:
        """The final numbering applies: answers, drafts and search panels render afresh."""
        for block in self.blocks:
            if block.kind in ("answer", "draft"):
                block.forget_rendering()
        self._dirty("search")

    def _dirty(self, kind: BlockKind) -> None:
        for block in self.blocks:
            if block.kind == kind:
                block.dirty = True

    def _redact(self, text: str) -> str:
        return redact(text, self.secrets)


def events_to_messages(events: Iterable[Event], *, max_searches: int, **kwargs: Any) -> list[gr.ChatMessage]:
    """The pure mapping: all events of one answer -> its messages."""
    return AnswerView(max_searches=max_searches, **kwargs).feed_all(events).messages()
