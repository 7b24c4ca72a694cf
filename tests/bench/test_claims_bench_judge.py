"""bench/claims_bench.py's judge part against a judge endpoint served on 127.0.0.1: the agreement
with the labels is computed over every case, and a batch whose reply the app would refuse is
counted (its cases have no verdict) instead of sinking the whole measurement."""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.chat_reply import reply_chat

ROOT = Path(__file__).resolve().parents[2]
CASES = [json.loads(line) for line in (ROOT / "bench/data/claims_cases.jsonl").read_text().splitlines() if line]


class FakeJudge(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint: its first reply is garbage, every later one says each
    claim of the batch is supported."""

    requests = 0

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        token = prompt.split('"batch": "', 1)[1].split('"', 1)[0]
        count = len(json.loads(prompt.split("(JSON):\n", 1)[1]))
        type(self).requests += 1
        reply = "SUPPORTED, I think." if type(self).requests == 1 else json.dumps(
            {"batch": token, "verdicts": [{"claim": i, "verdict": "supported"} for i in range(1, count + 1)]})
        reply_chat(self, model=body["model"], content=reply)

    def log_message(self, *args):
        pass


def test_the_judges_agreement_is_measured_and_refused_batches_are_counted():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJudge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        p = subprocess.run([sys.executable, "bench/claims_bench.py", "--json", "--repeat", "1",
                            "--judge-base-url", url, "--judge-model", "fake", "--judge-batch", "8"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        server.shutdown()
    assert p.returncode == 0, p.stderr
    judge = json.loads(p.stdout)["judge"]
    supported_after_first_batch = sum(c["label"] == "supported" for c in CASES[8:])
    assert judge["answered"] == len(CASES) - 8 and judge["batches_refused"] == 1
    assert judge["agreement"] == round(supported_after_first_batch / len(CASES), 3)
    assert judge["agreement_where_answered"] == round(supported_after_first_batch / (len(CASES) - 8), 3)
    assert judge["recall_not_supported"] is None or judge["recall_not_supported"] == 0  # it never flags
    assert "not one JSON object" in judge["first_problems"][0]
