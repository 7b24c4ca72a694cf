"""The HTML report: one self-contained file, inline CSS, no script and no external
resource of any kind, so it opens offline and cannot phone home. Every recorded text is
escaped; only http(s) URLs are linked; the answer's Markdown is rendered (``answer_markdown``).
"""

from __future__ import annotations

import html
from typing import Any, Sequence

from ..text.answer_markdown import answer_html
from ..text.citations import Cite, citation_writer
from ..events import Error, ReadDone, SearchDone, SourceRef
from ..text.fragments import fragment_url
from .claims_report import claims_check
from .reads import read_summary
from ..text.safe_url import safe_http_url, visible_url
from .runs import (SCRIPTED_BADGE, RecordedRun, Run, Search, byline, document_passages, document_place,
                   passage_page_label,
                   regroup, stat_rows)


CSS = """
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
table { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .6rem 0; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.answer th { border-bottom-width: 2px; }
.stats th { font-weight: 500; color: var(--muted); width: 40%; }
.answer table { display: block; overflow-x: auto; }
pre { background: var(--soft); padding: .6rem .8rem; border-radius: .4rem; overflow-x: auto; }
blockquote { margin: .6rem 0; padding-left: .8rem; border-left: 3px solid var(--line); color: var(--muted); }
article + article { border-top: 3px double var(--line); margin-top: 2.5rem; padding-top: 1rem; }
code { font-size: .9em; }
/* A document citation's target: its passage opens in place (the report has no script). */
li:target { background: var(--soft); }
li:target details > :not(summary) { display: block; }
li:target details::details-content { display: block; content-visibility: visible; }
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


def escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def to_html(runs: Sequence[RecordedRun]) -> str:
    """One answer, or a whole conversation (each answer an ``<article>``, its sources its own)."""
    several = len(runs) > 1
    articles = [_article(meta, regroup(events), anchor=f"q{i + 1}-" if several else "")
                for i, (meta, events) in enumerate(runs)]
    title = str(runs[0][0].get("question", ""))
    if several:
        title = f"{title} (and {len(runs) - 1} more question{'s' if len(runs) > 2 else ''})"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><style>{CSS}</style></head>\n<body><main>'
        + "\n".join(articles) + "</main></body></html>\n"
    )


def _article(meta: dict[str, Any], run: Run, *, anchor: str) -> str:
    body = ["<article><header>"]
    if meta.get("scripted"):
        body.append(f'<p><span class="badge">{SCRIPTED_BADGE}</span></p>')
    body.append(f'<h1>{escape(meta.get("question", ""))}</h1><p class="meta">{escape(byline(meta))}</p></header>')
    body.append('<section class="run"><h2>How it got there</h2>')
    if not run.blocks:
        body.append('<p class="meta">No thinking or searches were recorded.</p>')
    numbers = run.numbers
    for block in run.blocks:
        if isinstance(block, str):
            body.append('<details class="thinking"><summary>Thinking…</summary>'
                        f'<div class="pre">{escape(block.strip())}</div></details>')
        elif isinstance(block, Search):
            body.append(_search(block, numbers))
        elif isinstance(block, ReadDone):
            body.append(_read(block))
        elif isinstance(block, Error):
            body.append(f'<p class="error">Error: {escape(block.message)}</p>')
    body.append('</section><section class="answer"><h2>Answer</h2>')
    if run.done is not None and run.done.stopped:
        body.append('<p><span class="badge stopped">Stopped before the end</span></p>')
    if run.answer.strip():
        body.append(f'<div class="markdown">{answer_block(run.answer.strip(), numbers, anchor)}</div>')
    else:
        body.append('<p class="meta">No answer was given.</p>')
    body.append(claims_section(run))
    body.append("</section>")
    body.append(sources_section(run, anchor))
    body.append(stats_section(run))
    return "".join(body) + "</article>"


def claims_section(run: Run) -> str:
    """The claims check under the answer: its line, then each sentence not found in its sources."""
    check = claims_check(run.done)
    if check is None:
        return ""
    line, flagged = check
    items = "".join(
        f'<li><span class="claim">{escape(f.sentence)}</span><br><span class="meta">{escape(f.note)}</span>'
        + (f'<br><span class="meta">Closest: “{escape(f.closest)}”</span>' if f.closest else "") + "</li>"
        for f in flagged)
    return (f'<div class="claims-check"><p class="meta">{escape(line)}</p>'
            + (f"<ul>{items}</ul>" if items else "") + "</div>")


def stats_section(run: Run) -> str:
    rows = stat_rows(run)
    if not rows:
        return ""
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<section class="stats"><h2>Stats</h2><table>{cells}</table></section>'


def source_link(ref: SourceRef) -> str:
    if ref.kind == "document":
        # No page to link to: the passage itself opens in place.
        shown = document_passages(ref)
        what = "passage" if not ref.passages else f"{len(shown)} passage{'s' if len(shown) != 1 else ''} read"
        quotes = "".join(_page_label(passage_page_label(ref, p)) + f'<div class="pre">{escape(p.text)}</div>'
                         for p in shown)
        return (f'{escape(ref.title)} <span class="url">{escape(document_place(ref))}</span>'
                f'<details><summary>{what}</summary>{quotes}</details>')
    href = safe_http_url(ref.url)
    title = escape(ref.title or ref.url)
    where = f' <span class="url">{escape(visible_url(ref.url))}</span>'
    if href is None:
        # Not http(s): show it as text so a javascript: URL can never run.
        return f"{title}{where}"
    link = f'<a href="{escape(href)}" rel="noopener noreferrer">{title}</a>{where}'
    for passage in ref.passages or ():
        at = fragment_url(ref.url, passage.text)
        link += (f'<blockquote class="passage">{escape(passage.text)}'
                 + (f' <a href="{escape(at)}" rel="noopener noreferrer">at the passage</a>' if at else "")
                 + "</blockquote>")
    return link


def _page_label(label: str) -> str:
    return f'<p class="meta">{escape(label)}</p>' if label else ""


def _read(done: ReadDone) -> str:
    quotes = "".join(f'<blockquote class="passage">{escape(p.text)}</blockquote>' for p in done.passages)
    cls = "read error" if done.error is not None else "read"
    return f'<section class="{cls}"><p class="meta">{escape(read_summary(done))}</p>{quotes}</section>'


def answer_block(text: str, numbers: dict[int, int], anchor: str) -> str:
    def write(group: list[Cite]) -> str:
        links = [f'<a class="cite" href="#{anchor}source-{c.number}">{c.number}</a>' if c.number is not None
                 else f'<span class="cite-missing" title="no source [{c.handle}] was found in this run">'
                      f"{c.handle}?</span>" for c in group]
        return "[" + ", ".join(links) + "]"

    return answer_html(text, citation_writer(numbers, write))


def _search(s: Search, numbers: dict[int, int]) -> str:
    out = [f'<section class="search"><h3>{s.label}: {escape(s.query)}</h3>']
    if s.done is None:
        out.append('<p class="meta">did not finish</p>')
    else:
        out.append(f'<p class="meta">{escape(s.done.provider)} · {s.done.latency_s:.2f} s</p>')
        if s.done.error:
            out.append(f'<p class="error">Search failed: {escape(s.done.error)}</p>')
        elif not s.done.results:
            out.append('<p class="meta">No results.</p>')
        else:
            out.append(search_results(s.done, numbers))
    return "".join(out) + "</section>"


def search_results(done: SearchDone, numbers: dict[int, int]) -> str:
    """A search's results in the order it returned them, each with its display number."""
    items = "".join(f'<li{_value(numbers.get(r.id))}>{source_link(r)}</li>' for r in done.results)
    return f"<ol>{items}</ol>"


def sources_section(run: Run, anchor: str) -> str:
    groups = run.source_groups()
    if not groups:
        return '<section class="sources"><h2>Sources</h2><p class="meta">No sources.</p></section>'
    out = ['<section class="sources"><h2>Sources</h2>']
    for heading, ids in groups:
        items = "".join(f'<li id="{anchor}source-{run.numbers[n]}"{_value(run.numbers[n])}>'
                        f'{source_link(run.sources[n])}</li>' for n in ids)
        out.append(f"<h3>{heading}</h3><ol>{items}</ol>")
    return "".join(out) + "</section>"


def _value(number: int | None) -> str:
    """The ``value`` attribute that makes an ``<li>`` show a source's number (none: a bullet)."""
    return f' value="{number}"' if number is not None else ""
