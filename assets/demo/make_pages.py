"""Writes assets/demo/pages.json: the page fixture of the demo (``python assets/demo/make_pages.py``).

Each result of assets/demo/search.json gets a bundled stand-in page (never fetched): site
chrome around the result's own text, so the demo's Read panels, passage chips and reports
have pages to read offline. One page answers 403, to show a read that fails and the answer
going on with the snippet.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
FORBIDDEN = {"https://www.bbc.com/news/world-europe-60760385"}


def page(title: str, url: str, content: str) -> str:
    site = urlsplit(url).hostname or "site"
    e = html.escape
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title></head><body>"
            f"<nav><a href='/'>{e(site)}</a> · <a href='/news'>News</a> · <a href='/about'>About</a></nav>"
            "<div class='cookie'>This site uses cookies. <button>Accept</button></div>"
            f"<main><article><h1>{e(title)}</h1><p>{e(content)}</p>"
            "<p>This page is a stand-in bundled with the demo: it repeats the search result's own text, "
            "so the demo can show pages being read without fetching anything.</p></article>"
            "<aside><h3>Related</h3><ul><li><a href='/more'>More stories</a></li></ul></aside></main>"
            f"<footer>© {e(site)}</footer></body></html>")


def main() -> None:
    search = json.loads((HERE / "search.json").read_text(encoding="utf-8"))
    pages: dict[str, object] = {}
    for results in search.values():
        for r in results if isinstance(results, list) else []:
            pages[r["url"]] = {"status": 403} if r["url"] in FORBIDDEN else page(r["title"], r["url"], r["content"])
    (HERE / "pages.json").write_text(json.dumps(pages, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(pages)} pages to {HERE / 'pages.json'}")


if __name__ == "__main__":
    main()
