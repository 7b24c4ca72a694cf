"""How a read is said, the same in the terminal, the reports and the chat's Read panel."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..events import ReadDone


def domain(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def read_summary(done: ReadDone, *, title: str = "") -> str:
    """"Read Title (example.org) · 3 passages · 0.8 s", or "Could not read Title (example.org):
    timed out" (the run went on with the snippet)."""
    name = done.title or title or done.url or "the source"
    where = f" ({domain(done.url)})" if domain(done.url) else ""
    if done.error is not None:
        return f"Could not read {name}{where}: {done.error}"
    count = len(done.passages)
    return f"Read {name}{where} · {count} passage{'s' if count != 1 else ''} · {done.latency_s:.1f} s"
