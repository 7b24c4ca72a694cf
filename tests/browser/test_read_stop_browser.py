"""Stop while pages are being read, through the UI's Stop button, against real fetches.

The pages come from a server on 127.0.0.1 (read with --allow-private-fetch) that sends the
start of each page and then holds the rest until the test releases it, so the reads are in
flight when Stop is pressed. The run must end stopped at once, each Read panel must say it was
stopped, every held connection must be dropped by the app (the server sees it close: no fetch
goes on in the background) and no page be asked for again, and the next question must read
and answer as usual. Nothing sleeps: the server wakes when a connection closes or on release.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from agent.api import PROVIDERS, ProviderSpec, register_provider  # noqa: E402
from agent.config import Settings  # noqa: E402
from tests.browser.test_ui_browser import ANSWER, ask, close, page_for, titles, wait_done  # noqa: E402
from tests.engine_helpers import FakeProvider  # noqa: E402
from tests.ui_helpers import serve  # noqa: E402
from tests.waiting import wait_until  # noqa: E402

HELD = 3
PROVIDER = "held-pages"


def page_html(title: str, text: str) -> bytes:
    return (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1><p>{text}</p>"
            f"<p>{'Nothing else of note happened in the town that year. ' * 30}</p></article></body></html>").encode()


class HeldPages:
    """Pages on 127.0.0.1: ``/held/N`` sends its first bytes, then waits until the client drops the
    connection (recorded in ``dropped``, with the time) or the test calls ``release``."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.dropped: dict[str, float] = {}
        self.lock = threading.Lock()
        self._release_r, self._release_w = socket.socketpair()
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with pages.lock:
                    pages.requests.append(self.path)
                held = self.path.startswith("/held/")
                body = page_html(f"Held page {self.path[-1]}" if held else "Quick page",
                                 "The quick page says the ferry runs at noon.")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not held:
                    self.wfile.write(body)
                    return
                self.wfile.write(body[:64])
                self.wfile.flush()
                ready, _, _ = select.select([self.connection, pages._release_r], [], [])
                if self.connection in ready and self.connection.recv(1) == b"":
                    with pages.lock:
                        pages.dropped[self.path] = time.monotonic()
                    return
                self.wfile.write(body[64:])

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, name="held-pages", daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def seen(self, prefix: str) -> list[str]:
        with self.lock:
            return [p for p in self.requests if p.startswith(prefix)]

    def release(self) -> None:
        self._release_w.send(b"x")

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
        self._release_r.close()
        self._release_w.close()


def call(query: str) -> str:
    return ("Let me look.\n</think>\n\n<tool_call>\n"
            + json.dumps({"name": "web_search", "arguments": {"query": query}}) + "\n</tool_call>")


@pytest.fixture()
def held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The held pages must outlast the test: with the reader's 15 s deadline, a loaded machine
    # (load average ~60 beside two busy loops) let the fetches time out and the answer end
    # before the test's Stop click landed. A Stop that left them to the deadline still shows:
    # the server sees every connection dropped within 10 s of it, not after 120 s.
    import agent.reading
    from agent.read import FetchLimits, HttpFetcher

    monkeypatch.setattr(agent.reading, "HttpFetcher",
                        lambda **kw: HttpFetcher(limits=FetchLimits(total_s=120), **kw))
    pages = HeldPages()
    results = {"held pages": [{"title": f"Held page {n}", "url": pages.url(f"/held/{n}"), "content": f"snippet {n}"}
                              for n in range(1, HELD + 1)],
               "quick page": [{"title": "Quick page", "url": pages.url("/quick"), "content": "quick snippet"}]}
    register_provider(ProviderSpec(name=PROVIDER, label="Held pages", choice="Held pages (test)",
                                   description="results whose pages a local test server holds",
                                   factory=lambda *, settings, indexes: [FakeProvider(results, name=PROVIDER)]))
    script = {"questions": {"Read the held pages": [call("held pages"), "Done.\n</think>\n\nNever shown [1]."],
                            "Read the quick page": [call("quick page"),
                                                    "Read it.\n</think>\n\nThe ferry runs at noon [1]."]}}
    (tmp_path / "rounds.json").write_text(json.dumps(script), encoding="utf-8")
    settings = Settings(backend="scripted", model_script=str(tmp_path / "rounds.json"), provider=PROVIDER,
                        allow_private_fetch=True, read="auto", read_top=HELD)
    demo, url = serve(settings)
    try:
        yield pages, url
    finally:
        demo.close()
        PROVIDERS.pop(PROVIDER)
        pages.close()


def fetch_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name in ("page-fetch", "page-read") and t.is_alive()}


def test_stop_while_pages_are_read_ends_the_run_drops_the_fetches_and_the_next_question_reads(
        browser, held) -> None:
    pages, url = held
    before = fetch_threads()
    page = page_for(browser, url)
    ask(page, "Read the held pages")
    wait_until(lambda: len(pages.seen("/held/")) == HELD, f"the app asking the server for all {HELD} pages")
    page.wait_for_function(f"[...document.querySelectorAll('#chat .thought-group > .title')]"
                           f".filter(t => t.innerText.startsWith('Reading Held page')).length === {HELD}",
                           timeout=30_000)
    stopped_at = time.monotonic()
    page.click("#stop")
    assert "stopped" in wait_done(page, 30_000)  # done.end "stopped": the meter says it
    # Every held connection is closed by the app, not left to the fetch deadline.
    wait_until(lambda: len(pages.dropped) == HELD, "the server seeing every held connection dropped")
    slowest = max(pages.dropped.values()) - stopped_at
    assert slowest < 10, f"a fetch went on {slowest:.1f} s after Stop"
    wait_until(lambda: not fetch_threads() - before, "the page fetches ending after Stop")
    shown = titles(page, raw=True)
    assert sorted(t for t in shown if t.startswith("Read stopped: ")) == \
        [f"Read stopped: Held page {n}" for n in range(1, HELD + 1)], shown
    assert "Never shown" not in page.inner_text("#chat")
    # The engine's own done came (the answer's trace is offered) and it says the run was stopped.
    page.wait_for_selector("#dl-trace", state="visible", timeout=10_000)
    with page.expect_download(timeout=10_000) as info:
        page.click("#dl-trace")
    events = [json.loads(line) for line in Path(info.value.path()).read_text(encoding="utf-8").splitlines()]
    assert events[-1]["type"] == "done" and events[-1]["end"] == "stopped" and events[-1]["stopped"] is True
    assert [e["id"] for e in events if e["type"] == "read_start"] == [1, 2, 3]
    assert not [e for e in events if e["type"] == "read_done"]  # no page is said to be read, or to have failed
    assert sorted(pages.seen("/held/")) == [f"/held/{n}" for n in range(1, HELD + 1)]  # none asked for again

    ask(page, "Read the quick page")
    page.wait_for_function("document.querySelectorAll('[data-testid=\"user\"]').length == 2")
    assert " · done" in wait_done(page, 60_000)
    assert "The ferry runs at noon" in page.locator(ANSWER).last.inner_text()
    shown = titles(page, raw=True)
    assert any(t.startswith("Read Quick page (127.0.0.1) · ") and " passage" in t for t in shown), shown
    assert pages.seen("/quick") == ["/quick"] and len(pages.seen("/held/")) == HELD
    close(page)
