"""Issue 25.11/15: /retrieve reads any body without a 500: NaN and Infinity (which Python's JSON
reader accepts) are 422, lone surrogates in queries are searched, ``topk: 0`` is the default."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from agent.index import DocumentIndex
from agent.index.retrieve import DEFAULT_TOPK
from agent.index.server import create_app
from tests.index_helpers import write_corpus


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    folder = tmp_path_factory.mktemp("retrieve")
    corpus = write_corpus(folder / "corpus.jsonl", [
        (str(i), f"Lake {i}", f"Lake number {i} is deep and cold; zebraword.") for i in range(6)])
    with DocumentIndex(folder / "idx") as writer:
        writer.add_file(corpus)
    index = DocumentIndex(folder / "idx", read_only=True)
    with TestClient(create_app(index), raise_server_exceptions=False) as client:
        yield client
    index.close()


def post(client: TestClient, body: str | bytes):
    return client.post("/retrieve", content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize("body", [
    '{"queries": ["lake"], "topk": NaN}',
    '{"queries": ["lake"], "topk": Infinity}',
    '{"queries": ["lake"], "topk": -Infinity}',
    '{"queries": ["lake"], "return_scores": NaN}',
    '{"queries": [NaN]}',
    '{"queries": NaN}',
    '{"queries": ["lake"], "extra": [1, NaN]}',
    'NaN',
])
def test_nan_and_infinity_are_422_with_a_readable_message(client: TestClient, body: str) -> None:
    response = post(client, body)
    assert response.status_code == 422, response.text[:300]
    detail = response.json()["detail"]
    assert "NaN" in detail or "Infinity" in detail or "not a /retrieve request" in detail


@pytest.mark.parametrize("body", [
    b'{"queries": ["lake"], "topk": 3.7}', b'{"queries": [1]}', b"\xff\xfe", b'{"queries": "lake"}',
    b"[" * 100_000,
])
def test_other_bad_bodies_are_422_not_500(client: TestClient, body: bytes) -> None:
    response = post(client, body)
    assert response.status_code == 422, response.text[:300]
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("query", ["zebraword \ud800", "\udfff zebraword", "zebraword \udcff\ud800"])
def test_a_lone_surrogate_in_a_query_is_searched_not_a_500(client: TestClient, query: str) -> None:
    body = json.dumps({"queries": [query], "topk": 2})  # ASCII JSON: the surrogate as a \\u escape
    assert "\\ud" in body
    response = post(client, body)
    assert response.status_code == 200, response.text[:300]
    assert len(response.json()["result"][0]) == 2
def test_topk_zero_is_the_servers_default_as_in_search_r1(client: TestClient) -> None:
    for topk in (0, None):
        response = client.post("/retrieve", json={"queries": ["lake"], "topk": topk})
        assert response.status_code == 200, response.text
        assert len(response.json()["result"][0]) == DEFAULT_TOPK


def test_a_negative_topk_is_still_422(client: TestClient) -> None:
    assert client.post("/retrieve", json={"queries": ["lake"], "topk": -1}).status_code == 422
