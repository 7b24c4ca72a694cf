"""The eval against an OpenAI-compatible server (a fake vLLM on 127.0.0.1): K questions
really are in flight at once, and the server sees each question exactly as written."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.config import settings_from_env
from agent.eval.dataset import load_dataset
from agent.eval.one import Asker, NoteBackend
from agent.eval.prediction import ANSWER_INSTRUCTION
from agent.eval.runner import run_dataset
from agent.search import build_search
from agent.session import build_backend

DATA = Path(__file__).resolve().parents[1] / "data" / "eval"
MODEL = "fake-qwq"
ANSWERS = {"What is the capital of France?": "Paris", "Who wrote Hamlet?": "Christopher Marlowe",
           "How tall is the Eiffel Tower?": "330 metres",
           "Is the Great Wall of China visible from the Moon with the naked eye?": "no"}


class FakeVllm:
    """Streams a short QwQ-style answer per question, slowly, and counts requests in flight."""

    def __init__(self) -> None:
        self.lock, self.in_flight, self.peak = threading.Lock(), 0, 0
        # Each answer waits (up to a deadline) until this many requests are on the server at once.
        self.together = threading.Condition(self.lock)
        self.expected_together = 4
        self.bodies: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._send(200, "application/json", json.dumps({"object": "list", "data": [{"id": MODEL}]}))

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.bodies.append(body)
                    fake.in_flight += 1
                    fake.peak = max(fake.peak, fake.in_flight)
                    fake.together.notify_all()
                    fake.together.wait_for(lambda: fake.peak >= fake.expected_together, timeout=30)
                try:
                    question = body["messages"][-1]["content"]
                    text = f"Let me recall.\n</think>\n\nI believe so.\n\nFinal answer: {ANSWERS.get(question, '?')}"
                    events = [{"id": "c", "object": "chat.completion.chunk", "model": MODEL,
                               "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]},
                              {"id": "c", "object": "chat.completion.chunk", "model": MODEL,
                               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
                    payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
                    self._send(200, "text/event-stream", payload)
                finally:
                    with fake.lock:
                        fake.in_flight -= 1

            def _send(self, code, kind, text):
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def vllm():
    server = FakeVllm()
    yield server
    server.close()


def test_concurrent_questions_reach_the_server_together_as_written(vllm, tmp_path):
    settings = settings_from_env({}, backend="openai", base_url=vllm.url, model=MODEL, provider="fixture",
                                 search_fixture=str(DATA / "search.json"), openai_max_retries=0)
    backend = build_backend(settings)
    asker = Asker(settings=settings, backend=NoteBackend(backend, ANSWER_INSTRUCTION),
                  search=build_search(settings), out=tmp_path)
    questions = load_dataset(DATA / "questions.jsonl").questions
    try:
        outcome = run_dataset(questions, asker=asker, concurrency=4, cancel=threading.Event(),
                              settings_summary={})
    finally:
        backend.close()
    assert vllm.peak == 4, f"only {vllm.peak} of the four questions were on the server at once"
    s = outcome.summary
    assert (s["n"], s["em"], s["errors"]) == (4, 0.75, 0)  # only Marlowe is wrong
    users = sorted(b["messages"][-1]["content"] for b in vllm.bodies)
    assert users == sorted(ANSWERS)  # each question exactly as written
    for body in vllm.bodies:
        assert body["messages"][0]["role"] == "system"
        assert body["messages"][0]["content"].endswith(ANSWER_INSTRUCTION)
        assert ANSWER_INSTRUCTION not in body["messages"][-1]["content"]
