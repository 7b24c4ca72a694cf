"""The chat's messages as the browser sends them back: a user question's own text, where the
current answer begins, and closing it as stopped.

Nothing here decides what the model remembers: that is built from the conversation's record
(``agent.api.Conversation``), never from rendered messages. A chat value is untrusted client
data; only the person's own question text is read from it (``content_text``), for a question the
record does not hold.
"""

from __future__ import annotations

from typing import Any

from .titles import (SEARCH_CANCELLED_TEXT, STOPPED_TEXT, STOPPED_TITLE, THINKING_TITLE, stopped_search_title,
                     thought_title)
from .reads import STOPPED_READ_TEXT, stopped_read_title


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
            content = _field(message, "content")
            title = str(metadata.get("title") or "")
            if title == THINKING_TITLE:
                metadata["title"] = thought_title(None)
            elif (read := stopped_read_title(title)) is not None:
                metadata["title"], content = read, STOPPED_READ_TEXT
            elif (search := stopped_search_title(title)) is not None:
                metadata["title"], content = search, SEARCH_CANCELLED_TEXT
            message = {"role": _field(message, "role"), "content": content, "metadata": metadata}
        out.append(message)
    if start and not already:
        out.append({"role": "assistant", "content": STOPPED_TEXT, "metadata": {"title": STOPPED_TITLE}})
    return out
