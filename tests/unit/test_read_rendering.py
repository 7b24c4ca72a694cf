"""Reads as people see them: text fragments, the Read panel, the terminal, the reports."""

from __future__ import annotations

import html
import io

from agent.events import Done, Error, PassageRef, ReadDone, ReadStart, SourceRef
from agent.records.reads import read_summary
from agent.terminal import TerminalPrinter
from agent.text.fragments import fragment_url
from ui.mapper import events_to_messages

PASSAGE = "The bridge was opened in 1932 by the mayor of Harbour Town, after six years of building work."


def test_a_link_opens_the_page_at_the_passage():
    url = fragment_url("https://example.org/a-b?x=1#top", PASSAGE)
    assert url.startswith("https://example.org/a-b?x=1#top:~:text=The%20bridge%20was%20opened%20in%201932,")
    assert url.endswith("six%20years%20of%20building%20work.")
    assert fragment_url("https://e.org/", "well-known, a & b") == "https://e.org/#:~:text=well%2Dknown%2C%20a%20%26%20b"
    assert fragment_url("javascript:alert(1)", PASSAGE) is None


def test_a_read_is_said_in_words():
    ok = ReadDone(id=1, url="https://www.example.org/x", latency_s=0.84, bytes=9,
                  passages=(PassageRef(text="a", start=0, end=1),) * 3, title="Bridges")
    assert read_summary(ok) == "Read Bridges (example.org) · 3 passages · 0.8 s"
    failed = ReadDone(id=2, url="https://example.org/z.zip", latency_s=0.1, error="not a page (application/zip)")
    assert read_summary(failed, title="Zip") == "Could not read Zip (example.org): not a page (application/zip)"


def _events(error=None):
    source = SourceRef(id=1, title="Bridges", url="https://example.org/b",
                       passages=None if error else (PassageRef(text=PASSAGE, start=10, end=10 + len(PASSAGE)),))
    done = ReadDone(id=1, url=source.url, latency_s=0.5, error=error,
                    passages=source.passages or (), title="Bridges")
    return [ReadStart(id=1, url=source.url, title="Bridges"), done,
            Done(answer="It opened in 1932 [1].", sources=(source,), cited=(1,))]


def test_the_read_panel_is_live_then_shows_the_passages_and_chips_open_at_the_passage():
    live = events_to_messages(_events()[:1], max_searches=3)
    assert live[0].metadata["title"] == "Reading Bridges…" and live[0].metadata["status"] == "pending"
    messages = events_to_messages(_events(), max_searches=3)
    panel = next(m for m in messages if (m.metadata or {}).get("title", "").startswith("Read "))
    assert panel.metadata["title"] == "Read Bridges (example.org) · 1 passage · 0.5 s"
    assert "opened in 1932" in panel.content and ":~:text=" in html.unescape(panel.content)
    answer = next(m for m in messages if not m.metadata)
    assert "#:~:text=The%20bridge" in html.unescape(answer.content)
    assert "1932 by the mayor" in answer.content  # the chip's preview quotes the passage


def test_a_failed_read_says_why_in_the_panel():
    messages = events_to_messages(_events(error="HTTP 403"), max_searches=3)
    panel = next(m for m in messages if "Could not read" in (m.metadata or {}).get("title", ""))
    assert "HTTP 403" in panel.metadata["title"] and "snippet" in panel.content


def test_the_terminal_prints_reads_and_passages():
    out = io.StringIO()
    renderer = TerminalPrinter(out)
    for event in _events():
        renderer(event)
    text = out.getvalue()
    assert "Read Bridges (example.org) · 1 passage" in text and "> The bridge was opened in 1932" in text


def test_the_stats_panel_says_what_reading_cost():
    from agent.events import ReadStats, RunStats
    from ui.stats import format_stats

    done = Done(answer="x", stats=RunStats(reads=ReadStats(pages_read=2, pages_failed=1, bytes=12345, read_s=0.8,
                                                            tokens_added=640)))
    assert "| pages read | 2 (1 could not be read) · 12,345 bytes · 0.8 s · 640 tokens added |" in format_stats(done)
    assert "pages read" not in format_stats(Done(answer="x"))


def _reading(*titles: str) -> list:
    return [ReadStart(id=n, url=f"https://example.org/{n}", title=t) for n, t in enumerate(titles, 1)]


def test_reads_still_running_when_the_run_is_stopped_say_so():
    from agent.events import Done
    from ui.mapper import AnswerView

    view = AnswerView(max_searches=3).feed_all(_reading("Bridges", "Tunnels"))
    assert [m.metadata["title"] for m in view.messages()] == ["Reading Bridges…", "Reading Tunnels…"]
    view.feed(Done(answer="", stopped=True, end="stopped"))  # the engine's stopped done
    panels = [m for m in view.messages() if m.metadata["title"].startswith("Read")]
    assert [(m.metadata["title"], m.metadata["status"]) for m in panels] == [
        ("Read stopped: Bridges", "done"), ("Read stopped: Tunnels", "done")]
    assert panels[0].content == "Stopped before the page was read."
    ui_stop = AnswerView(max_searches=3).feed_all(_reading("Bridges"))
    ui_stop.mark_stopped()  # Stop from the UI before the engine said so
    assert ui_stop.messages()[0].metadata["title"] == "Read stopped: Bridges"
    failed = AnswerView(max_searches=3).feed_all([*_reading("Bridges"), Error(message="model down")])
    assert failed.messages()[0].metadata["title"] == "Not read: Bridges"  # an error is no Stop


def test_the_chat_the_browser_sends_with_stop_closes_live_reads_and_searches():
    from ui.history import mark_stopped

    history = [{"role": "user", "content": "Q"},
               {"role": "assistant", "content": "Searching…",
                "metadata": {"title": "Searching: bridge \\*history\\*…", "status": "pending"}},
               {"role": "assistant", "content": "Reading…",
                "metadata": {"title": "Reading Bridges…", "status": "pending"}},
               {"role": "assistant", "content": "done one",
                "metadata": {"title": "Reading list (example.org) · 1 passage · 0.2 s", "status": "done"}}]
    out = mark_stopped(history)
    assert out[1]["metadata"] == {"title": "Search cancelled: bridge \\*history\\*", "status": "done"}
    assert out[1]["content"] == "Search cancelled."
    assert out[2]["metadata"] == {"title": "Read stopped: Bridges", "status": "done"}
    assert out[2]["content"] == "Stopped before the page was read."
    assert out[3] == history[3]  # a finished read, whatever its title, is left as it was
