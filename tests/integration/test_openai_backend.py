"""The openai backend against a real local streaming server (no network, no GPU).

The fake server speaks SSE over HTTP/1.1 chunked encoding like vLLM does, in
either dialect, and can fail in the ways real servers fail: an HTTP error
before the stream, an error event or a dropped connection mid-stream, a slow
stream that the client cancels.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from agent.backends.base import BackendError
from agent.backends.openai.backend import OpenAIBackend, OpenAIConfigError
from agent.config import Settings
from agent.events import Done, Error, SearchDone
from agent.loop import run
from agent.parser import StreamParser
from agent.prompt import WEB_SEARCH_TOOL
from agent.search import SearchChain
from agent.search.fixture import FixtureProvider
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
MODEL = "Qwen/QwQ-32B-AWQ"
MESSAGES = [{"role": "system", "content": "You search."}, {"role": "user", "content": "Tallest building?"}]


# ---------------------------------------------------------------- chunk builders

def _chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion.chunk", "model": MODEL,
            "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}


def think(text: str, key: str = "reasoning_content") -> dict[str, Any]:
    return _chunk({key: text})


def say(text: str) -> dict[str, Any]:
    return _chunk({"content": text})


def call(index: int = 0, *, args: str = "", id: str | None = None, name: str | None = None) -> dict[str, Any]:
    fn: dict[str, Any] = {"arguments": args}
    if name:
        fn["name"] = name
    tc: dict[str, Any] = {"index": index, "function": fn}
    if id:
        tc.update(id=id, type="function")
    return _chunk({"tool_calls": [tc]})


def end(reason: str) -> dict[str, Any]:
    return _chunk({}, reason)


def usage(prompt: int, completion: int) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion.chunk", "choices": [],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion}}


def sse(*events: Any, delay: float = 0.0, drop_after: int | None = None, done: bool = True,
        keepalive: float | None = None) -> dict[str, Any]:
    """``done=False``: the body ends cleanly without ``data: [DONE]``. ``keepalive=S``: after the
    events, an SSE comment every S seconds until the client hangs up (a proxy's keep-alive)."""
    return {"kind": "sse", "events": list(events), "delay": delay, "drop_after": drop_after,
            "done": done, "keepalive": keepalive}


def comment(text: str = "keepalive") -> str:
    """An SSE comment line, which carries no event."""
    return f": {text}"


def hang() -> dict[str, Any]:
    """Accept the request, then never answer (until the client hangs up)."""
    return {"kind": "hang"}


def body(code: int, content_type: str, text: str) -> dict[str, Any]:
    return {"kind": "body", "code": code, "content_type": content_type, "text": text}


def status(code: int, message: str) -> dict[str, Any]:
    return {"kind": "status", "code": code, "body": {"object": "error", "message": message, "code": code}}


def native_search_round(query: str) -> dict[str, Any]:
    """vLLM with --reasoning-parser and --tool-call-parser: arguments in pieces."""
    args = json.dumps({"query": query})
    return sse(think("I should "), think("search."), say("\n\n"),
               call(0, id="call_a", name="web_search"), call(0, args=args[:7]), call(0, args=args[7:]),
               end("tool_calls"), usage(120, 30))


def bare_search_round(query: str) -> dict[str, Any]:
    """A server without parsers: the model's raw tags arrive as content."""
    text = f'I should search.\n</think>\n\n<tool_call>\n{{"name": "web_search", "arguments": {{"query": "{query}"}}}}\n</tool_call>'
    return sse(*[say(text[i:i + 5]) for i in range(0, len(text), 5)], say("trailing junk"), end("stop"))


# ---------------------------------------------------------------- the fake server

class FakeServer:
    """Serves queued responses, one per POST, and records every request body."""

    def __init__(self, *, model: str = MODEL, reject: tuple[str, ...] = ()) -> None:
        self.model = model
        self.reject = reject  # request fields answered with a 400 naming them
        self.queue: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []  # of the requests, in order
        self.posts = 0
        self.client_gone = threading.Event()
        self.first_event_sent = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
                else:
                    self._json(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.posts += 1
                if self.path not in ("/v1/chat/completions", "/v1/completions"):
                    return self._json(404, {"detail": "Not Found"})
                if body.get("model") != server.model:
                    return self._json(404, {"object": "error", "code": 404, "type": "NotFoundError",
                                            "message": f"The model `{body.get('model')}` does not exist."})
                for name in server.reject:
                    if name in body:
                        return self._json(400, {"object": "error", "code": 400,
                                                "message": f"Unrecognized request argument: {name}"})
                server.requests.append(body)
                server.paths.append(self.path)
                spec = server.queue.pop(0) if server.queue else sse(say("ok"), end("stop"))
                if spec["kind"] == "status":
                    return self._json(spec["code"], spec["body"])
                if spec["kind"] == "hang":
                    if self._client_left(30):
                        server.client_gone.set()
                    self.close_connection = True
                    return
                if spec["kind"] == "body":
                    data = spec["text"].encode()
                    self.send_response(spec["code"])
                    self.send_header("Content-Type", spec["content_type"])
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self._stream(spec)

            def _json(self, code: int, obj: Any) -> None:
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, spec: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for i, event in enumerate(spec["events"]):
                        if spec["drop_after"] is not None and i == spec["drop_after"]:
                            self.close_connection = True
                            return  # no terminating chunk: the client sees a broken body
                        if isinstance(event, str) and event.startswith(":"):
                            self._write(f"{event}\n\n")
                        else:
                            payload = event if isinstance(event, str) else json.dumps(event)
                            self._write(f"data: {payload}\n\n")
                        server.first_event_sent.set()
                        if spec["delay"] and self._client_left(spec["delay"]):
                            server.client_gone.set()
                            self.close_connection = True
                            return
                    if spec["keepalive"]:
                        deadline = time.monotonic() + 30
                        while time.monotonic() < deadline and not self._client_left(spec["keepalive"]):
                            self._write(f"{comment()}\n\n")
                        server.client_gone.set()
                        self.close_connection = True
                        return
                    if spec["done"]:
                        self._write("data: [DONE]\n\n")
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    server.client_gone.set()
                    self.close_connection = True

            def _write(self, text: str) -> None:
                data = text.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def _client_left(self, wait: float) -> bool:
                """Wait between events, noticing at once when the client hangs up."""
                readable, _, _ = select.select([self.connection], [], [], wait)
                if not readable:
                    return False
                try:
                    return self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hang up on purpose here
                    super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = FakeServer()
    yield s
    s.close()


def settings_for(url: str, **kw: Any) -> Settings:
    base = dict(backend="openai", base_url=url, model=MODEL, openai_max_retries=1,
                openai_timeout_s=10.0, provider="fixture")
    return Settings(**(base | kw))


def one_round(backend: OpenAIBackend, cancel: threading.Event | None = None):
    conv = backend.start(MESSAGES, [WEB_SEARCH_TOOL])
    chunks = list(conv.generate(cancel=cancel or threading.Event()))
    return conv, chunks


def parsed(chunks: list[str]) -> StreamParser:
    p = StreamParser()
    for c in chunks:
        p.feed(c)
    p.close()
    return p


# ---------------------------------------------------------------- dialects

def test_native_dialect_reasoning_then_split_tool_call(server: FakeServer) -> None:
    server.queue.append(native_search_round("tallest building"))
    backend = OpenAIBackend(settings=settings_for(server.url))
    conv, chunks = one_round(backend)
    text = "".join(chunks)
    assert chunks[0] == "I should "  # a reasoning-only first chunk is thinking, passed as is
    assert text.startswith("I should search.</think>\n\n")
    assert text.endswith('<tool_call>\n{"name": "web_search", "arguments": {"query": "tallest building"}}\n</tool_call>')
    p = parsed(chunks)
    assert p.saw_think_close and json.loads(p.call_text)["arguments"] == {"query": "tallest building"}
    assert conv.finish_reason == "tool_call"
    assert conv.usage.prompt_tokens == 120 and conv.usage.context_tokens == 150
    assert conv.usage.generated_tokens == 30 and conv.usage.prefilled_tokens == 120
    sent = server.requests[0]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["tools"][0]["function"]["name"] == "web_search"
    assert sent["top_k"] == 40 and sent["max_tokens"] == 8192


def test_native_dialect_tool_result_goes_back_as_tool_message(server: FakeServer) -> None:
    server.queue += [native_search_round("q"), sse(think("done", key="reasoning"), say("It is [1]."),
                                                   end("stop"), usage(170, 5))]
    backend = OpenAIBackend(settings=settings_for(server.url))
    conv, _ = one_round(backend)
    conv.add_tool_result("[1] Burj Khalifa")
    text = "".join(conv.generate(cancel=threading.Event()))
    assert text == "done</think>\n\nIt is [1]."  # the newer "reasoning" field works too
    assert conv.finish_reason == "stop"
    assistant, tool = server.requests[1]["messages"][-2:]
    assert assistant["tool_calls"][0]["id"] == "call_a"
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"query": "q"}
    assert assistant["content"] == "\n\n"
    assert tool == {"role": "tool", "tool_call_id": "call_a", "content": "[1] Burj Khalifa"}
    assert conv.usage.prefilled_tokens == 120 + 170  # the server re-processes the prompt each round
    assert "[1] Burj Khalifa" in conv.transcript() and "I should search." in conv.transcript()


def test_only_the_first_of_several_tool_calls_is_kept(server: FakeServer) -> None:
    server.queue.append(sse(call(0, id="a", name="web_search", args='{"query": "one"}'),
                            call(1, id="b", name="web_search", args='{"query": "two"}'), end("tool_calls")))
    conv, chunks = one_round(OpenAIBackend(settings=settings_for(server.url)))
    text = "".join(chunks)
    assert text.count("<tool_call>") == 1 and '"one"' in text and '"two"' not in text
    conv.add_tool_result("r")
    assert conv._messages[-2]["tool_calls"][0]["id"] == "a" and len(conv._messages[-2]["tool_calls"]) == 1


def test_arguments_that_are_not_json_reach_the_parser_raw(server: FakeServer) -> None:
    server.queue.append(sse(call(0, id="a", name="web_search", args="{query: oops"), end("tool_calls")))
    _, chunks = one_round(OpenAIBackend(settings=settings_for(server.url)))
    assert json.loads(parsed(chunks).call_text)["arguments"] == "{query: oops"


def test_bare_dialect_passes_tags_through_and_stops_at_call_close(server: FakeServer) -> None:
    server.queue += [bare_search_round("tallest building"), sse(say("Answer [1]."), end("stop"))]
    conv, chunks = one_round(OpenAIBackend(settings=settings_for(server.url)))
    text = "".join(chunks)
    assert text.endswith("</tool_call>") and "junk" not in text
    assert conv.finish_reason == "tool_call"
    assert json.loads(parsed(chunks).call_text)["arguments"]["query"] == "tallest building"
    conv.add_tool_result("[1] Burj")
    assert "".join(conv.generate(cancel=threading.Event())) == "Answer [1]."
    assistant, result = server.requests[1]["messages"][-2:]
    assert assistant["role"] == "assistant" and assistant["content"] == text
    assert result == {"role": "user", "content": "<tool_response>\n[1] Burj\n</tool_response>"}


def test_length_finish_and_missing_usage_fall_back_to_estimates(server: FakeServer) -> None:
    server.queue.append(sse(say("a b c"), end("length")))
    conv, _ = one_round(OpenAIBackend(settings=settings_for(server.url)))
    assert conv.finish_reason == "length"
    assert conv.usage.generated_tokens == 3 and conv.usage.prefilled_tokens == conv.usage.prompt_tokens


# ---------------------------------------------------------------- server quirks

def test_server_without_stream_options_or_top_k_is_retried_without_them() -> None:
    s = FakeServer(reject=("stream_options", "top_k"))
    try:
        backend = OpenAIBackend(settings=settings_for(s.url))
        _, chunks = one_round(backend)
        assert chunks == ["ok"] and "stream_options" not in s.requests[0]
        one_round(backend)
        assert s.posts == 4  # learned once per backend: no more rejected requests
    finally:
        s.close()


def test_max_tokens_is_cut_to_the_room_the_server_reports(server: FakeServer) -> None:
    server.queue += [status(400, "This model's maximum context length is 32768 tokens. However, you "
                                 "requested 40000 tokens (31808 in the messages, 8192 in the completion)."),
                     sse(say("ok"), end("stop"))]
    conv, chunks = one_round(OpenAIBackend(settings=settings_for(server.url)))
    assert chunks == ["ok"] and server.requests[-1]["max_tokens"] == 960


def test_full_context_on_the_server_ends_the_round_as_context(server: FakeServer) -> None:
    server.queue.append(status(400, "This model's maximum context length is 32768 tokens. However, "
                                    "your request has 33000 input tokens."))
    conv, chunks = one_round(OpenAIBackend(settings=settings_for(server.url)))
    assert chunks == [] and conv.finish_reason == "context"


# ---------------------------------------------------------------- failures

def test_error_event_mid_stream_is_a_clean_backend_error(server: FakeServer) -> None:
    server.queue.append(sse(think("hmm"), json.dumps({"error": {"message": "CUDA out of memory", "code": 500}})))
    conv = OpenAIBackend(settings=settings_for(server.url)).start(MESSAGES, [WEB_SEARCH_TOOL])
    gen = conv.generate(cancel=threading.Event())
    assert next(gen) == "hmm"
    with pytest.raises(BackendError, match="reported an error mid-answer: CUDA out of memory") as info:
        next(gen)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_connection_dropped_mid_stream(server: FakeServer) -> None:
    server.queue.append(sse(think("a"), think("b"), think("c"), drop_after=2))
    with pytest.raises(BackendError, match="broke mid-answer"):
        one_round(OpenAIBackend(settings=settings_for(server.url)))


def test_500_before_the_stream_is_retried_then_reported(server: FakeServer) -> None:
    server.queue += [status(500, "engine dead"), status(500, "engine dead")]
    with pytest.raises(BackendError) as info:
        one_round(OpenAIBackend(settings=settings_for(server.url, openai_max_retries=1)))
    assert server.posts == 2  # the first try and one retry, done by the openai client
    assert str(info.value) == (f"the model server at {server.url} failed with HTTP 500 after 1 retries: "
                               "engine dead")


def test_500_then_success_recovers_through_the_client_retry(server: FakeServer) -> None:
    server.queue += [status(503, "warming up"), sse(say("ok"), end("stop"))]
    _, chunks = one_round(OpenAIBackend(settings=settings_for(server.url, openai_max_retries=1)))
    assert chunks == ["ok"]


def test_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(BackendError, match=r"cannot reach the model server at http://127\.0\.0\.1:\d+/v1 "
                                           r"\(.*\): is it running\?"):
        one_round(OpenAIBackend(settings=settings_for(url, openai_max_retries=0)))


def test_wrong_model_names_the_served_ones(server: FakeServer) -> None:
    backend = OpenAIBackend(settings=settings_for(server.url, model="Qwen/QwQ-32B"))
    with pytest.raises(BackendError) as info:
        one_round(backend)
    assert str(info.value) == (f"the model server at {server.url} does not serve model 'Qwen/QwQ-32B' (404); "
                               f"it serves '{MODEL}': pass one with --model (GET {server.url}/models lists them)")


def test_wrong_path_404_says_check_the_url(server: FakeServer) -> None:
    with pytest.raises(BackendError, match="check --model against GET .* and that the URL ends in /v1"):
        one_round(OpenAIBackend(settings=settings_for(server.url[: -len("/v1")])))


def test_401_never_shows_the_key(server: FakeServer) -> None:
    server.queue.append(status(401, "Unauthorized: bad key sk-secret-123"))
    with pytest.raises(BackendError) as info:
        one_round(OpenAIBackend(settings=settings_for(server.url, openai_api_key="sk-secret-123")))
    assert "rejected the API key (HTTP 401): set OPENAI_API_KEY" in str(info.value)
    assert "sk-secret" not in str(info.value)


def test_base_url_is_required_and_checked() -> None:
    with pytest.raises(OpenAIConfigError, match="--base-url http://HOST:8000/v1 or set OPENAI_BASE_URL"):
        OpenAIBackend(settings=Settings(backend="openai"))
    with pytest.raises(ValueError, match="must start with http://"):  # the CLI maps ValueError to exit 2
        OpenAIBackend(settings=Settings(backend="openai", base_url="localhost:8000/v1"))


# ---------------------------------------------------------------- cancel

def test_cancel_mid_stream_ends_the_round_and_closes_the_connection(server: FakeServer) -> None:
    # The next event comes 30 s after the first: ending long before it is ending on the cancel.
    server.queue.append(sse(*[think(f"t{i} ") for i in range(50)], delay=30.0))
    conv = OpenAIBackend(settings=settings_for(server.url)).start(MESSAGES, [WEB_SEARCH_TOOL])
    cancel, got, finished = threading.Event(), [], threading.Event()

    def consume() -> None:
        for piece in conv.generate(cancel=cancel):
            got.append(piece)
        finished.set()

    threading.Thread(target=consume, daemon=True).start()
    wait_until(lambda: got == ["t0 "], "the first event reaching the reader")  # now it waits for the next
    cancel.set()
    assert finished.wait(10), "the round did not end after cancel (the next event is 30 s away)"
    assert conv.finish_reason == "cancelled" and got == ["t0 "]
    assert server.client_gone.wait(10), "the server never saw the connection close"


def test_loop_closing_the_generator_closes_the_stream(server: FakeServer) -> None:
    server.queue.append(sse(*[think(f"t{i} ") for i in range(50)], delay=0.3))
    conv = OpenAIBackend(settings=settings_for(server.url)).start(MESSAGES, [WEB_SEARCH_TOOL])
    gen = conv.generate(cancel=threading.Event())
    assert next(gen) == "t0 "
    gen.close()
    assert conv.finish_reason == "cancelled"
    assert server.client_gone.wait(10), "the server never saw the connection close"


# ---------------------------------------------------------------- end to end

FIXTURE = {"tallest building": [{"title": "Burj Khalifa", "url": "https://example.com/burj",
                                 "content": "The Burj Khalifa is 828 m tall."}]}


def _final_round(native: bool) -> dict[str, Any]:
    if native:
        return sse(think("The result says 828 m."), say("The Burj Khalifa "), say("is the tallest [1]."),
                   end("stop"), usage(300, 20))
    return sse(say("The result says 828 m.\n</think>\n\n"), say("The Burj Khalifa is the tallest [1]."),
               end("stop"))


@pytest.mark.parametrize("native", [True, False], ids=["vllm-dialect", "bare-dialect"])
def test_loop_runs_search_then_answer(server: FakeServer, native: bool) -> None:
    first = native_search_round("tallest building") if native else bare_search_round("tallest building")
    server.queue += [first, _final_round(native)]
    settings = settings_for(server.url)
    search = SearchChain([FixtureProvider(table=FIXTURE, content_chars=500)], backoff_s=0)
    events = list(run("What is the tallest building?", settings=settings,
                      backend=OpenAIBackend(settings=settings), search=search))
    assert not [e for e in events if isinstance(e, Error)]
    done = events[-1]
    assert isinstance(done, Done) and done.answer == "The Burj Khalifa is the tallest [1]."
    assert done.cited == (1,) and done.searches == 1
    assert [e.results[0].url for e in events if isinstance(e, SearchDone)] == ["https://example.com/burj"]
    assert "The Burj Khalifa is 828 m tall." in json.dumps(server.requests[1]["messages"])


@pytest.mark.parametrize("native", [True, False], ids=["vllm-dialect", "bare-dialect"])
def test_cli_json_run_against_the_server(server: FakeServer, native: bool, tmp_path: Path) -> None:
    first = native_search_round("tallest building") if native else bare_search_round("tallest building")
    server.queue += [first, _final_round(native)]
    fixture = tmp_path / "fixture.json"
    fixture.write_text(json.dumps(FIXTURE))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "OPENAI_", "TAVILY_"))}
    env |= {"PYTHON_DOTENV_DISABLED": "1", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-m", "agent", "What is the tallest building?", "--json", "--backend", "openai",
         "--base-url", server.url, "--model", MODEL, "--search-fixture", str(fixture)],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert "search_start" in types and types[-1] == "done" and "error" not in types
    assert events[-1]["answer"] == "The Burj Khalifa is the tallest [1]." and events[-1]["cited"] == [1]


def test_cli_without_base_url_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "OPENAI_"))}
    env |= {"PYTHON_DOTENV_DISABLED": "1", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "agent", "q", "--backend", "openai"], capture_output=True,
                         text=True, timeout=60, env=env, cwd=tmp_path)
    assert out.returncode == 2 and "--base-url" in out.stderr and "Traceback" not in out.stderr


def test_other_400_is_reported_with_the_servers_words(server: FakeServer) -> None:
    server.queue.append(status(400, "messages: field required"))
    with pytest.raises(BackendError, match=r"rejected the request \(HTTP 400\): messages: field required$"):
        one_round(OpenAIBackend(settings=settings_for(server.url)))


def test_native_call_closes_the_thinking_even_without_content(server: FakeServer) -> None:
    server.queue.append(sse(think("plan"), call(0, id="x", name="web_search", args='{"query": "a"}'),
                            end("tool_calls")))
    _, chunks = one_round(OpenAIBackend(settings=settings_for(server.url)))
    assert chunks[:2] == ["plan", "</think>\n\n"] and parsed(chunks).call_text is not None


def test_tag_split_into_single_characters_still_stops_the_round(server: FakeServer) -> None:
    text = '</think>\n\n<tool_call>\n{"name": "web_search", "arguments": {"query": "x"}}\n</tool_call>more'
    server.queue.append(sse(*[say(ch) for ch in text], end("stop")))
    conv, chunks = one_round(OpenAIBackend(settings=settings_for(server.url)))
    assert "".join(chunks).endswith("</tool_call>") and conv.finish_reason == "tool_call"


def test_server_words_that_echo_the_key_are_redacted(server: FakeServer) -> None:
    server.queue.append(status(400, "bad header Authorization: Bearer sk-secret-123"))
    with pytest.raises(BackendError) as info:
        one_round(OpenAIBackend(settings=settings_for(server.url, openai_api_key="sk-secret-123")))
    assert "rejected the request (HTTP 400)" in str(info.value)
    assert "sk-secret-123" not in str(info.value) and "[redacted]" in str(info.value)


# ---------------------------------------------------------------- whose fault

def test_an_event_the_client_cannot_read_is_the_servers_fault(server: FakeServer) -> None:
    server.queue.append(sse(say("ok "), {"id": "c1", "object": "chat.completion.chunk", "choices": "oops"}))
    with pytest.raises(BackendError, match="sent a stream event this client cannot read"):
        one_round(OpenAIBackend(settings=settings_for(server.url)))


def test_a_bug_of_ours_is_never_reported_as_the_servers_fault(server: FakeServer,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Only decoding the server's event is guarded: an error in what we do with good data
    propagates as itself (an internal error in the CLI and UI), not "the server sent ..."."""
    from agent.backends.openai import stream as openai_stream

    def broken(self, text: str) -> None:
        raise AttributeError("a bug in our own counting")

    monkeypatch.setattr(openai_stream.RoundReader, "_count", broken)
    server.queue.append(sse(say("ok"), end("stop")))
    with pytest.raises(AttributeError, match="a bug in our own counting"):
        one_round(OpenAIBackend(settings=settings_for(server.url)))
