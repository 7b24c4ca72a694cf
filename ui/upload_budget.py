"""A byte budget on Gradio's upload route, whatever handler (if any) the upload is for.

Gradio stores every POST to ``/gradio_api/upload`` (each file up to ``max_file_size``) before any
event handler sees it, and sweeps its cache only hourly: an anonymous client could post hundreds
of megabytes in seconds without ever calling the Documents handler. This ASGI middleware counts
the declared bytes per client address and overall in a sliding window and answers 429 once
either budget is spent (a request without a length is refused: 411). The app also sweeps
Gradio's cache more often (``ui.app_ui.EXPORT_CACHE_S``).
"""

from __future__ import annotations

import collections
import json
import threading
import time
from typing import Any, Awaitable, Callable

WINDOW_S = 900.0  # bytes count against a budget for 15 minutes
PER_CLIENT_BYTES = 120_000_000  # six 20 MB documents per client per window
TOTAL_BYTES = 1_000_000_000  # all clients together

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]


class UploadBudget:
    """ASGI middleware: ``FastAPI(middleware=[Middleware(UploadBudget, ...)])``."""

    def __init__(self, app: ASGIApp, *, per_client: int | None = None, total: int | None = None,
                 window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.window_s, self.clock = app, window_s, clock
        self.per_client = PER_CLIENT_BYTES if per_client is None else per_client
        self.total = TOTAL_BYTES if total is None else total
        self._spent: collections.deque[tuple[float, str, int]] = collections.deque()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or \
                not str(scope.get("path", "")).rstrip("/").endswith("/upload"):
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        client = (scope.get("client") or ("unknown", 0))[0]
        refusal = self._charge(client, length)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        await self.app(scope, receive, send)

    def _charge(self, client: str, length: int | None) -> tuple[int, str] | None:
        if length is None:
            return 411, "an upload must say its length (Content-Length)"
        with self._lock:
            now = self.clock()
            while self._spent and now - self._spent[0][0] > self.window_s:
                self._spent.popleft()
            mine = sum(n for _, who, n in self._spent if who == client)
            everyone = sum(n for _, _, n in self._spent)
            if mine + length > self.per_client:
                return 429, (f"this address has uploaded {mine / 1e6:.0f} MB in the last {self.window_s / 60:.0f} "
                             "minutes, the most allowed; try again later")
            if everyone + length > self.total:
                return 429, "the server takes no more uploads for now; try again later"
            self._spent.append((now, client, length))
        return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name.lower() == b"content-length":
            try:
                n = int(value)
            except ValueError:
                return None
            return n if n >= 0 else None
    return None


async def _answer(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
