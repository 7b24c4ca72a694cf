"""The ``search_documents`` tool beside ``web_search`` (QwQ dialect), and what the system prompt
says about documents.

The tag dialects (Search-R1, ReSearch) know one search tag and a verbatim trained prompt, so
the loop offers this tool only to dialects that call tools by name.
"""

from __future__ import annotations

from typing import Any

from .config import Settings
from .dialects import Dialect
from .parser import BadToolCall, ToolCall, parse_call
from .prompt import DOCUMENTS_NOTE, LOCAL_NOTE, SEARCH_DOCUMENTS_TOOL, escape_untrusted
from .search import SearchChain, documents_about


def tools_for(dialect: Dialect, documents: SearchChain | None) -> list[dict[str, Any]]:
    return list(dialect.tools) + ([SEARCH_DOCUMENTS_TOOL] if documents is not None else [])


def parse_tool_call(raw: str, dialect: Dialect, documents: SearchChain | None) -> ToolCall | BadToolCall:
    if documents is None:
        return dialect.parse_call(raw)
    return parse_call(raw, tools=tuple(t["function"]["name"] for t in tools_for(dialect, documents)))


def documents_note(settings: Settings, search: SearchChain, documents: SearchChain | None) -> str | None:
    """The second tool and what it holds, or a ``web_search`` that searches documents instead
    of the web (``local``, ``retriever``); None when documents play no part."""
    if documents is not None:
        return DOCUMENTS_NOTE.format(about=documents_about(documents))
    if settings.provider in ("local", "retriever"):
        return LOCAL_NOTE.format(about=documents_about(search))
    return None


def add_note(messages: list[dict[str, str]], note: str | None) -> None:
    """``note`` as a paragraph of the system prompt. Document names are outside text: escaped."""
    if note and messages and messages[0]["role"] == "system":
        messages[0] = {**messages[0], "content": messages[0]["content"] + "\n\n" + escape_untrusted(note)}
