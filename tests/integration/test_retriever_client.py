"""Issue 25.13: ``--provider retriever`` against servers that misbehave: the timeout covers the
whole exchange (headers trickled a byte at a time too), and a garbage score is a search error,
never an internal one."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Iterator

import pytest

from agent.config import settings_from_env
from agent.search import AllProvidersFailed, build_search
from tests.engine_helpers import done_of, run_script

HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n"


class RawServer:
    """A server on 127.0.0.1 that answers every connection by calling ``reply(conn)``."""

    def __init__(self, reply) -> None:
        self.reply, self.stop = reply, threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                self.reply(conn, self.stop)
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def serve() -> Iterator:
    servers: list[RawServer] = []

    def start(reply) -> RawServer:
        servers.append(RawServer(reply))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def retriever(url: str, **overrides):
    settings = settings_from_env({}, provider="retriever", retriever_url=url, search_retry_backoff_s=0.0,
                                 **overrides)
    return build_search(settings)


def trickle_headers(conn: socket.socket, stop: threading.Event) -> None:
    for byte in HEADERS:
        if stop.wait(0.2):  # the pace of a dawdling server: 80 bytes take 16 s
            return
        conn.sendall(bytes([byte]))


def test_headers_trickled_a_byte_at_a_time_time_out_within_the_budget(serve) -> None:
    server = serve(trickle_headers)
    started = time.monotonic()
    with pytest.raises(AllProvidersFailed, match="timed out after 1 s"):
        retriever(server.url, search_timeout_s=1).search("q", max_results=3)
    assert time.monotonic() - started < 10  # two tries of 1 s, not two of 16 s


def answering(body: bytes):
    def reply(conn: socket.socket, _stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n" % len(body) + body)
    return reply


def row(score: str) -> bytes:
    doc = json.dumps({"id": "1", "contents": '"Lake"\nDeep and cold.'})
    return ('{"result": [[{"document": %s, "score": %s}]]}' % (doc, score)).encode()


@pytest.mark.parametrize("score", ["1" + "0" * 400, "1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
def test_a_garbage_score_is_a_search_error(serve, score: str) -> None:
    server = serve(answering(row(score)))
    with pytest.raises(AllProvidersFailed, match="unexpected answer"):
        retriever(server.url).search("lake", max_results=3)


def test_a_good_score_is_read(serve) -> None:
    server = serve(answering(row("12.5")))
    results = retriever(server.url).search("lake", max_results=3).results
    assert [r.title for r in results] == ["Lake"]


def test_a_run_against_a_garbage_score_reads_a_failed_search(serve) -> None:
    server = serve(answering(row("1" + "0" * 400)))
    script = ['Search.\n</think>\n\n<tool_call>\n{"name": "web_search", "arguments": {"query": "lake"}}\n</tool_call>',
              "Nothing found.\n</think>\n\nI could not find it."]
    chain = retriever(server.url)
    events, _ = run_script(script, providers=chain.providers)
    assert not any(e.type == "error" for e in events)
    searched = [e for e in events if e.type == "search_done"]
    assert searched and "unexpected answer" in (searched[0].error or "")
    assert done_of(events).end == "answered"
