"""What a dialect is: everything model-specific about one search protocol.

The loop drives every model the same way (generate a round, read it, maybe
search, splice the results, repeat); a ``Dialect`` supplies the parts that
differ between models trained on different protocols: the prompt, the text
that ends a round, how the model's own tags read, how results are written
back into its context, and where its final answer is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Literal, Protocol

from ..config import DialectName
from ..parser import BadToolCall, Delta, ToolCall
from ..records.fork import RecordedRound
from ..search.sources import Source


class RoundParser(Protocol):
    """Reads one round of the model's streamed text (tags may be split anywhere)."""

    # Read-only to the loop, so each parser may narrow them (its own ``Literal`` states).
    @property
    def state(self) -> str: ...  # "answer" while the model writes its final answer

    @property
    def saw_think_close(self) -> bool: ...

    @property
    def call_text(self) -> str | None: ...  # the raw search request, once the model closed it

    def feed(self, chunk: str) -> list[Delta]: ...

    def close(self) -> list[Delta]: ...


class ResultsFormatter(Protocol):
    def __call__(self, query: str, sources: list[Source], *, number: int, budget: int) -> str: ...


class MessagesBuilder(Protocol):
    def __call__(self, question: str, *, max_searches: int,
                 history: Iterable[tuple[str, str]] = ()) -> list[dict[str, str]]: ...


@dataclass(frozen=True, kw_only=True)
class Notes:
    """What the loop tells the model when it answers a request without searching.

    Each is spliced through the dialect's ``splice`` like a search result.
    ``{n}``, ``{reason}`` and ``{problem}`` are filled in where present.
    """

    budget_spent: str
    context_full: str
    search_failed: str
    bad_call: str
    # The round limit is reached: the last round asks for the answer without searching.
    rounds_spent: str
    # Spliced when a round ends with neither a search nor an answer, so the
    # model tries again; None: such a round ends the run.
    no_action: str | None = None


@dataclass(frozen=True, kw_only=True)
class Dialect:
    name: DialectName
    # Text that ends a round with a search request; the backend stops there.
    call_stops: tuple[str, ...]
    # Text that ends the final answer; the backend stops there too.
    end_stops: tuple[str, ...]
    # Tool schemas rendered into the prompt by the chat template (QwQ only).
    tools: tuple[dict[str, Any], ...]
    notes: Notes
    build_messages: MessagesBuilder
    new_parser: Callable[[], RoundParser]
    parse_call: Callable[[str], ToolCall | BadToolCall]
    format_results: ResultsFormatter
    # An (already escaped) observation -> the text appended to the model's sequence.
    splice: Callable[[str], str]
    # The model's generated text (never the prompt) -> its final answer, or None.
    extract_answer: Callable[[str], str | None]
    # Messages -> prompt text, for backends without the model's tokenizer.
    render_prompt: Callable[[list[dict[str, Any]], list[dict[str, Any]]], str]
    # A recorded round -> the text the model wrote, in chunks its parser reads back as the same
    # deltas (forks put it back into the context; ``rewrite_round`` below).
    write_round: Callable[[RecordedRound], list[str]]
    # QwQ: a round that never closed </think> is all the answer there is.
    promote_unclosed_thinking: bool = False
    # False: the model never writes [n] (it was not trained to); everything it read backs
    # the answer, so an answer counts every source this run's searches returned as cited,
    # and the Sources panel and reports list them.
    cites: bool = False

    @property
    def stops(self) -> tuple[str, ...]:
        return self.call_stops + self.end_stops

    def first_stop(self, text: str) -> tuple[int, Literal["call", "end"]] | None:
        """Where generation stops in ``text`` (the index just past the first stop string)."""
        best: tuple[int, Literal["call", "end"]] | None = None
        kinds: tuple[tuple[tuple[str, ...], Literal["call", "end"]], ...] = (
            (self.call_stops, "call"), (self.end_stops, "end"))
        for stops, kind in kinds:
            for stop in stops:
                at = text.find(stop)
                if at != -1 and (best is None or at + len(stop) < best[0]):
                    best = (at + len(stop), kind)
        return best


def rechunk(text: str, lengths: list[int]) -> list[str]:
    """``text`` cut into pieces of ``lengths`` (the rest, if any, as one more piece)."""
    out, at = [], 0
    for n in lengths:
        out.append(text[at:at + n])
        at += n
    if at < len(text):
        out.append(text[at:])
    return [piece for piece in out if piece]


def escaped_chunks(chunks: tuple[str, ...], escape: Callable[[str], str]) -> list[str]:
    """Recorded text chunks escaped as one text (a tag split across two chunks is still found),
    cut back where they were cut: every escape swaps one character for one, so lengths hold."""
    joined = escape("".join(chunks))
    return rechunk(joined, [len(c) for c in chunks])
