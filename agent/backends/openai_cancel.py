"""Stopping a streamed OpenAI-client response from another thread (Stop in the UI)."""

from __future__ import annotations

import socket
import threading
from typing import Any

_CANCEL_POLL_S = 0.05


def abort_on_cancel(cancel: threading.Event, done: threading.Event, stream: Any) -> None:
    """Stop a read that is blocked waiting for the server, as soon as ``cancel`` is set.

    Shutting the socket down wakes the blocked ``recv`` at once and sends the server
    a FIN, so vLLM aborts the request; closing the response from this thread would
    not (the reading thread still holds the socket).
    """
    while not done.is_set():
        if cancel.wait(_CANCEL_POLL_S):
            try:
                net = stream.response.extensions.get("network_stream")
                sock = net.get_extra_info("socket") if net is not None else None
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass  # already closed; the reader notices at its next chunk
            return
