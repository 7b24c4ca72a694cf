"""``docker stop`` / a Space restart: SIGTERM shuts the web app down like Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

import app
from agent.config import Settings
from tests.ui_helpers import DATA, serve, start_app_on_free_port
from tests.waiting import wait_until

QUESTION = "What is the capital of France?"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_mid_answer_exits_cleanly(sig: signal.Signals) -> None:
    lines: list[str] = []
    # A slow scripted model, so an answer is still streaming when the signal comes.
    proc, port = start_app_on_free_port(lines, DEEPSEARCH_SCRIPT_DELAY="0.3")
    try:
        c = Client(f"http://127.0.0.1:{port}/", verbose=False)
        job = c.submit(QUESTION, [], 5, "fixture", 5, 0.6, 1024, api_name="/ask")
        wait_until(job.outputs, "the answer starting to stream", timeout=60)
        assert not job.done()
        proc.send_signal(sig)
        sent = time.monotonic()
        rest, _ = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = "".join(lines) + rest
    assert proc.returncode == 0, out
    assert took < 15, f"took {took:.1f} s to stop\n{out}"
    assert f"stopping ({sig.name})" in out, out
    assert "Traceback" not in out and "Keyboard interruption" not in out, out


def test_close_cancels_running_answers_and_deletes_uploads(tmp_path: Path) -> None:
    built, url = serve(Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                                search_fixture=str(DATA / "ui.search.json"), provider="fixture",
                                script_delay_s=0.3))
    try:
        c = Client(url, verbose=False)
        c.submit(QUESTION, [], 5, "fixture", 5, 0.6, 1024, api_name="/ask")
        (session,) = wait_until(built.runtime.sessions.live, "the browser session registering", timeout=60)
        doc = tmp_path / "notes.txt"
        doc.write_text("The harbour master keeps the tide tables.", encoding="utf-8")
        session.documents.add([str(doc)])
        folder = session.documents.folder
        assert folder is not None and folder.exists()
        running = wait_until(lambda: session.control.cancel, "the session's answer starting", timeout=60)
        assert running is not None and not running.is_set()
    finally:
        closer = threading.Thread(target=built.close)
        closer.start()
        closer.join(timeout=30)
    assert not closer.is_alive(), "App.close hung"
    assert running.is_set()  # the engine (and a GPU generation thread) sees Stop
    assert not folder.exists()
    assert not built.blocks.is_running


def test_close_ends_the_server_while_a_client_still_reads_an_answer() -> None:
    """The server ends with App.close: it does not sit on the event stream of a client reading
    an answer until Gradio's close gives up on it (5 s; every stop took that long)."""
    built, url = serve(Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                                search_fixture=str(DATA / "ui.search.json"), provider="fixture",
                                script_delay_s=0.3))
    try:
        job = Client(url, verbose=False).submit(QUESTION, [], 5, "fixture", 5, 0.6, 1024, api_name="/ask")
        wait_until(job.outputs, "the answer streaming to the client", timeout=60)
    finally:
        built.close()
    assert not built.blocks.server.thread.is_alive(), "App.close returned while the server still served"


def test_a_connection_still_open_after_the_grace_is_cut_with_one_plain_line() -> None:
    """A stream the server must cut when the grace runs out (on a loaded machine, an answer's
    event stream that has not ended by then) is said in one line, not as an error with a
    traceback: uvicorn's real shutdown, with a stream that never ends."""
    built, url = serve(Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                                search_fixture=str(DATA / "ui.search.json"), provider="fixture"))
    opened = threading.Event()

    async def endless(_request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            opened.set()
            yield b"data: open\n\n"
            await asyncio.Event().wait()
        return StreamingResponse(chunks(), media_type="text/event-stream")

    # Served ahead of Gradio's own routes, its catch-all included.
    built.blocks.app.router.routes.insert(0, Route("/test-endless", endless))
    said = io.StringIO()
    handler = logging.StreamHandler(said)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(handler)

    def read() -> None:
        with contextlib.suppress(httpx.HTTPError), httpx.stream("GET", url + "test-endless", timeout=60) as r:
            for _ in r.iter_bytes():
                pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_until(opened.is_set, "the endless stream opening", timeout=60)
    finally:
        built.close()
        uvicorn_log.removeHandler(handler)
    out = said.getvalue()
    assert f"INFO closing 1 connection(s) still open {app.CLOSE_GRACE_S:g} s after the stop" in out, out
    assert "Traceback" not in out and "Exception in ASGI application" not in out and "ERROR" not in out, out
    assert not built.blocks.server.thread.is_alive()


def test_signal_handler_sets_the_stop_event_then_a_second_interrupts() -> None:
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        trap = app.StopTrap().install()
        signal.raise_signal(signal.SIGTERM)
        assert trap.stop.is_set() and trap.signum == signal.SIGTERM
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGHUP)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_a_handler_installed_before_ours_runs_after_the_shutdown() -> None:
    """Gradio's SSR mode installs a SIGTERM handler at launch that stops its Node server and exits:
    ours takes over, and hands the signal on once the answers are ended."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    seen: list[int] = []
    try:
        signal.signal(signal.SIGTERM, lambda signum, _frame: seen.append(signum))
        trap = app.StopTrap().install()
        signal.raise_signal(signal.SIGTERM)
        assert seen == []  # not before our shutdown
        trap.pass_on()
        assert seen == [signal.SIGTERM]
        signal.signal(signal.SIGINT, signal.default_int_handler)
        ctrl_c = app.StopTrap().install()
        signal.raise_signal(signal.SIGINT)
        ctrl_c.pass_on()  # Python's own Ctrl-C handler is not called: it would only raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_close_deletes_uploads_of_a_session_that_never_asked(tmp_path: Path) -> None:
    """A visitor who only uploaded: their documents go at shutdown (and when the tab closes) too."""
    from types import SimpleNamespace

    from ui.documents_panel import DocumentsPanel

    built = app.create_demo(Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                                     search_fixture=str(DATA / "ui.search.json"), provider="fixture"))
    doc = tmp_path / "notes.txt"
    doc.write_text("The harbour master keeps the tide tables.", encoding="utf-8")
    session, *_ = DocumentsPanel(built.runtime).upload([str(doc)], None, SimpleNamespace(session_hash="tab-1"))
    folder = session.documents.folder
    assert folder is not None and folder.exists()
    built.close()
    assert not folder.exists()
