"""Bounds under load: update pacing with many live answers, per-session memory and disk, (integration part of test_load_bounds.py)"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import Settings
from tests.unit.test_load_bounds import runtime
from tests.waiting import wait_until
from ui.session import UISession


def _join(url: str, demo, session_hash: str, question: str) -> None:
    import httpx

    fn, ask = next((i, f) for i, f in demo.blocks.fns.items() if f.api_name == "ask")
    settings = [component.value for component in ask.inputs[3:]]  # each setting as the page starts it
    body = {"data": [question, [], None, *settings], "fn_index": fn,
            "session_hash": session_hash, "event_data": None, "trigger_id": None}
    httpx.post(f"{url}gradio_api/queue/join", json=body, timeout=10).raise_for_status()


def _reader(url: str, session_hash: str):
    """A browser tab's event stream that reads its first bytes, then nothing more."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parts.hostname, parts.port))
    sock.sendall(f"GET /gradio_api/queue/data?session_hash={session_hash} HTTP/1.1\r\n"
                 f"Host: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode())
    assert b"200" in sock.recv(64)
    return sock



def test_one_export_folder_per_session_and_none_once_it_is_gone() -> None:
    import gradio as gr

    from ui.app_ui import build_ui

    rt = runtime()
    session = UISession(rt)
    first = session.downloads.new_export_dir()
    second = session.downloads.new_export_dir()
    assert not first.exists() and second.exists()  # the previous answer's files went
    cancel = session.control.begin()
    demo = build_ui(rt)
    state = next(b for b in demo.blocks.values() if isinstance(b, gr.State))
    state.delete_callback(session)  # what Gradio calls when the tab closes or the state expires
    assert not second.exists() and cancel.is_set()
    state.delete_callback(None)  # a session that never asked anything
    assert demo.delete_cache is not None  # Gradio's copies of the downloads expire too


def test_a_tab_that_stops_reading_holds_no_engine_thread_or_slot() -> None:
    from tests.integration.test_ui_api import ask, client, scripted
    from tests.ui_helpers import pump_threads, serve

    demo, url = serve(scripted(script_delay_s=0.005, concurrency_local=1, queue_max_size=4))
    try:
        before = pump_threads()
        _join(url, demo, "stalled", "How tall is the Eiffel Tower?")
        sock = _reader(url, "stalled")
        wait_until(lambda: pump_threads() - before, "the stalled tab's answer starting")
        # It runs to its end without anyone reading it, and the one slot is free for the next person.
        wait_until(lambda: not pump_threads() - before, "the unread answer letting go of its engine", timeout=60)
        _, chat, *_ = ask(client(url), "And now?").result(timeout=60)
        assert chat and sock.fileno() != -1  # served while the stalled tab is still connected
        sock.close()
    finally:
        demo.close()


def test_a_tab_that_goes_away_mid_answer_ends_its_generation() -> None:
    from tests.integration.test_ui_api import scripted
    from tests.ui_helpers import pump_threads, serve

    demo, url = serve(scripted(script_delay_s=0.5, concurrency_local=1, queue_max_size=4))  # minutes long
    try:
        before = pump_threads()
        _join(url, demo, "gone", "How tall is the Eiffel Tower?")
        sock = _reader(url, "gone")
        wait_until(lambda: pump_threads() - before, "the tab's answer starting")
        sock.close()  # the tab is closed
        wait_until(lambda: not pump_threads() - before, "the closed tab's answer ending its generation")
    finally:
        demo.close()


def test_gradio_threads_grow_with_the_answers_allowed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import gradio as gr

    import app

    assert app.worker_threads(Settings(backend="openai", base_url="http://x/v1", concurrency_remote=128)) >= 256
    assert app.worker_threads(Settings()) == 40  # Gradio's own default for one local GPU
    seen = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(kw))
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: None)
    monkeypatch.setenv("DEEPSEARCH_CONCURRENCY_LOCAL", "64")
    data = Path(__file__).resolve().parents[1] / "data"
    assert app.main(["--model-script", str(data / "ui.script.json"),
                     "--search-fixture", str(data / "ui.search.json")]) == 0
    assert seen["max_threads"] >= 128

