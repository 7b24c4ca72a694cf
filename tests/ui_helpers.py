"""Serving the app on a free local port for the API and browser tests."""

from __future__ import annotations

import socket
import threading

import app
from agent.config import Settings
from ui.app_ui import launch_kwargs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(settings: Settings, **kwargs) -> tuple[app.App, str]:
    """Launch ``app.create_demo(settings, **kwargs)``; returns (app, url). Close ``app.blocks`` after."""
    built = app.create_demo(settings, **kwargs)
    port = free_port()
    built.blocks.launch(prevent_thread_lock=True, server_port=port, quiet=True, show_error=False,
                        **launch_kwargs())
    return built, f"http://127.0.0.1:{port}/"


def pump_threads() -> set[threading.Thread]:
    """The app's live engine threads. Tests compare against a snapshot taken before they ask,
    since a run another test left going (in this process) is none of their business."""
    return {t for t in threading.enumerate() if t.name == "engine-pump" and t.is_alive()}
