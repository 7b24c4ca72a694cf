"""The words of an answer's panels: their titles (Thinking, Searched, Sources, Stats, the
warnings) and the notes a stopped answer or search shows, and provider names as a visitor reads them."""

from __future__ import annotations

import re

from agent.api import PROVIDERS, provider_label

from .citations import escape_text

THINKING_TITLE = "Thinking…"
SOURCES_TITLE = "Sources"
STATS_TITLE = "Stats"
# Titles are Markdown: the span gives problems their warning colour (assets/style.css).
WARN = '<span class="warn">⚠ {}</span>'
ERROR_TITLE = WARN.format("Something went wrong")
STOPPED_TITLE = "■ Stopped"
STOPPED_TEXT = "You stopped this answer; what is above is partial."
REPLAY_STOPPED_TEXT = "This recording was stopped; what is above is partial."
SEARCH_CANCELLED_TEXT = "Search cancelled."
NO_ANSWER_TITLE = WARN.format("No answer")
# A scripted run's searches come from its bundled results too.
_SCRIPTED = "scripted"


def thought_title(seconds: float | None) -> str:
    if seconds is None:
        return "Thought"
    # Whole milliseconds first, as a trace stores times: a duration live (a difference of two
    # stamps) and the same duration read back (of two trace times) then give one title.
    seconds = round(seconds, 3)
    return "Thought" if seconds < 0.05 else f"Thought for {seconds:.1f} s"
DRAFT_TITLE = "Written before a search (not part of the answer)"


def search_title(query: str, *, results: int | None = None, state: str = "done") -> str:
    """``Searched: <query> · 3 results``; ``Searching: <query>…`` while it runs."""
    q = escape_text(query, limit=160)
    if state == "running":
        return f"Searching: {q}…"
    if state == "failed":
        return f"{WARN.format('Search failed')}: {q}"
    if state == "cancelled":
        return f"Search cancelled: {q}"
    count = "no results" if not results else f"{results} result{'s' if results != 1 else ''}"
    return f"Searched: {q} · {count}"


def stopped_search_title(title: str) -> str | None:
    """What a running search's title ("Searching: query…") becomes when Stop ends the run, for
    the chat the browser sends back with Stop; None for any other title."""
    if title.startswith("Searching: ") and title.endswith("…"):
        return "Search cancelled: " + title[len("Searching: "):-1]
    return None


def _provider_words(text: str) -> str:
    """A search error names each provider (``fixture: down``) as a visitor should read it: every
    registered provider (``agent.registry``), read when the error is shown."""
    names = sorted({*PROVIDERS, _SCRIPTED}, key=len, reverse=True)
    prefix = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r"):", re.I)
    return prefix.sub(lambda m: provider_name(m.group(1)) + ":", text)


def provider_name(provider: str) -> str:
    name = "".join(ch for ch in str(provider) if ch.isalnum() or ch in "-_ ")[:40]
    return provider_label("fixture" if name.lower() == _SCRIPTED else name)
