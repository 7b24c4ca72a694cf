"""Serving the app on a free local port for the API and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import gradio as gr

import app
from agent.config import Settings
from ui.app_ui import launch_kwargs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


# A port free_port() reports can be taken by a parallel test process before the server binds it;
# a few fresh tries make that race vanishingly rare without hiding a server that cannot start.
PORT_TRIES = 5
PORT_TAKEN = "Cannot find empty port"  # what Gradio's launch() raises (OSError) when the bind fails


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_on_free_port(demo: gr.Blocks, **launch: Any) -> str:
    """``demo.launch(**launch)`` on a free local port, trying a fresh one when it was taken
    meanwhile; returns the URL."""
    for _ in range(PORT_TRIES):
        port = free_port()
        try:
            demo.launch(prevent_thread_lock=True, server_port=port, quiet=True, show_error=False, **launch)
        except OSError as exc:
            if PORT_TAKEN not in str(exc):
                raise
            continue
        return f"http://127.0.0.1:{port}/"
    raise OSError(f"no free port after {PORT_TRIES} tries: is the machine out of ports?")


def serve(settings: Settings, **kwargs) -> tuple[app.App, str]:
    """Launch ``app.create_demo(settings, **kwargs)``; returns (app, url). Close ``app.blocks`` after."""
    built = app.create_demo(settings, **kwargs)
    return built, launch_on_free_port(built.blocks, **launch_kwargs())


def pump_threads() -> set[threading.Thread]:
    """The app's live engine threads. Tests compare against a snapshot taken before they ask,
    since a run another test left going (in this process) is none of their business."""
    return {t for t in threading.enumerate() if t.name == "engine-pump" and t.is_alive()}


def start_app(port: int, **env_vars: str) -> subprocess.Popen:
    """``python app.py`` on ``port`` with the scripted test model, as people start it; its
    output (stdout and stderr) on ``proc.stdout``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "TAVILY", "OPENAI", "SPACE_"))}
    # No saved history unless a test gives it a data folder: never the user's own.
    history = {} if "DEEPSEARCH_DATA_DIR" in env_vars else {"DEEPSEARCH_HISTORY": "0"}
    env.update(PYTHON_DOTENV_DISABLED="1", GRADIO_ANALYTICS_ENABLED="False", **history, **env_vars)
    return subprocess.Popen([sys.executable, "app.py", "--model-script", str(DATA / "ui.script.json"),
                             "--search-fixture", str(DATA / "ui.search.json"), "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def start_app_on_free_port(lines: list[str], **env_vars: str) -> tuple[subprocess.Popen, int]:
    """``start_app`` on a free port, read into ``lines`` until it serves; a fresh port when the
    one picked was taken meanwhile (the app then exits naming Gradio's OSError)."""
    for _ in range(PORT_TRIES):
        port = free_port()
        proc = start_app(port, **env_vars)
        tried: list[str] = []
        try:
            served = read_until(proc, "Running on local URL", tried)
        except BaseException:  # a timeout or Ctrl-C while it starts: the app is not left behind
            stop_app(proc)
            raise
        if served:
            lines += tried
            return proc, port
        stop_app(proc)
        if not any(PORT_TAKEN in line for line in tried):
            raise AssertionError("the app did not start:\n" + "".join(tried))
    raise AssertionError(f"no free port after {PORT_TRIES} tries")


def stop_app(proc: subprocess.Popen) -> None:
    """Kill an app process (one that already ended too) and reap it."""
    proc.kill()
    proc.wait(timeout=30)
    if proc.stdout is not None:
        proc.stdout.close()


class AppProcesses:
    """The ``python app.py`` processes one test starts, each killed when the test ends, whatever
    happened: an app that never served (a restart on the same port that failed, a failed
    assertion between two starts) is never left running beside the next tests."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen] = []

    def start(self, lines: list[str], *, port: int | None = None, **env_vars: str) -> tuple[subprocess.Popen, int]:
        """An app serving on a free port, or on ``port`` (the same origin again); its output read
        into ``lines`` until it serves."""
        if port is None:
            proc, port = start_app_on_free_port(lines, **env_vars)
            self._started.append(proc)
        else:
            proc = start_app(port, **env_vars)
            self._started.append(proc)
            assert read_until(proc, "Running on local URL", lines), "".join(lines)
        return proc, port

    def start_together(self, lines: list[str], count: int, **env_vars: str) -> list[tuple[subprocess.Popen, int]]:
        """``count`` apps started at once, each on a free port of its own: their imports (Gradio's
        some seconds) overlap instead of following one another. Each is read into ``lines`` until
        it serves; one whose port was taken meanwhile is started again on a fresh one."""
        started = []
        for _ in range(count):
            port = free_port()
            proc = start_app(port, **env_vars)
            self._started.append(proc)
            started.append((proc, port))
        for i, (proc, _) in enumerate(started):
            tried: list[str] = []
            if read_until(proc, "Running on local URL", tried):
                lines += tried
            elif any(PORT_TAKEN in line for line in tried):
                started[i] = self.start(lines, **env_vars)
            else:
                raise AssertionError("the app did not start:\n" + "".join(tried))
        return started

    def close(self) -> None:
        for proc in self._started:
            stop_app(proc)


def read_until(proc: subprocess.Popen, marker: str, lines: list[str], timeout: float = 120) -> bool:
    """Read ``proc``'s output into ``lines`` until a line holds ``marker``: whether one did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            return False
        lines.append(line)
        if marker in line:
            return True
    return False
