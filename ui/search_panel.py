"""The chat's Search panel: one per query, "Searching: query…" while it runs, then its numbered
results and the provider that gave them, the failure in a visitor's words, or "cancelled" when
the run ended before the search did."""

from __future__ import annotations

from typing import Callable, Mapping

import gradio as gr
from gradio.components.chatbot import MetadataDict

from agent.api import SearchDone, SearchStart

from .citations import escape_text
from .notices import visitor_markdown
from .source_list import source_line
from .titles import SEARCH_CANCELLED_TEXT, _provider_words, provider_name, search_title


def render_search(start: SearchStart, done: SearchDone | None, *, ended: bool,
                  numbers: Callable[[], Mapping[int, int]], redact: Callable[[str], str]) -> gr.ChatMessage:
    """``ended``: the run stopped or finished (a search still open then was cancelled);
    ``numbers``: source id -> the number shown now; ``redact``: secrets out of an error."""
    if done is None:
        if ended:
            meta: MetadataDict = {"title": search_title(start.query, state="cancelled"), "status": "done"}
            return gr.ChatMessage(content=SEARCH_CANCELLED_TEXT, metadata=meta)
        meta = {"title": search_title(start.query, state="running"), "status": "pending"}
        return gr.ChatMessage(content="Searching…", metadata=meta)
    via = f"*via {escape_text(provider_name(done.provider), limit=40)}*  \n"
    if done.error:
        meta = {"title": search_title(start.query, state="failed"), "status": "done"}
        return gr.ChatMessage(content=via + visitor_markdown(_provider_words(redact(done.error))), metadata=meta)
    meta = {"title": search_title(start.query, results=len(done.results)), "status": "done"}
    if done.latency_s >= 0.01:
        meta["duration"] = round(float(done.latency_s), 2)
    if not done.results:
        return gr.ChatMessage(content=f"{via}No results.", metadata=meta)
    shown = numbers()
    return gr.ChatMessage(content=via + "\n".join(source_line(s, shown.get(s.id)) for s in done.results),
                          metadata=meta)
