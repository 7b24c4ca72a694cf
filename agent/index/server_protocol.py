"""uvicorn's HTTP/1.1 protocol with the two bounds it lacks: a header deadline and a connection cap.

uvicorn closes a kept-alive connection that idles between requests, but a client
that opens a connection and sends nothing, or half its headers a byte at a time,
is kept for ever; enough of them exhaust the process's file descriptors and
nobody else is served. Every connection here must finish a request's headers
within ``HEADER_TIMEOUT_S`` of starting it (or of opening the connection), and a
connection beyond ``MAX_CONNECTIONS`` is closed as soon as it is accepted.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

HEADER_TIMEOUT_S = 10.0
# Far below the usual 1,024 descriptors a process may open; Search-R1's trainer sends one batch
# request at a time, and an inference client one per question.
MAX_CONNECTIONS = 256

log = logging.getLogger(__name__)


def bounded_protocol() -> type:
    """The protocol class (built on first use: uvicorn is imported only by ``serve``)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class BoundedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > MAX_CONNECTIONS:
                log.warning("more than %d connections are open; closing a new one", MAX_CONNECTIONS)
                transport.close()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._awaiting_headers():
                if self._header_timer is None:
                    self._arm()  # the next request on a kept-alive connection has begun
            else:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _awaiting_headers(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._header_timer = self.loop.call_later(HEADER_TIMEOUT_S, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if self._awaiting_headers() and not self.transport.is_closing():
                self.transport.close()

    return BoundedH11Protocol
