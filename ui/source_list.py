"""A source as people see it under an answer: a small card (the cited ones), a line of the
Sources list and of a Search panel, and the passages the model read of it, quoted."""

from __future__ import annotations

from agent.api import SourceRef

from .citations import attribute, citation_target, document_place, domain, escape_text, hidden, link, preview


def source_card(source: SourceRef, number: int, scope: str) -> str:
    """A small source card: number, title, domain (no favicon: nothing is fetched from elsewhere).
    Its hidden punctuation makes a screen reader say "Source 1: title, domain" (see ``chip``)."""
    where = document_place(source) if source.kind == "document" else domain(source.url)
    title = " ".join((source.title or where or "untitled").split())[:90]
    passage = preview(source)
    label = f"{number}. {title} · {where}" + (f"\n“{passage}”" if passage else "")
    return (f'<a class="source-card" href="{attribute(citation_target(source, scope) or "")}" '
            f'title="{attribute(label)}">{hidden("Source ")}'
            f'<span class="n">{number}</span>{hidden(": ")}<span class="t">{attribute(title)}</span>'
            f'{hidden(", ")}<span class="d">{attribute(where)}</span></a>')


def source_line(source: SourceRef, number: int | None) -> str:
    """One source as a line: ``2. title · domain``; no number while the answer has not cited it yet."""
    lead = f"{number}\\. " if number is not None else "· "
    if source.kind == "document":
        return f"{lead}{escape_text(source.title, limit=200)} · *{escape_text(document_place(source))}*  "
    title = escape_text(source.title or domain(source.url) or "untitled", limit=200)
    where = escape_text(domain(source.url), limit=80)
    return f"{lead}{link(title, source.url)}" + (f" · *{where}*" if where else "") + "  "


def read_passages(source: SourceRef) -> str:
    """The passages the model read of a web source, quoted under its line in the Sources list."""
    return "".join(f"\n> {escape_text(' '.join(p.text.split())[:400], limit=410)}  \n"
                   for p in source.passages or ())
