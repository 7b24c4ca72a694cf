"""The test servers start even when a parallel process takes the port picked for them first."""

from __future__ import annotations

import socket

import gradio as gr
import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests import ui_helpers
from tests.index_helpers import LocalServer


def test_launch_tries_a_fresh_port_when_the_picked_one_was_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_port = taken.getsockname()[1]
        picks = iter([taken_port, ui_helpers.free_port()])
        monkeypatch.setattr(ui_helpers, "free_port", lambda: next(picks))
        with gr.Blocks() as demo:
            gr.Markdown("hello")
        url = ui_helpers.launch_on_free_port(demo)
        try:
            assert f":{taken_port}/" not in url
            assert httpx.get(url).status_code == 200
        finally:
            demo.close()


def test_local_server_holds_its_port_from_the_moment_it_picks_it() -> None:
    app = Starlette(routes=[Route("/", lambda _request: PlainTextResponse("up"))])
    server = LocalServer(app)
    with socket.socket() as rival, pytest.raises(OSError):
        rival.bind(("127.0.0.1", server.port))  # a parallel process picking the same port now
    with server:
        assert httpx.get(server.url).text == "up"
