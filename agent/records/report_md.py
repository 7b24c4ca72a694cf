"""The Markdown report, for docs and issues: recorded text is escaped so it cannot break the
document, and the answer keeps its Markdown under the chat's link rule (``answer_markdown``)."""

from __future__ import annotations

import html
import re
from typing import Any, Sequence
from urllib.parse import quote

from ..text.answer_markdown import answer_markdown
from ..text.citations import Cite, citation_writer
from ..events import Error, PassageRef, ReadDone, SourceRef
from ..text.fragments import fragment_url
from .claims_report import claims_check
from .reads import read_summary
from ..text.markdown_code import unclosed_fence
from ..text.safe_url import safe_http_url, visible_url
from .runs import (SCRIPTED_BADGE, RecordedRun, Run, Search, byline, document_passages, document_place,
                   passage_page_label,
                   regroup, stat_rows)

# Inline text never starts a line, so list and heading markers need no escape;
# these are the characters that could open emphasis, code, links, HTML or a table cell.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~<>&])")


def to_markdown(runs: Sequence[RecordedRun]) -> str:
    """One answer, or a whole conversation (answers separated by a rule)."""
    return "\n---\n\n".join(_run(meta, regroup(events)) for meta, events in runs)


def _run(meta: dict[str, Any], run: Run) -> str:
    out = [f"# {_text(meta.get('question', ''))}", ""]
    if meta.get("scripted"):
        out += [f"> **{SCRIPTED_BADGE}**", ""]
    out += [f"*{_text(byline(meta))}*", "", "## How it got there", ""]
    numbers = run.numbers
    for block in run.blocks:
        if isinstance(block, str):
            out += ["<details><summary>Thinking…</summary>", "", _block(block), "", "</details>", ""]
        elif isinstance(block, Search):
            out += _search(block, numbers)
        elif isinstance(block, ReadDone):
            out += [f"*{_text(read_summary(block))}*", ""] + [f"> {_text(p.text)}" for p in block.passages]
            out += [""] if block.passages else []
        elif isinstance(block, Error):
            out += [f"> ⚠ **Error:** {_text(block.message)}", ""]
    out += ["## Answer", ""]
    if run.done is not None and run.done.stopped:
        out += ["*Stopped before the end.*", ""]
    out += [_answer(run.answer.strip(), run.sources, numbers) if run.answer.strip() else "*No answer was given.*", ""]
    out += _claims(run)
    out += ["## Sources", ""]
    for heading, ids in run.source_groups():
        out += [f"**{heading}**", ""] + [f"- \\[{numbers[n]}\\] {_link(run.sources[n])}" for n in ids] + [""]
    if not run.sources:
        out += ["*No sources.*", ""]
    rows = stat_rows(run)
    if rows:
        out += ["## Stats", "", "| | |", "| --- | --- |"]
        out += [f"| {_text(k)} | {_text(v)} |" for k, v in rows] + [""]
    return "\n".join(out)


def _claims(run: Run) -> list[str]:
    """The claims check under the answer: its line, then each sentence not found in its sources."""
    check = claims_check(run.done)
    if check is None:
        return []
    line, flagged = check
    out = [f"*Checked: {_text(line)}*", ""]
    for f in flagged:
        out.append(f"- {_text(f.sentence)} — *{_text(f.note)}*"
                   + (f"; closest: “{_text(f.closest)}”" if f.closest else ""))
    return out + ([""] if flagged else [])


def _search(block: Search, numbers: dict[int, int]) -> list[str]:
    out = [f"**{block.label}:** {_text(block.query)}"]
    if block.done is None:
        return out + ["", "*did not finish*", ""]
    out += ["", f"*{_text(block.done.provider)} · {block.done.latency_s:.2f} s*", ""]
    if block.done.error:
        out.append(f"- ⚠ Search failed: {_text(block.done.error)}")
    elif not block.done.results:
        out.append("- No results.")
    else:
        out += [f"- \\[{numbers.get(r.id, '?')}\\] {_link(r)}" for r in block.done.results]
    return out + [""]


def _text(text: Any) -> str:
    """Inline text with every Markdown-active character escaped, on one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _block(text: str) -> str:
    """Free text kept readable: only what could break out of its block is neutralised:
    HTML (``</details>``) is escaped and an unclosed code fence is closed."""
    return _close_fence(html.escape(text.strip(), quote=False))


def _url(url: str) -> str:
    # Percent-encode what would end the link destination early (spaces, parens, brackets).
    return quote(url, safe=":/?#@!$&'*+,;=%~")


def _link(ref: SourceRef) -> str:
    if ref.kind == "document":
        return f"{_text(ref.title)} ({_text(document_place(ref))})" + "".join(
            f"\n  > {_page_of(ref, p)}{_text(p.text)}" for p in document_passages(ref))
    href = safe_http_url(ref.url)
    title = _text(ref.title or ref.url)
    link = f"[{title}]({_url(href)})" if href else f"{title} ({_text(visible_url(ref.url))})"
    for passage in ref.passages or ():
        at = fragment_url(ref.url, passage.text)
        link += f"\n  > {_text(passage.text)}" + (f" ([at the passage]({_url(at)}))" if at else "")
    return link


def _page_of(ref: SourceRef, passage: PassageRef) -> str:
    label = passage_page_label(ref, passage)
    return f"*{label}:* " if label else ""


def _answer(text: str, sources: dict[int, SourceRef], numbers: dict[int, int]) -> str:
    def write(group: list[Cite]) -> str:
        out = []
        for c in group:
            if c.number is None:
                out.append(f"\\[{c.handle}?\\]")
                continue
            href = safe_http_url(sources[c.handle].url)
            out.append(f"[\\[{c.number}\\]]({_url(href)})" if href else f"\\[{c.number}\\]")
        return "".join(out)

    return _close_fence(answer_markdown(text, citation_writer(numbers, write)))


def _close_fence(text: str) -> str:
    """``text`` with a code fence it left open closed, so it cannot swallow what follows."""
    open_fence = unclosed_fence(text)
    return f"{text}\n{open_fence}" if open_fence else text
