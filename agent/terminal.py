"""The CLI's terminal mode: dim thinking, one line per search, the answer's Markdown rendered
by ``rich``, then the sources.

Citations are printed with the numbers people see (``display_numbering``): while the answer
streams, a source gets the next number when first cited. Text written before a search is
printed as it comes and then marked as not part of the answer; the answer after the search
numbers from [1] again, so its numbers are the final ones its Sources list uses.

Everything shown came from a model or the web, so it is cleaned first: escape sequences
(OSC clipboard writes and title changes, CSI screen clears, DCS…), C0/C1 control characters
and bidirectional overrides never reach the terminal. Only this module's own styling does.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from typing import Any, TextIO

from .text.citations import display_numbering, renumber
from .text.control import TERMINAL_UNSAFE
from .text.counts import counted
from .claims.record import summary_line
from .events import (REFUSAL_REASONS, Answer, Done, Error, Event, ReadDone, ReadStart, RunEnd, SearchDone, SearchStart,
                     SourceRef, Thinking)
from .records.reads import read_summary
from .records.runs import document_place

# Why a run has no answer, for each way a run can end without one.
NO_ANSWER_WHY: dict[RunEnd, str] = {
    "token_limit": "cut off at the token limit: raise --max-new-tokens",
    "context_full": "the context filled up first: ask a narrower question",
    "rounds_exhausted": "the round limit was reached first (DEEPSEARCH_MAX_ROUNDS)",
    "no_answer": "the model ended without writing one",
    "answered": "the answer was empty",
    "stopped": "stopped",
}

# A whole escape sequence (7-bit or 8-bit introducer), so no parameters are left behind as text:
# OSC/DCS/SOS/PM/APC strings up to their terminator, CSI with its parameters, or a 2-byte escape.
_SEQUENCE = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b[ -/]*[0-~]?"
)
# Then every control character left but newline and tab (a lone ESC, BEL, backspace, carriage
# return that would overwrite a line, C1), and the bidi controls that reorder what is shown.
_CONTROL = TERMINAL_UNSAFE


def clean(text: str) -> str:
    """``text`` as inert characters for a terminal (line breaks and tabs kept)."""
    return _CONTROL.sub("", _SEQUENCE.sub("", text.replace("\r\n", "\n")))


class TerminalPrinter:
    """Prints events as they come. The answer streams a Markdown block at a time: each
    paragraph, list, table or code block is rendered once a blank line closes it."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        tty = out.isatty()
        self.color = tty and not os.environ.get("NO_COLOR")
        self.dim, self.bold, self.reset = ("\x1b[2m", "\x1b[1m", "\x1b[0m") if self.color else ("", "", "")
        self.width = shutil.get_terminal_size((100, 24)).columns if tty else 100
        self.mode: str | None = None
        self.pending = ""  # answer text not rendered yet: its last block may still grow
        self.carry = ""  # the start of an escape sequence the next thinking delta may finish
        self.known: set[int] = set()  # source ids the searches have returned so far
        self.numbers: dict[int, int] = {}  # id -> number printed, in the answer text since the last search
        self.drafted = False  # answer text was printed since the last search

    def __call__(self, event: Event) -> None:
        if not isinstance(event, Answer):
            self._flush_answer()
        match event:
            case Thinking(text=text):
                self._switch("thinking")
                shown, self.carry = _split_open_sequence(self.carry + text)
                self.out.write(f"{self.dim}{clean(shown)}{self.reset}")
            case Answer(text=text):
                if self.mode != "answer":
                    self._switch("answer")
                    self.out.write(f"\n{self.bold}Answer{self.reset}\n")
                # Cleaned when rendered, so a sequence split across deltas is removed whole.
                self.pending += text
                done, self.pending = _complete_blocks(self.pending)
                if done:
                    self._render(done)
            case SearchStart(query=query, round=n, max_searches=budget):
                self._end_draft()
                self._switch("search")
                self.out.write(f"\n🔎 search {n}/{budget}: {_line(query)}\n")
            case SearchDone(provider=provider, latency_s=latency, results=results, error=error):
                self.mode = "search"
                self.known.update(r.id for r in results)
                if error:
                    self.out.write(f"   ✗ {_line(provider)} failed after {latency:.1f}s: {_line(error)}\n")
                else:
                    self.out.write(f"   → {counted(len(results), 'result')} from {_line(provider)} in {latency:.1f}s\n")
            case ReadStart():
                pass  # the read's line comes when it is done: reads run at once, in any order
            case ReadDone():
                self.mode = "search"
                mark = "✗" if event.error is not None else "📖"
                self.out.write(f"   {mark} {_line(read_summary(event))}\n")
            case Error(message=message):
                self._switch("error")
                self.out.write(f"\nerror: {clean(message)}\n")
            case Done():
                self._done(event)
        self.out.flush()

    def _switch(self, mode: str) -> None:
        if mode != "thinking":
            self.carry = ""  # an escape sequence that never finished: dropped
        if self.mode != mode and self.mode is not None:
            self.out.write("\n")
        self.mode = mode

    def _flush_answer(self) -> None:
        if self.pending.strip():
            self._render(self.pending)
        self.pending = ""

    def _end_draft(self) -> None:
        """Answer text before a search is no part of the answer (the engine drops it): say so,
        and let the next answer number its citations from [1]."""
        if self.drafted:
            self.out.write(f"\n{self.dim}(written before a search; not part of the answer){self.reset}\n")
        self.drafted, self.numbers = False, {}

    def _render(self, markdown: str) -> None:
        self.drafted = True
        self.numbers = display_numbering(markdown, self.known, taken=self.numbers, uncited=False)
        markdown = renumber(markdown, self.numbers)
        # rich (and markdown-it under it) is imported at the first answer block, not with the
        # module: the CLI's --json runs and the app never render Markdown for a terminal, and the
        # import was ~40 ms of CPU in every CLI start (8 % of a `python -m agent --json` run's).
        from rich.console import Console
        from rich.markdown import Markdown

        buffer = io.StringIO()
        console = Console(file=buffer, width=self.width, force_terminal=self.color,
                          color_system="standard" if self.color else None, highlight=False, emoji=False)
        # hyperlinks=False: a link shows its URL as text, never an OSC 8 escape a click would open.
        console.print(Markdown(clean(markdown), hyperlinks=False))
        text = buffer.getvalue()
        if not self.color:
            text = "\n".join(line.rstrip() for line in text.split("\n"))
        self.out.write(text)

    def _done(self, done: Done) -> None:
        self._switch("done")
        if done.end == "stopped":
            self.out.write(f"\n{self.bold}[stopped]{self.reset}\n")
        elif not done.answer.strip():
            self.out.write(f"\n{self.bold}[no answer]{self.reset} ({NO_ANSWER_WHY[done.end]})\n")
        by_id, numbers = {s.id: s for s in done.sources}, done.display_numbers
        cited = sorted((n for n in done.cited if n in by_id), key=numbers.__getitem__)
        if cited:
            self.out.write(f"\n{self.bold}Sources{self.reset}\n")
            for n in cited:
                self.out.write(f"  [{numbers[n]}] {_line(by_id[n].title)} — {_line(_where(by_id[n]))}\n")
                for passage in by_id[n].passages or ():
                    self.out.write(f"{self.dim}      > {_line(passage.text)[:300]}{self.reset}\n")
        self._claims(done)
        refused = done.stats.refused_calls
        note = ""
        if refused:
            reasons = sorted({REFUSAL_REASONS[c.reason] for c in refused})
            note = f"; {len(refused)} tool call(s) not run: {', '.join(reasons)}"
        self.out.write(f"{self.dim}({done.searches} search(es){note}){self.reset}\n")


    def _claims(self, done: Done) -> None:
        """The check's one line, and each sentence its sources do not support, with the closest
        sentence of what it cites; supported sentences are not repeated."""
        if done.claims is None or done.claims_summary is None or not done.answer.strip():
            return
        self.out.write(f"\n{self.bold}Checked{self.reset} {summary_line(done.claims_summary)}\n")
        for claim in done.claims:
            if claim.verdict in ("supported", "uncited"):
                continue
            sentence = renumber(claim.sentence, done.display_numbers)
            self.out.write(f"  ✗ {_line(sentence)}\n    {self.dim}{_line(claim.note)}{self.reset}\n")
            if claim.evidence is not None:
                self.out.write(f"    {self.dim}closest: {_line(claim.evidence.text)}{self.reset}\n")


_INTRODUCER = re.compile(r"[\x1b\x90\x98\x9b\x9d\x9e\x9f]")
_MAX_SEQUENCE = 512


def _split_open_sequence(text: str) -> tuple[str, str]:
    """(text to show now, a trailing escape sequence that may still be going on)."""
    starts = [m.start() for m in _INTRODUCER.finditer(text, max(0, len(text) - _MAX_SEQUENCE))]
    if starts:
        match = _SEQUENCE.match(text, starts[-1])
        if match is not None and match.end() == len(text):
            return text[:starts[-1]], text[starts[-1]:]
    return text, ""


def _line(text: Any) -> str:
    """One line of clean text (a title, URL or query cannot start a new line)."""
    return " ".join(clean(str(text)).split())


_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _complete_blocks(text: str) -> tuple[str, str]:
    """(the Markdown blocks a blank line has closed, the rest), never splitting a code fence."""
    fence: str | None = None
    cut, pos = 0, 0
    for line in text.split("\n")[:-1]:  # the last piece has no newline yet: still growing
        end = pos + len(line) + 1
        marker = _FENCE.match(line)
        if marker and fence in (None, marker.group(1)):
            fence = None if fence else marker.group(1)
        elif fence is None and not line.strip() and pos > 0:
            cut = end
        pos = end
    return text[:cut], text[cut:]


def _where(source: SourceRef) -> str:
    """A web source's URL, or a document's file and page."""
    return document_place(source) if source.kind == "document" else source.url
