"""Chat history from the browser -> what the model may see, and small edits to it.

The chatbot value a handler receives is untrusted client data: content comes
as Gradio blocks (``[{"type": "text", "text": ...}]``) and includes every panel
message. ``normalise_history`` keeps plain text of user questions and final
answers only (panels, i.e. messages with a ``metadata`` title, are dropped, and
so are the source cards and notes under an answer), with citations written as
the sources' domains, as ``(role, text)`` pairs that ``ChatSession`` takes as
its history.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from .citations import unlink_citations
from .mapper import ERROR_TITLE, STOPPED_TEXT, STOPPED_TITLE, THINKING_TITLE, thought_title


# What the UI adds under an answer (source cards, a cut-off note): never the model's words.
_EXTRAS = re.compile(r'\s*<div class="ds-extra[^"]*">.*?</div>', re.S)


def _field(message: Any, name: str, default: Any = None) -> Any:
    if isinstance(message, dict):
        return message.get(name, default)
    return getattr(message, name, default)


def content_text(content: Any) -> str:
    """Gradio content (a string, a block, a list of blocks) as plain text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        if content.get("type") == "text" or "text" in content:
            return str(content.get("text") or "")
        return ""  # files and components carry no text for the model
    if isinstance(content, (list, tuple)):
        return "\n".join(t for t in (content_text(c) for c in content) if t)
    return ""


def is_panel(message: Any) -> bool:
    metadata = _field(message, "metadata") or {}
    return bool(isinstance(metadata, dict) and metadata.get("title"))


def normalise_history(history: Iterable[Any] | None, *, max_chars: int = 20000,
                      max_turns: int | None = None) -> list[tuple[str, str]]:
    """``(user, assistant)`` turns as alternating pairs, the newest ``max_turns`` of them; panels,
    unanswered questions and unfinished answers (stopped, or cut off by an error) dropped."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    answer: list[str] = []

    def flush() -> None:
        nonlocal question, answer
        text = "\n\n".join(answer).strip()
        if question and text:
            pairs.extend([("user", question[:max_chars]), ("assistant", text[:max_chars])])
        question, answer = None, []

    unfinished = False
    for message in history or ():
        role = _field(message, "role")
        if is_panel(message):
            title = (_field(message, "metadata") or {}).get("title")
            unfinished = unfinished or title in (STOPPED_TITLE, ERROR_TITLE)
            continue
        text = content_text(_field(message, "content")).strip()
        if role == "user":
            if not unfinished:
                flush()
            question, answer, unfinished = text or None, [], False
        elif role == "assistant" and text and question:
            answer.append(unlink_citations(_EXTRAS.sub("", text)))
    if not unfinished:
        flush()
    if max_turns is not None:
        pairs = pairs[-2 * max_turns:] if max_turns else []
    return pairs


def last_turn_start(history: list[Any]) -> int:
    """Index just after the last user message (where the current answer begins)."""
    for i in range(len(history) - 1, -1, -1):
        if _field(history[i], "role") == "user":
            return i + 1
    return 0


def mark_stopped(history: list[Any]) -> list[Any]:
    """The chat with its last answer closed and marked stopped (Stop pressed mid-stream)."""
    start = last_turn_start(history)
    out = list(history[:start])
    already = False
    for message in history[start:]:
        metadata = dict(_field(message, "metadata") or {})
        if metadata.get("title") == STOPPED_TITLE:
            already = True
        if metadata.get("status") == "pending":
            metadata["status"] = "done"
            if metadata.get("title") == THINKING_TITLE:
                metadata["title"] = thought_title(None)
            message = {"role": _field(message, "role"), "content": _field(message, "content"),
                       "metadata": metadata}
        out.append(message)
    if start and not already:
        out.append({"role": "assistant", "content": STOPPED_TEXT, "metadata": {"title": STOPPED_TITLE}})
    return out
