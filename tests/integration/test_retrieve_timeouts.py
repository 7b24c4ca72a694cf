"""Issue 25.12: /retrieve bounds what an idle or half-sent request may hold: headers must arrive
within HEADER_TIMEOUT_S, the body within BODY_TIMEOUT_S, and at most MAX_CONNECTIONS are open,
so a few clients that connect and wait cannot exhaust the server's file descriptors."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from agent.index import DocumentIndex
from agent.index import server as server_module
from agent.index import server_protocol
from agent.index.server import create_app, uvicorn_config
from tests.index_helpers import LocalServer, write_corpus

REQUEST = b'POST /retrieve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n'
BODY = b'{"queries": ["lake"], "topk": 1}'


@pytest.fixture
def index(tmp_path: Path) -> DocumentIndex:
    corpus = write_corpus(tmp_path / "corpus.jsonl", [(str(i), f"Lake {i}", f"Lake {i} is cold.") for i in range(3)])
    with DocumentIndex(tmp_path / "idx") as writer:
        writer.add_file(corpus)
    index = DocumentIndex(tmp_path / "idx", read_only=True)
    yield index
    index.close()


@pytest.fixture
def bounded(index: DocumentIndex, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(server_protocol, "HEADER_TIMEOUT_S", 0.5)
    monkeypatch.setattr(server_protocol, "MAX_CONNECTIONS", 3)
    monkeypatch.setattr(server_module, "BODY_TIMEOUT_S", 0.5)
    config = uvicorn_config(create_app(index), host="127.0.0.1", port=0)
    with LocalServer(create_app(index), http=config.http, timeout_keep_alive=config.timeout_keep_alive) as server:
        yield server


def connect(server: LocalServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    return sock


def closed_by_server(sock: socket.socket, *, within_s: float = 20) -> bytes:
    """What the server sent before closing; fails if it keeps the connection past ``within_s``."""
    sock.settimeout(within_s)
    received = b""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:  # closed with our request unread: a reset, not a FIN
            return received
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"the server kept the connection open; sent {received[:200]!r}")


def retrieve_ok(server: LocalServer) -> bool:
    try:
        return httpx.post(f"{server.url}/retrieve", json={"queries": ["lake"]}, timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_connection_that_sends_nothing_is_closed(bounded: LocalServer) -> None:
    with connect(bounded) as sock:
        assert closed_by_server(sock) == b""


def test_headers_trickled_a_byte_at_a_time_are_cut_off(bounded: LocalServer) -> None:
    with connect(bounded) as sock:
        sent = 0
        request = REQUEST % len(BODY)
        try:
            while sent < len(request) - 1:  # never the last byte
                sock.sendall(request[sent:sent + 1])
                sent += 1
                sock.settimeout(0.1)
                try:
                    if sock.recv(1) == b"":
                        break
                except TimeoutError:
                    continue
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < len(request) - 1, "the server waited for every byte of the headers"


def test_a_half_sent_body_is_answered_408_and_closed(bounded: LocalServer) -> None:
    with connect(bounded) as sock:
        sock.sendall(REQUEST % (len(BODY) + 50) + BODY)
        answer = closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"did not arrive within" in answer


def test_connections_beyond_the_cap_are_closed_and_service_returns(bounded: LocalServer) -> None:
    idle = [connect(bounded) for _ in range(3)]
    try:
        deadline = time.monotonic() + 20
        with connect(bounded) as extra:  # the fourth: closed at once, whatever it sends
            extra.sendall(REQUEST % len(BODY) + BODY)
            assert closed_by_server(extra) == b""
        while not retrieve_ok(bounded):  # the idle ones time out, and service returns
            assert time.monotonic() < deadline, "the server never served again"
    finally:
        for sock in idle:
            sock.close()


def test_kept_alive_requests_still_work(bounded: LocalServer) -> None:
    with httpx.Client(base_url=bounded.url, timeout=10) as client:
        for _ in range(3):
            response = client.post("/retrieve", json={"queries": ["lake"], "topk": 1})
            assert response.status_code == 200 and len(response.json()["result"][0]) == 1


def test_serve_uses_the_bounded_protocol(index: DocumentIndex) -> None:
    config = uvicorn_config(create_app(index), host="127.0.0.1", port=8000)
    assert config.http.__name__ == "BoundedH11Protocol"
