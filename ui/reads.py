"""The chat's Read panel: one per source read, live while it is read.

"Read *title* (domain) · 3 passages · 0.8 s" with the passages below it, each a quote
whose link opens the page at that passage (a URL text fragment); a page that could not
be read says why (timed out, too large, not a page, blocked, HTTP 403, empty after
extraction) and the answer goes on with its snippet.
"""

from __future__ import annotations

from typing import Literal

import gradio as gr
from gradio.components.chatbot import MetadataDict

from agent.api import ReadDone, ReadStart, fragment_url, read_summary

from .citations import attribute, domain, escape_text

MAX_QUOTE_CHARS = 2400  # a whole passage (agent/index/passages.py MAX_PASSAGE_CHARS)
_READING, _STOPPED = ("Reading ", "…"), "Read stopped: "
STOPPED_READ_TEXT = "Stopped before the page was read."


def stopped_read_title(title: str) -> str | None:
    """What a live Read panel's title ("Reading name…") becomes when Stop ends the run, for the
    chat the browser sends back with Stop; None for any other title."""
    lead, tail = _READING
    if title.startswith(lead) and title.endswith(tail):
        return _STOPPED + title[len(lead):-len(tail)]
    return None


def read_title(start: ReadStart, done: ReadDone | None, *, finished: bool,
               stopped: bool = False) -> tuple[str, Literal["pending", "done"]]:
    """(panel title, status) for a read; one the run ended without (Stop, an error) says so."""
    name = " ".join((start.title or domain(start.url) or "page").split())[:90]
    if done is None:
        if stopped:
            return _STOPPED + name, "done"
        return (f"Not read: {name}", "done") if finished else (f"{_READING[0]}{name}{_READING[1]}", "pending")
    return " ".join(read_summary(done, title=start.title).split())[:300], "done"


def render_read(start: ReadStart, done: ReadDone | None, *, finished: bool, stopped: bool = False) -> gr.ChatMessage:
    title, status = read_title(start, done, finished=finished, stopped=stopped)
    meta: MetadataDict = {"title": title, "status": status}
    if done is None:
        said = (STOPPED_READ_TEXT if stopped
                else "The answer ended before the page was read." if finished else "Reading…")
        return gr.ChatMessage(content=said, metadata=meta)
    if done.latency_s >= 0.01:
        meta["duration"] = round(float(done.latency_s), 2)
    if done.error is not None:
        return gr.ChatMessage(content=f"Not read: {escape_text(done.error, limit=400)}. The answer uses the "
                                      f"search snippet instead.", metadata=meta)
    quotes = []
    for n, passage in enumerate(done.passages, 1):
        # Inside an HTML block Markdown is not read: the text is escaped as an attribute is (no markup,
        # no Markdown, no LaTeX), not with Markdown's backslashes, which would show.
        text = attribute(" ".join(passage.text.split())[:MAX_QUOTE_CHARS])
        at = fragment_url(done.url, passage.text) if done.url else None
        open_at = f' <a class="read-at" href="{attribute(at)}">open at this passage</a>' if at else ""
        quotes.append(f'<div class="read-passage" data-n="{n}">{text}{open_at}</div>')
    return gr.ChatMessage(content="\n\n".join(quotes) or "No passages.", metadata=meta)


def reading_phase(pending: int) -> str:
    return f"reading {pending} page{'s' if pending != 1 else ''}…"
