"""The three servers of ``bench/load.py`` as child processes, and what is measured of them.

``Servers`` starts the fake model server, the app (``python app.py --backend
openai``) and the baseline chat, each on a free port of 127.0.0.1, waits until
each answers (bounded), and stops exactly the processes it started. Their
output goes to log files in the work folder; a server that fails to start is
reported with the tail of its log.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Literal

import psutil

from bench.load_fake_server import MODEL, QUERY

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 180.0  # importing gradio on a loaded 2-core box can take a minute
Name = Literal["fake", "app", "baseline"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process (all its threads) so far."""
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def _get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # 127.0.0.1 only
        return response.read()


class Servers:
    """The fake model server, the app and the baseline, running until the ``with`` block ends."""

    def __init__(self, workdir: Path, *, tokens: int, tok_s: float, concurrency: int, ttft_s: float = 0.2) -> None:
        self.workdir = Path(workdir)
        self.tokens_per_answer = tokens
        self.tok_s = tok_s
        self.ttft_s = ttft_s
        self.concurrency = concurrency
        self.ports: dict[Name, int] = {}
        self.procs: dict[Name, subprocess.Popen] = {}

    def url(self, name: Name) -> str:
        return f"http://127.0.0.1:{self.ports[name]}/"

    def pid(self, name: Name) -> int:
        return self.procs[name].pid

    def tokens(self) -> int:
        """Tokens the fake server has streamed so far, to anyone."""
        return int(json.loads(_get(self.url("fake") + "stats"))["tokens"])

    def __enter__(self) -> "Servers":
        try:
            self._start_all()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_all(self) -> None:
        fixture = self.workdir / "search.json"
        fixture.write_text(json.dumps({QUERY: [
            {"title": f"Source {i}", "url": f"https://example.com/{i}",
             "content": f"The tower is about 330 metres tall (source {i})."} for i in range(1, 4)]}))
        self._spawn("fake", [str(REPO_ROOT / "bench" / "load_fake_server.py"),
                             "--tokens", str(self.tokens_per_answer), "--tok-s", str(self.tok_s),
                             "--ttft-s", str(self.ttft_s)])
        self._wait_ready("fake", "stats")  # the app asks the model server at start-up
        model_url = self.url("fake") + "v1"
        queue = str(2 * self.concurrency + 16)
        # The app and the baseline start side by side: each spends seconds importing gradio.
        self._spawn("app", ["app.py", "--backend", "openai", "--base-url", model_url, "--model", MODEL,
                            "--search-fixture", str(fixture), "--host", "127.0.0.1"],
                    env={"DEEPSEARCH_CONCURRENCY_REMOTE": str(self.concurrency), "DEEPSEARCH_QUEUE_SIZE": queue})
        self._spawn("baseline", [str(REPO_ROOT / "bench" / "load_baseline.py"), "--base-url", model_url,
                                 "--concurrency", str(self.concurrency), "--queue-size", queue])
        self._wait_ready("app", "config")
        self._wait_ready("baseline", "config")

    def _spawn(self, name: Name, args: list[str], *, env: dict[str, str] | None = None) -> None:
        port = free_port()
        self.ports[name] = port
        full_env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "TAVILY_API_KEY")}
        full_env.update({"PYTHON_DOTENV_DISABLED": "1", "GRADIO_ANALYTICS_ENABLED": "False",
                         "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT), **(env or {})})
        with (self.workdir / f"{name}.log").open("w") as log:
            self.procs[name] = subprocess.Popen([sys.executable, *args, "--port", str(port)], cwd=REPO_ROOT,
                                                env=full_env, stdout=log, stderr=subprocess.STDOUT)

    def _wait_ready(self, name: Name, ready: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                break
            try:
                _get(self.url(name) + ready, timeout=2.0)
                return
            except OSError:
                time.sleep(0.2)
        tail = (self.workdir / f"{name}.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the {name} server did not start on port {self.ports[name]} within "
                           f"{START_TIMEOUT_S:.0f} s:\n{tail}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
