"""``report.html``: the summary and one table row per question, each linking to its run report.

One self-contained file like the run reports: inline CSS, no script, nothing
fetched; every dataset or model string is escaped, and the only links are the
relative paths of the per-question reports beside it.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote

_CSS = """
:root { color-scheme: light dark; --fg: #1d1f23; --bg: #fff; --muted: #5d6470; --line: #d8dce3;
  --accent: #2457c5; --ok: #1b7a3a; --bad: #a4270b; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #16181c; --muted: #9aa2ad;
  --line: #343a43; --accent: #8fb0ff; --ok: #7fd69b; --bad: #ff9e85; } }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 80rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.5rem; margin: .4rem 0; }
a { color: var(--accent); }
.meta { color: var(--muted); font-size: .88rem; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0; }
.card { border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .9rem; min-width: 7rem; }
.card b { display: block; font-size: 1.3rem; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
th, td { text-align: left; padding: .3rem .45rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td { overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 500; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.id, td.end { overflow-wrap: normal; }
.ok { color: var(--ok); font-weight: 600; } .bad { color: var(--bad); }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f}%"


def _cards(summary: dict[str, Any]) -> str:
    cards = [("questions", f"{summary['n']} / {summary['total']}"), ("EM", _pct(summary["em"])),
             ("F1", _pct(summary["f1"])), ("subEM", _pct(summary["subem"]))]
    if summary.get("judged"):
        cards.append((f"judge ({summary['judged']} graded)", _pct(summary["judge"])))
    cards += [("citation recall", _pct(summary.get("citation_recall"))),
              ("citation precision", _pct(summary.get("citation_precision"))),
              ("supported claims", _pct(summary.get("supported_claim_rate"))),
              ("uncited sentences", str(summary.get("uncited_sentences") or 0)),
              ("mean searches", f"{summary['mean_searches'] or 0:.2f}"),
              ("p50 / p95 s", f"{summary['p50_s'] or 0:.1f} / {summary['p95_s'] or 0:.1f}"),
              ("errors", str(summary["errors"]))]
    return '<div class="cards">' + "".join(
        f'<div class="card"><span class="meta">{_e(k)}</span><b>{_e(v)}</b></div>' for k, v in cards) + "</div>"


def _row(i: int, r: dict[str, Any], *, judged: bool) -> str:
    mark = '<span class="ok">✓</span>' if r["em"] else '<span class="bad">✗</span>'
    link = (f'<a href="{_e(quote(str(r["report"])))}">run</a>' if r.get("report")
            else '<span class="meta">no report</span>')
    end = r.get("end", "")
    if r.get("error"):
        end = f'{end}: {r["error"]}'
    judge = f"<td>{_e(r.get('judge') or '')}</td>" if judged else ""
    return (f"<tr><td class=num>{i}</td><td class=id>{_e(r['id'])}</td><td>{_e(r['question'])}</td>"
            f"<td>{_e(' | '.join(r['golden_answers']))}</td><td>{_e(r.get('prediction', ''))}</td>"
            f"<td>{mark}</td><td class=num>{float(r['f1']):.2f}</td><td class=num>{int(r['subem'])}</td>"
            f"{judge}{_citation_cells(r)}<td class=num>{_e(r.get('searches', ''))}</td>"
            f"<td class=num>{float(r.get('seconds') or 0):.1f}</td><td class=end>{_e(end)}</td><td>{link}</td></tr>")


def _citation_cells(r: dict[str, Any]) -> str:
    """Citation recall, precision, supported-claim rate and uncited sentences ("–": nothing to count)."""
    cells = [_pct(r.get(k)) for k in ("citation_recall", "citation_precision", "supported_claim_rate")]
    cells.append("–" if r.get("uncited_sentences") is None else str(r["uncited_sentences"]))
    return "".join(f"<td class=num>{_e(c)}</td>" for c in cells)


def render_report(summary: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    settings = summary.get("settings", {})
    byline = " · ".join(f"{k} {settings[k]}" for k in ("dataset", "model", "backend", "provider")
                        if settings.get(k))
    judged = bool(summary.get("judged"))
    head = ("<tr><th>#</th><th>id</th><th>question</th><th>golden</th><th>prediction</th><th>EM</th>"
            f"<th>F1</th><th>subEM</th>{'<th>judge</th>' if judged else ''}"
            '<th title="citation recall">cit. R</th><th title="citation precision">cit. P</th>'
            '<th title="supported-claim rate">supported</th><th title="uncited sentences">uncited</th>'
            "<th>searches</th><th>s</th>"
            "<th>end</th><th>report</th></tr>")
    body = "".join(_row(i, r, judged=judged) for i, r in enumerate(rows, start=1))
    partial = "" if summary["complete"] else (
        f'<p class="bad">Partial: {summary["n"]} of {summary["total"]} questions answered; '
        "rerun the same command to resume.</p>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Answer quality</title><style>{_CSS}</style></head>\n<body><main>"
        f'<h1>Answer quality</h1><p class="meta">{_e(byline)} · written {_e(summary["written_at"])}</p>'
        f"{partial}{_cards(summary)}<table><thead>{head}</thead><tbody>{body}</tbody></table>"
        "</main></body></html>\n"
    )


def write_report(path: Path, summary: dict[str, Any], rows: Sequence[dict[str, Any]]) -> None:
    path.write_text(render_report(summary, rows), encoding="utf-8")
