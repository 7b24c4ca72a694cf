"""Error and warning text as a visitor should read it.

Engine messages are written for whoever runs the app: they name flags and
environment variables ("fix --base-url / OPENAI_BASE_URL"). A visitor can do
nothing with those, and they say how the server is configured, so clauses that
name one are dropped (the full message is in the server's log) and the rest is
escaped for Markdown, with URLs kept exactly as typed.
"""

from __future__ import annotations

import re

from .citations import escape_text

# An environment variable (OPENAI_BASE_URL, DEEPSEARCH_X) or a command-line flag (--base-url).
_SETTING = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|(?<![\w-])--[a-z][a-z0-9-]+")
_PAREN_SETTING = re.compile(r"\s*\((?:[A-Z][A-Z0-9]*_[A-Z0-9_]+|--[a-z][a-z0-9-]+)\)")
_CLAUSE = re.compile(r"((?<=[^\s:]): (?=\S)|; )")
_URL = re.compile(r"https?://[^\s<>\"'`()]+[^\s<>\"'`().,;:!?]")
OPERATOR_NOTE = "(The person running this app can see what to change in its log.)"


def for_visitor(text: str) -> str:
    """``text`` without operator-only advice, as plain text (for toasts and the terminal-free UI)."""
    plain = _PAREN_SETTING.sub("", " ".join(str(text).split()))
    parts = _CLAUSE.split(plain)  # clause, separator, clause, ...
    clauses, seps = parts[0::2], parts[1::2]
    kept = [i for i, c in enumerate(clauses) if not _SETTING.search(c)]
    if not kept:
        out = _SETTING.sub("a server setting", clauses[0])
    else:
        out = clauses[kept[0]]
        for i in kept[1:]:
            out += seps[i - 1] + clauses[i]
    out = out[:1].upper() + out[1:]
    if len(kept) < len(clauses):
        out = out.rstrip(" .") + ". " + OPERATOR_NOTE
    return out


def as_markdown(text: str, *, limit: int = 2000) -> str:
    """Plain text as Markdown that shows exactly that text, URLs in code spans (never half-linked)."""
    flat = " ".join(str(text).split())[:limit]
    out, pos = [], 0
    for url in _URL.finditer(flat):
        out.append(_escape_keeping_spaces(flat[pos:url.start()]))
        out.append(f"`{url.group(0)}`")
        pos = url.end()
    out.append(_escape_keeping_spaces(flat[pos:]))
    return "".join(out)


def visitor_markdown(text: str, *, limit: int = 2000) -> str:
    return as_markdown(for_visitor(text), limit=limit)


def _escape_keeping_spaces(part: str) -> str:
    if not part.strip():
        return part
    lead = " " if part[0] == " " else ""
    trail = " " if part[-1] == " " else ""
    return lead + escape_text(part, limit=len(part) + 1) + trail
