"""One OpenAI-compatible chat completion, written by an ``http.server`` handler: the reply of the
bench's local judge server (``judge_server.py``) and of the fake judge servers tests run on 127.0.0.1."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler


def reply_chat(handler: BaseHTTPRequestHandler, *, model: str, content: str) -> None:
    """Answer the request ``handler`` is serving with one non-streaming chat completion."""
    data = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": model,
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": content}}]}).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
