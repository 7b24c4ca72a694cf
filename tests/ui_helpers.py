"""Serving the app on a free local port for the API and browser tests."""

from __future__ import annotations

import socket

import app
from agent.config import Settings
from ui.app_ui import launch_kwargs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(settings: Settings, **kwargs):
    """Launch ``app.create_demo(settings, **kwargs)``; returns (demo, url). Close the demo after."""
    demo = app.create_demo(settings, **kwargs)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_port=port, quiet=True, show_error=False, **launch_kwargs())
    return demo, f"http://127.0.0.1:{port}/"
