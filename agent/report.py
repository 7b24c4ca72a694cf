"""HTML and Markdown reports of one run, built from its events.

Everything recorded (question, thinking, queries, titles, URLs, answer, errors)
is untrusted text from a model or the web: HTML output escapes all of it and
links only http(s) URLs; Markdown output escapes what would break the document.
The HTML is one self-contained file: inline CSS, no script, no external
resource of any kind, so it opens offline and cannot phone home.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import quote, urlsplit

from .events import Answer, Done, Error, Event, SearchDone, SearchStart, SourceRef, Thinking
from .prompt import CITATION

SCRIPTED_BADGE = "Scripted run (not a real model)"


# --------------------------------------------------------------------------- the run, as blocks


@dataclass
class _Search:
    query: str
    round: int | None = None
    max_searches: int | None = None
    done: SearchDone | None = None


@dataclass
class _Run:
    """The events regrouped the way a person reads them."""

    blocks: list[str | _Search | Error] = field(default_factory=list)  # str = a thinking block
    answer: str = ""
    done: Done | None = None
    sources: dict[int, SourceRef] = field(default_factory=dict)

    @property
    def cited(self) -> list[int]:
        if self.done is not None:
            return list(self.done.cited)
        ids: list[int] = []
        for group in CITATION.findall(self.answer):
            ids += [int(p) for p in group.split(",") if int(p) in self.sources and int(p) not in ids]
        return ids


def _regroup(events: Iterable[Event]) -> _Run:
    run, answer = _Run(), []
    open_search: _Search | None = None
    after_thinking = False  # deltas merge into one block until something else happens
    for event in events:
        match event:
            case Thinking(text=text):
                if after_thinking:
                    run.blocks[-1] += text  # type: ignore[operator]
                else:
                    run.blocks.append(text)
            case Answer(text=text):
                answer.append(text)
            case SearchStart(query=query, round=n, max_searches=budget):
                open_search = _Search(query=query, round=n, max_searches=budget)
                run.blocks.append(open_search)
            case SearchDone():
                if open_search is None or open_search.done is not None or open_search.query != event.query:
                    open_search = _Search(query=event.query)
                    run.blocks.append(open_search)
                open_search.done = event
                run.sources.update({r.id: r for r in event.results})
            case Error():
                run.blocks.append(event)
            case Done():
                run.done = event
                run.sources.update({s.id: s for s in event.sources})
        after_thinking = isinstance(event, Thinking)
    run.answer = run.done.answer if run.done is not None else "".join(answer)
    return run


def _href(url: str) -> str | None:
    """The URL if it is safe to link (http/https with a host, no whitespace tricks), else None."""
    if url != url.strip() or any(ord(c) < 33 or c in "\"'<>`" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def _fmt_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}: {_fmt_value(v)}" for k, v in value.items()) + ")"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt_value(v) for v in value) or "—"
    return str(value)


def _stats_rows(run: _Run) -> list[tuple[str, str]]:
    if run.done is None:
        return []
    rows = [("searches", str(run.done.searches)), ("sources", str(len(run.done.sources))),
            ("cited", _fmt_value(list(run.done.cited))), ("stopped", _fmt_value(run.done.stopped))]
    return rows + [(str(k), _fmt_value(v)) for k, v in run.done.stats.items()]


def _byline(meta: dict[str, Any]) -> str:
    parts = [f"model {meta.get('model') or '?'}", f"backend {meta.get('backend') or '?'}"]
    if meta.get("started_at"):
        parts.append(f"recorded {meta['started_at']}")
    return " · ".join(parts)


# --------------------------------------------------------------------------- HTML


_CSS = """
:root { color-scheme: light dark; --fg: #1d1f23; --bg: #fff; --muted: #5d6470; --line: #d8dce3;
  --accent: #2457c5; --soft: #f3f5f9; --warn: #a4270b; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #16181c; --muted: #9aa2ad;
  --line: #343a43; --accent: #8fb0ff; --soft: #1f2329; --warn: #ff9e85; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; overflow-wrap: anywhere; }
h1 { font-size: 1.5rem; line-height: 1.3; margin: .4rem 0; }
h2 { font-size: 1.15rem; margin: 2rem 0 .6rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
h3 { font-size: 1rem; margin: 0 0 .3rem; }
a { color: var(--accent); }
.meta { color: var(--muted); font-size: .88rem; margin: .2rem 0; }
.badge { display: inline-block; padding: .15rem .55rem; border-radius: 1rem; font-size: .8rem;
  font-weight: 600; background: #fff1c2; color: #5b4300; border: 1px solid #e5c65a; }
.badge.stopped { background: #fde3dc; color: var(--warn); border-color: #f0a28f; }
details.thinking { border-left: 3px solid var(--line); margin: .8rem 0; padding: .2rem .8rem; }
details.thinking summary { cursor: pointer; color: var(--muted); font-style: italic; }
.pre { white-space: pre-wrap; }
details.thinking .pre { color: var(--muted); font-size: .92rem; }
.search { background: var(--soft); border: 1px solid var(--line); border-radius: .5rem;
  padding: .6rem .9rem; margin: .8rem 0; }
.search ol, .sources ol { margin: .3rem 0; padding-left: 1.6rem; }
.error { color: var(--warn); }
.answer { font-size: 1.05rem; }
a.cite { text-decoration: none; font-weight: 600; }
.cite-missing { color: var(--warn); font-weight: 600; border-bottom: 1px dotted var(--warn); }
.url { color: var(--muted); font-size: .85rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 500; color: var(--muted); width: 40%; }
code { font-size: .9em; }
@media print {
  :root { --fg: #000; --bg: #fff; --muted: #444; --soft: #fff; }
  main { max-width: none; padding: 0; }
  details > :not(summary) { display: block !important; }
  details::details-content { display: block; content-visibility: visible; }
  details.thinking summary { list-style: none; }
  a { color: inherit; }
  .search, li, tr { break-inside: avoid; }
}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _html_link(ref: SourceRef) -> str:
    href = _href(ref.url)
    title = _e(ref.title or ref.url)
    where = f' <span class="url">{_e(ref.url)}</span>'
    if href is None:
        # Not http(s): show it as text so a javascript: URL can never run.
        return f'{title}{where}'
    return f'<a href="{_e(href)}" rel="noopener noreferrer">{title}</a>{where}'


def _html_answer(text: str, sources: dict[int, SourceRef]) -> str:
    def cite(match: re.Match[str]) -> str:
        links = []
        for part in match.group(1).split(","):
            n = int(part)
            if n in sources:
                links.append(f'<a class="cite" href="#source-{n}">{n}</a>')
            else:
                links.append(f'<span class="cite-missing" title="no source [{n}] was found in this run">'
                             f'{n}?</span>')
        return "[" + ", ".join(links) + "]"

    return CITATION.sub(cite, _inline_markdown(_e(text)))


_BOLD = re.compile(r"\*\*(?=\S)([^*\n]+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"\*(?=\S)([^*\n]+?)(?<=\S)\*")
_CODE = re.compile(r"`([^`\n]+)`")


def _inline_markdown(escaped: str) -> str:
    """Bold, italic and code spans of a Markdown answer, on already escaped text:
    only fixed tags are added around escaped content, so nothing can be injected."""
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    return _ITALIC.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", escaped))


def _html_search(s: _Search) -> str:
    label = f"Search {s.round}/{s.max_searches}" if s.round else "Search"
    out = [f'<section class="search"><h3>{label}: {_e(s.query)}</h3>']
    if s.done is None:
        out.append('<p class="meta">did not finish</p>')
    else:
        out.append(f'<p class="meta">{_e(s.done.provider)} · {s.done.latency_s:.2f} s</p>')
        if s.done.error:
            out.append(f'<p class="error">Search failed: {_e(s.done.error)}</p>')
        elif not s.done.results:
            out.append('<p class="meta">No results.</p>')
        else:
            items = "".join(f'<li value="{r.id}">{_html_link(r)}</li>' for r in s.done.results)
            out.append(f"<ol>{items}</ol>")
    return "".join(out) + "</section>"


def to_html(meta: dict[str, Any], events: Iterable[Event]) -> str:
    run = _regroup(events)
    question = str(meta.get("question", ""))
    body = ['<main><header>']
    if meta.get("scripted"):
        body.append(f'<p><span class="badge">{SCRIPTED_BADGE}</span></p>')
    body.append(f'<h1>{_e(question)}</h1><p class="meta">{_e(_byline(meta))}</p></header>')
    body.append('<section class="run"><h2>How it got there</h2>')
    if not run.blocks:
        body.append('<p class="meta">No thinking or searches were recorded.</p>')
    for block in run.blocks:
        if isinstance(block, str):
            body.append('<details class="thinking"><summary>Thinking…</summary>'
                        f'<div class="pre">{_e(block.strip())}</div></details>')
        elif isinstance(block, _Search):
            body.append(_html_search(block))
        else:
            body.append(f'<p class="error">Error: {_e(block.message)}</p>')
    body.append('</section><section class="answer"><h2>Answer</h2>')
    if run.done is not None and run.done.stopped:
        body.append('<p><span class="badge stopped">Stopped before the end</span></p>')
    if run.answer.strip():
        body.append(f'<div class="pre">{_html_answer(run.answer.strip(), run.sources)}</div>')
    else:
        body.append('<p class="meta">No answer was given.</p>')
    body.append('</section>')
    body.append(_html_sources(run))
    rows = _stats_rows(run)
    if rows:
        cells = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
        body.append(f'<section class="stats"><h2>Stats</h2><table>{cells}</table></section>')
    body.append('</main>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{_e(question)}</title><style>{_CSS}</style></head>\n<body>'
        + "\n".join(body) + "</body></html>\n"
    )


def _html_sources(run: _Run) -> str:
    cited = [n for n in run.cited if n in run.sources]
    rest = [n for n in sorted(run.sources) if n not in cited]
    if not cited and not rest:
        return '<section class="sources"><h2>Sources</h2><p class="meta">No sources.</p></section>'
    out = ['<section class="sources"><h2>Sources</h2>']
    for heading, ids in (("Cited", cited), ("Also found", rest)):
        if ids:
            items = "".join(f'<li id="source-{n}" value="{n}">{_html_link(run.sources[n])}</li>' for n in ids)
            out.append(f'<h3>{heading}</h3><ol>{items}</ol>')
    return "".join(out) + "</section>"


# --------------------------------------------------------------------------- Markdown


# Inline text never starts a line, so list and heading markers need no escape;
# these are the characters that could open emphasis, code, links, HTML or a table cell.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~<>&])")


def _md_text(text: Any) -> str:
    """Inline text with every Markdown-active character escaped, on one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _md_key(key: str) -> str:
    return f"`{key}`" if re.fullmatch(r"[\w.]+", key) else _md_text(key)


def _md_block(text: str) -> str:
    """Free text kept readable: only what could break out of its block is neutralised:
    HTML (``</details>``) is escaped and an unclosed code fence is closed."""
    text = html.escape(text.strip(), quote=False)
    open_fence = None
    for line in text.splitlines():
        marker = line.lstrip()[:3]
        if marker in ("```", "~~~") and open_fence in (None, marker):
            open_fence = None if open_fence else marker
    return f"{text}\n{open_fence}" if open_fence else text


def _md_url(url: str) -> str:
    # Percent-encode what would end the link destination early (spaces, parens, brackets).
    return quote(url, safe=":/?#@!$&'*+,;=%~")


def _md_link(ref: SourceRef) -> str:
    href = _href(ref.url)
    title = _md_text(ref.title or ref.url)
    return f"[{title}]({_md_url(href)})" if href else f"{title} ({_md_text(ref.url)})"


def _md_answer(text: str, sources: dict[int, SourceRef]) -> str:
    def cite(match: re.Match[str]) -> str:
        out = []
        for part in match.group(1).split(","):
            n = int(part)
            href = _href(sources[n].url) if n in sources else None
            if href:
                out.append(f"[\\[{n}\\]]({_md_url(href)})")
            else:
                out.append(f"\\[{n}\\]" if n in sources else f"\\[{n}?\\]")
        return "".join(out)

    return CITATION.sub(cite, _md_block(text))


def to_markdown(meta: dict[str, Any], events: Iterable[Event]) -> str:
    run = _regroup(events)
    out = [f"# {_md_text(meta.get('question', ''))}", ""]
    if meta.get("scripted"):
        out += [f"> **{SCRIPTED_BADGE}**", ""]
    out += [f"*{_md_text(_byline(meta))}*", "", "## How it got there", ""]
    for block in run.blocks:
        if isinstance(block, str):
            out += ["<details><summary>Thinking…</summary>", "", _md_block(block), "", "</details>", ""]
        elif isinstance(block, _Search):
            label = f"Search {block.round}/{block.max_searches}" if block.round else "Search"
            out.append(f"**{label}:** {_md_text(block.query)}")
            if block.done is None:
                out += ["", "*did not finish*", ""]
                continue
            out += ["", f"*{_md_text(block.done.provider)} · {block.done.latency_s:.2f} s*", ""]
            if block.done.error:
                out.append(f"- ⚠ Search failed: {_md_text(block.done.error)}")
            elif not block.done.results:
                out.append("- No results.")
            out += [f"- \\[{r.id}\\] {_md_link(r)}" for r in block.done.results if not block.done.error]
            out.append("")
        else:
            out += [f"> ⚠ **Error:** {_md_text(block.message)}", ""]
    out += ["## Answer", ""]
    if run.done is not None and run.done.stopped:
        out += ["*Stopped before the end.*", ""]
    out += [_md_answer(run.answer, run.sources) if run.answer.strip() else "*No answer was given.*", ""]
    out += ["## Sources", ""]
    cited = [n for n in run.cited if n in run.sources]
    rest = [n for n in sorted(run.sources) if n not in cited]
    for heading, ids in (("Cited", cited), ("Also found", rest)):
        if ids:
            out += [f"**{heading}**", ""] + [f"- \\[{n}\\] {_md_link(run.sources[n])}" for n in ids] + [""]
    if not run.sources:
        out += ["*No sources.*", ""]
    rows = _stats_rows(run)
    if rows:
        out += ["## Stats", "", "| stat | value |", "| --- | --- |"]
        out += [f"| {_md_key(k)} | {_md_text(v)} |" for k, v in rows] + [""]
    return "\n".join(out)
