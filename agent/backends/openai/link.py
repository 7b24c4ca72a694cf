"""One round's HTTP exchange with the model server, abortable from any thread at any point.

Stop must end a round at once whether the request is connecting, waiting for the
server's first byte or streaming, and a server that keeps a stream open without
progress (``: keepalive`` comments, empty deltas) must not hold a run forever.
Neither shows up as an exception in the reading thread: it is blocked in a
``recv`` that only more bytes, or the socket going away, can wake.

So the openai client sends through ``AbortableTransport``: a request made while a
``RoundLink`` is current records the socket of its connection, and
``RoundLink.abort`` shuts that socket down, which wakes the blocked read at once
and sends the server a FIN (vLLM aborts the request). The transport also refuses
every later request of an aborted round, so the client's retry loop cannot send
the question again. Keep-alive is off because a pooled connection's socket is
never announced to the request that reuses it; one TCP handshake per round is
nothing next to a model round.
"""

from __future__ import annotations

import socket
import threading
import time
from contextvars import ContextVar
from typing import Any, Callable, Literal, TypeVar

import httpx2
import openai

from ...errors import DeepSearchError

AbortReason = Literal["cancelled", "stalled"]
T = TypeVar("T")

_POLL_S = 0.05
_CURRENT: ContextVar["RoundLink | None"] = ContextVar("deepsearch_round_link", default=None)
_CONNECTED = ("connection.connect_tcp.complete", "connection.connect_unix_socket.complete")


class LinkAborted(openai.OpenAIError, DeepSearchError):
    """A request of an aborted round; an ``OpenAIError`` so the client never retries it."""


class RoundLink:
    """The sockets of one round, a watchdog for Stop and for a stalled stream, and ``abort``.

    The stall clock runs only once ``start_stall_clock`` is called (the stream is open):
    before that, the client's own timeout and retries bound the wait for an answer.
    """

    def __init__(self, cancel: threading.Event, *, stall_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cancel = cancel
        self.stall_s = stall_s
        self.aborted: AbortReason | None = None
        self._clock = clock
        self._progress_at: float | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        threading.Thread(target=self._watch, name="openai-round-watch", daemon=True).start()

    def start_stall_clock(self) -> None:
        self._progress_at = self._clock()

    def progressed(self) -> None:
        """The server sent something new (text, reasoning, tool-call arguments)."""
        self._progress_at = self._clock()

    def finish(self) -> None:
        """The round is over: stop watching."""
        self._done.set()

    def abort(self, reason: AbortReason) -> None:
        with self._lock:
            if self.aborted is not None:
                return
            self.aborted = reason
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def call(self, fn: Callable[[], T], *, discard: Callable[[T], None]) -> T | None:
        """``fn()`` (a request) in a helper thread, so an abort returns at once: ``None`` then.

        What an abandoned request still returns later is handed to ``discard`` (to close it).
        """
        box: dict[str, Any] = {}
        ready = threading.Event()

        def work() -> None:
            _CURRENT.set(self)  # a new thread starts with a fresh context
            try:
                box["value"] = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                box["error"] = exc
            with self._lock:
                ready.set()
                abandoned = box.get("abandoned", False)
            if abandoned and "value" in box:
                discard(box["value"])

        threading.Thread(target=work, name="openai-request", daemon=True).start()
        while not ready.wait(_POLL_S):
            with self._lock:
                if self.aborted is not None and not ready.is_set():
                    box["abandoned"] = True
                    return None
        if "error" in box:
            raise box["error"]
        return box["value"]

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: remember each socket this round connects."""
        if name not in _CONNECTED:
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            late = self.aborted is not None
        if late:
            _shut(sock)

    def _watch(self) -> None:
        while not self._done.is_set():
            if self.cancel.wait(_POLL_S):
                self.abort("cancelled")
                return
            since = self._progress_at
            if since is not None and self._clock() - since > self.stall_s:
                self.abort("stalled")
                return


class AbortableTransport(httpx2.HTTPTransport):
    """Tags every request of the current round so its socket can be shut down."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        link = _CURRENT.get()
        if link is not None:
            if link.aborted is not None:
                raise LinkAborted(f"the round was {link.aborted}; not sending {request.method} {request.url.path}")
            request.extensions["trace"] = link.trace
        return super().handle_request(request)


def http_client(*, max_connections: int = 1000) -> httpx2.Client:
    """The openai client's HTTP client: the SDK's defaults, our transport, no keep-alive."""
    limits = httpx2.Limits(max_connections=max_connections, max_keepalive_connections=0)
    return openai.DefaultHttpxClient(transport=AbortableTransport(limits=limits))


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: the reader has noticed by itself
