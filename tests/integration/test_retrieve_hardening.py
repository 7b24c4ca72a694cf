"""Search-R1's ``/retrieve`` both ways under abuse: our server fed bad and oversized requests or
a busy index, and ``--provider retriever`` against servers that misbehave."""

from __future__ import annotations

import json
from collections.abc import Iterator
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import Response

from agent.config import settings_from_env
from agent.index import DocumentIndex, connect
from agent.index.__main__ import main
from agent.index.server import MAX_BODY_BYTES, create_app
from agent.index.store import DB_NAME
from agent.search import AllProvidersFailed, build_search
from agent.search.retriever import MAX_RESPONSE_BYTES
from tests.index_helpers import LocalServer, write_corpus


@pytest.fixture
def index(tmp_path: Path) -> DocumentIndex:
    corpus = write_corpus(tmp_path / "corpus.jsonl", [
        (str(i), f"Lake {i}", f"Lake number {i} is deep and cold.") for i in range(5)])
    with DocumentIndex(tmp_path / "idx") as writer:
        writer.add_file(corpus)
    index = DocumentIndex(tmp_path / "idx", read_only=True)
    yield index
    index.close()


@pytest.mark.parametrize("body", [
    b"{not json", b"[]", b'"queries"', json.dumps({"queries": [1, 2]}).encode(),
    json.dumps({"queries": ["lake"], "topk": -1}).encode(), json.dumps({"queries": ["lake"], "topk": 10**30}).encode(),
    json.dumps({"queries": ["lake"], "topk": 2.5}).encode(), json.dumps({"queries": ["lake"] * 5000}).encode(),
    json.dumps({"queries": ["lake"] * 1000, "topk": 100}).encode(),  # 100,000 results
])
def test_malformed_requests_are_422_without_a_traceback(index: DocumentIndex, body: bytes,
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    with LocalServer(create_app(index)) as server:
        response = httpx.post(f"{server.url}/retrieve", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "Traceback" not in capfd.readouterr().err


def test_a_search_r1_training_batch_is_answered(index: DocumentIndex) -> None:
    """Search-R1's GRPO scripts send 512 prompts x 5 rollouts' searches in one request."""
    queries = ["cold lake"] * 2560
    with LocalServer(create_app(index)) as server:
        response = httpx.post(f"{server.url}/retrieve", json={"queries": queries, "topk": 3,
                                                               "return_scores": True}, timeout=60)
    assert response.status_code == 200, response.text[:300]
    result = response.json()["result"]
    assert len(result) == 2560 and all(len(hits) == 3 for hits in result)


def test_a_huge_body_is_refused_before_it_is_read(index: DocumentIndex) -> None:
    big = json.dumps({"queries": ["lake " * (MAX_BODY_BYTES // 5)]}).encode()
    with LocalServer(create_app(index)) as server:
        declared = httpx.post(f"{server.url}/retrieve", content=big, headers={"content-type": "application/json"})

        def chunks():  # no Content-Length: the server must count as it reads
            for i in range(0, len(big), 65536):
                yield big[i:i + 65536]

        streamed = httpx.post(f"{server.url}/retrieve", content=chunks(),
                              headers={"content-type": "application/json"})
        fine = httpx.post(f"{server.url}/retrieve", json={"queries": ["lake"], "topk": 1})
    assert declared.status_code == 413 and str(MAX_BODY_BYTES) in declared.json()["detail"]
    assert streamed.status_code == 413
    assert fine.status_code == 200


def test_a_locked_index_answers_503_with_retry_after(index: DocumentIndex, tmp_path: Path,
                                                      capfd: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An index still in SQLite's rollback journal (last written before WAL mode), shared
    read-only, while an ``add`` in another process holds its write lock: a clean 503 a client
    retries, not a 500 with a traceback in the server's log."""
    # The reader gives up on the lock after 0.2 s, not the shipped 5 s: the answer is the same.
    monkeypatch.setattr(connect, "READ_BUSY_TIMEOUT_S", 0.2)
    index.close()
    old = sqlite3.connect(tmp_path / "idx" / DB_NAME)
    assert old.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    old.close()
    with DocumentIndex(tmp_path / "idx", read_only=True) as reader, LocalServer(create_app(reader)) as server:
        writer = sqlite3.connect(tmp_path / "idx" / DB_NAME, timeout=0)
        writer.execute("BEGIN EXCLUSIVE")
        try:
            response = httpx.post(f"{server.url}/retrieve", json={"queries": ["lake"]}, timeout=30)
        finally:
            writer.rollback()
            writer.close()
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert "busy" in response.json()["detail"]
    assert "Traceback" not in capfd.readouterr().err


def test_a_reader_is_not_blocked_by_a_writer(index: DocumentIndex, tmp_path: Path) -> None:
    writer = sqlite3.connect(tmp_path / "idx" / DB_NAME, timeout=0)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        assert index.search("lake", k=1)
    finally:
        writer.rollback()
        writer.close()


@pytest.mark.parametrize("host, warned", [("127.0.0.1", False), ("localhost", False), ("::1", False),
                                          ("0.0.0.0", True), ("192.168.1.5", True)])
def test_serving_beyond_loopback_warns(index: DocumentIndex, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str], host: str, warned: bool) -> None:
    served: list[str] = []
    monkeypatch.setattr("agent.index.server.serve", lambda _index, *, host, port: served.append(host))
    assert main(["serve", "--index", str(index.directory), "--host", host]) == 0
    err = capsys.readouterr().err
    assert served == [host]
    assert ("warning: anyone who can reach" in err) is warned, err


def _retriever(url: str, **overrides) -> object:
    settings = settings_from_env({}, provider="retriever", retriever_url=url, search_retry_backoff_s=0.0,
                                 **overrides)
    return build_search(settings)


# Set when a test is done with a dawdling server, so its handler returns and the server can stop.
RELEASE = threading.Event()


@pytest.fixture(autouse=True)
def _release_dawdlers() -> Iterator[None]:
    RELEASE.clear()
    yield
    RELEASE.set()


def _serving(body: bytes | None = None, *, status: int = 200, silent: bool = False) -> FastAPI:
    app = FastAPI()

    @app.post("/retrieve")
    def retrieve() -> Response:
        if silent:
            RELEASE.wait(60)  # says nothing until the test is over
        return Response(body, status_code=status, media_type="application/json")

    return app


@pytest.mark.parametrize("body, status, expected", [
    (b"boom", 500, "answered HTTP 500"),
    (b"<html>not json</html>", 200, "unexpected answer"),
    (b"[" * 100_000, 200, "unexpected answer"),  # nested past the JSON parser's recursion limit
    (b'{"result": "nope"}', 200, "unexpected answer"),
])
def test_a_misbehaving_retriever_is_a_search_error(body: bytes, status: int, expected: str) -> None:
    with LocalServer(_serving(body, status=status)) as server, pytest.raises(AllProvidersFailed, match=expected):
        _retriever(server.url).search("q", max_results=3)


def test_an_oversized_answer_is_refused_without_reading_it_all() -> None:
    row = {"id": "1", "contents": '"T"\n' + "x" * (MAX_RESPONSE_BYTES + 10)}
    with LocalServer(_serving(json.dumps({"result": [[row]]}).encode())) as server, \
            pytest.raises(AllProvidersFailed, match="larger than"):
        _retriever(server.url).search("q", max_results=3)


def _trickling() -> FastAPI:
    """A byte every 0.2 s (20 s in all): never long enough to trip a per-read timeout of 0.5 s."""
    from fastapi.responses import StreamingResponse

    def drip():
        yield b'{"result": [['
        for _ in range(100):
            if RELEASE.wait(0.2):  # the pace of a dawdling server, not a wait for anything
                return
            yield b" "
        yield b"]]}"

    app = FastAPI()
    app.post("/retrieve")(lambda: StreamingResponse(drip(), media_type="application/json"))
    return app


@pytest.mark.parametrize("app", [_serving(b'{"result": [[]]}', silent=True), _trickling()],
                         ids=["silent", "trickling"])
def test_a_slow_retriever_times_out_within_its_budget(app: FastAPI) -> None:
    """The timeout bounds the whole answer (two tries of 0.5 s), however the server dawdles: far
    sooner than the 40 s that two tries of the trickle (or a minute of silence) would take."""
    with LocalServer(app) as server:
        started = time.monotonic()
        with pytest.raises(AllProvidersFailed, match="timed out"):
            _retriever(server.url, search_timeout_s=0.5).search("q", max_results=3)
        took = time.monotonic() - started
        RELEASE.set()
    assert took < 10, took


def test_extra_and_odd_fields_are_ignored() -> None:
    answer = {"result": [[{"document": {"id": 9, "contents": '"Lisbon"\nLisbon is in Portugal.', "page": "7",
                                        "file": 42, "extra": [1]}, "score": "high", "more": True},
                          {"document": None}, "a string", {"contents": 5}]], "took_ms": 3}
    with LocalServer(_serving(json.dumps(answer).encode())) as server:
        results = _retriever(server.url).search("q", max_results=3).results
    assert [(r.title, r.file, r.page, r.content) for r in results] == [
        ("Lisbon", "42", None, "Lisbon is in Portugal.")]


def test_searches_while_an_add_runs_never_fail_hard(index: DocumentIndex, tmp_path: Path) -> None:
    """Our server over an index another process is adding to: every answer is a 200 or a 503."""
    big = tmp_path / "big.jsonl"
    write_corpus(big, [(f"b{i}", f"Lake {i}", f"Lake {i} is wide. " * 20) for i in range(20000)])
    codes: list[int] = []
    with LocalServer(create_app(index)) as server:
        adder = threading.Thread(target=lambda: DocumentIndex(tmp_path / "idx").add_file(big))
        adder.start()
        while adder.is_alive():
            codes.append(httpx.post(f"{server.url}/retrieve", json={"queries": ["lake wide"]}, timeout=30).status_code)
        adder.join()
        codes.append(httpx.post(f"{server.url}/retrieve", json={"queries": ["lake wide"]}, timeout=30).status_code)
    assert set(codes) <= {200, 503}, codes
    assert codes[-1] == 200


@pytest.mark.parametrize("url", ["notaurl", "ftp://host/retrieve", "javascript:alert(1)", "127.0.0.1:8000"])
def test_a_retriever_url_that_is_not_http_is_refused_at_startup(url: str) -> None:
    """Found before any question, not as a failed search in the middle of one."""
    from agent.config import SettingsError

    with pytest.raises(SettingsError, match="must start with http:// or https://"):
        settings_from_env({}, provider="retriever", retriever_url=url)


@pytest.mark.parametrize("port", ["99999", "-5", "http"])
def test_serve_refuses_a_port_out_of_range(index: DocumentIndex, port: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--index", str(index.directory), "--port", port])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "--port" in err and "Traceback" not in err
