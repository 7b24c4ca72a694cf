"""``python -m agent.index serve``: Search-R1's POST /retrieve over our index, on loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agent.index import DocumentIndex
from agent.index.server import create_app
from agent.search.local import LocalProvider
from tests.index_helpers import LocalServer, free_port, make_pdf, write_corpus
from tests.waiting import wait_until


@pytest.fixture
def index(tmp_path: Path) -> DocumentIndex:
    corpus = write_corpus(tmp_path / "corpus.jsonl", [
        (str(i), f"Lake {i}", f"Lake number {i} is deep and cold. Fish swim in lake {i}.") for i in range(6)
    ] + [("99", "Everest", "Mount Everest is the highest mountain above sea level.")])
    pdf = tmp_path / "guide.pdf"
    pdf.write_bytes(make_pdf(["Nothing here.", "The Alps span eight countries."]))
    index = DocumentIndex(tmp_path / "idx")
    index.add_file(corpus)
    index.add_file(pdf)
    return index


def test_retrieve_answers_search_r1_requests_with_and_without_scores(index: DocumentIndex) -> None:
    with LocalServer(create_app(index)) as server:
        plain = httpx.post(f"{server.url}/retrieve", json={"queries": ["highest mountain", "cold lake"]})
        scored = httpx.post(f"{server.url}/retrieve",
                            json={"queries": ["Alps countries"], "topk": 1, "return_scores": True})
    assert plain.status_code == 200
    everest, lakes = plain.json()["result"]
    assert len(lakes) == 3  # Search-R1's default topk
    assert everest[0]["id"] == "99"
    assert everest[0]["contents"] == '"Everest"\nMount Everest is the highest mountain above sea level.'
    ((alps,),) = scored.json()["result"]
    assert alps["score"] > 0
    assert alps["document"]["file"] == "guide.pdf" and alps["document"]["page"] == 2
    assert alps["document"]["contents"].endswith("The Alps span eight countries.")


@pytest.mark.parametrize("body", [{"queries": ["x"], "topk": -1}, {"queries": "not a list"},
                                  {"topk": 3}, {"queries": ["x"] * 5000},
                                  {"queries": ["x"] * 1000, "topk": 100}])
def test_retrieve_rejects_bad_requests_with_422(index: DocumentIndex, body: dict) -> None:
    with LocalServer(create_app(index)) as server:
        response = httpx.post(f"{server.url}/retrieve", json=body)
    assert response.status_code == 422


def _answer_or_exit(proc: subprocess.Popen, port: int) -> httpx.Response | str | None:
    """The server's answer to one search, "exited" when it died, None while it is not listening yet."""
    if proc.poll() is not None:
        return "exited"
    try:
        return httpx.post(f"http://127.0.0.1:{port}/retrieve", json={"queries": ["Everest"], "topk": 1})
    except httpx.ConnectError:
        return None


def test_serve_binds_loopback_by_default(index: DocumentIndex) -> None:
    root = Path(__file__).resolve().parents[2]
    errors = ""
    for _ in range(5):  # a fresh port when a parallel test took the one picked before uvicorn bound it
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "agent.index", "serve", "--index",
                                 str(index.directory), "--port", str(port)], cwd=root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        answer = wait_until(lambda proc=proc, port=port: _answer_or_exit(proc, port),
                            f"agent.index serve answering on port {port}",
                            timeout=60, interval=0.2)
        response = answer if isinstance(answer, httpx.Response) else None
        if response is not None or proc.poll() is None:
            break
        errors = proc.stderr.read()
        if "address already in use" not in errors:
            break
    try:
        assert response is not None and response.status_code == 200, errors
        assert response.json()["result"][0][0]["id"] == "99"
        listening = Path("/proc/net/tcp").read_text()
        # 0100007F is 127.0.0.1 as /proc/net/tcp writes it; 00000000 would be every interface.
        assert f"0100007F:{port:04X}" in listening and f"00000000:{port:04X}" not in listening
    finally:
        proc.terminate()
        proc.wait(timeout=10)



def test_files_of_the_same_name_in_different_folders_get_distinct_ids(tmp_path: Path) -> None:
    """Each is named by the shortest end of its path that tells it apart; a unique name stays as it is."""
    for folder in ("a", "b", "c/deep/a"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "notes.txt").write_text(f"The zoo in {folder} keeps okapis.", encoding="utf-8")
    (tmp_path / "other.txt").write_text("Okapis again.", encoding="utf-8")
    with DocumentIndex(tmp_path / "idx") as index:
        index.add_file(tmp_path / "a" / "notes.txt")
        assert [h.pid for h in index.search("okapis")] == ["notes.txt#1"]  # alone: its name is enough
        for path in ("b/notes.txt", "c/deep/a/notes.txt", "other.txt"):
            index.add_file(tmp_path / path)
        with LocalServer(create_app(index)) as server:
            response = httpx.post(f"{server.url}/retrieve", json={"queries": ["okapis"], "topk": 10})
        sources = LocalProvider([index], content_chars=500).search("okapis", max_results=10)  # done.sources
    (docs,) = response.json()["result"]
    assert sorted(s.file for s in sources) == sorted(d["file"] for d in docs)
    root = tmp_path.name
    assert sorted((d["id"], d["file"]) for d in docs) == sorted([
        (f"{root}/a/notes.txt#1", f"{root}/a/notes.txt"), (f"{root}/b/notes.txt#1", f"{root}/b/notes.txt"),
        ("deep/a/notes.txt#1", "deep/a/notes.txt"), ("other.txt#1", "other.txt")])
