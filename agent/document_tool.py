"""The ``search_documents`` tool beside ``web_search`` (QwQ dialect), and what the system prompt
says about documents.

The tag dialects (Search-R1, ReSearch) know one search tag and a verbatim trained prompt, so
the loop offers this tool only to dialects that call tools by name.
"""

from __future__ import annotations

from typing import Any

from .config import Settings
from .registry import provider_spec
from .dialects import Dialect
from .parser import BadToolCall, ToolCall, parse_call
from .prompt import DOCUMENTS_NOTE, LOCAL_NOTE, OPEN_PAGE_TOOL, SEARCH_DOCUMENTS_TOOL, escape_untrusted
from .search import SearchChain, documents_about


def tools_for(dialect: Dialect, documents: SearchChain | None, *, open_page: bool = False) -> list[dict[str, Any]]:
    """The dialect's tools, plus search_documents and open_page where they apply (tool dialects only)."""
    extra = ([SEARCH_DOCUMENTS_TOOL] if documents is not None else []) + ([OPEN_PAGE_TOOL] if open_page else [])
    return list(dialect.tools) + (extra if dialect.tools else [])


def parse_tool_call(raw: str, dialect: Dialect, documents: SearchChain | None, *,
                    open_page: bool = False) -> ToolCall | BadToolCall:
    if documents is None and not open_page:
        return dialect.parse_call(raw)
    tools = tools_for(dialect, documents, open_page=open_page)
    return parse_call(raw, tools=tuple(t["function"]["name"] for t in tools))


def documents_note(settings: Settings, search: SearchChain, documents: SearchChain | None) -> str | None:
    """The second tool and what it holds, or a ``web_search`` that searches documents instead
    of the web (``local``, ``retriever``); None when documents play no part."""
    if documents is not None:
        return DOCUMENTS_NOTE.format(about=documents_about(documents))
    if provider_spec(settings.provider).searches_documents:
        return LOCAL_NOTE.format(about=documents_about(search))
    return None


def add_note(messages: list[dict[str, str]], note: str | None) -> None:
    """``note`` as a paragraph of the system prompt. Document names are outside text: escaped."""
    if note and messages and messages[0]["role"] == "system":
        messages[0] = {**messages[0], "content": messages[0]["content"] + "\n\n" + escape_untrusted(note)}
