"""The app through its API (``gradio_client``): the same handlers the browser uses."""

from __future__ import annotations

import re

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import Status

import app
from agent.config import Settings
from agent.events import Done, SearchDone, SearchStart, SourceRef, Thinking
from tests.ui_helpers import launch_on_free_port, pump_threads, serve
from tests.waiting import wait_until
from ui.pump import CRASH_MESSAGE
from ui.mapper import ERROR_TITLE, SOURCES_TITLE, STATS_TITLE, STOPPED_TITLE

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
CANARY = "tvly-CANARY-0123456789"
QUESTION = "How tall is the Eiffel Tower?"

from agent.records import trace  # noqa: E402



def scripted(**overrides) -> Settings:
    return Settings(**{"backend": "scripted", "model_script": str(DATA / "ui.script.json"),
                       "search_fixture": str(DATA / "ui.search.json"), "provider": "fixture", **overrides})



@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    session_trace = tmp_path_factory.mktemp("trace") / "session.jsonl"
    demo, url = serve(scripted(tavily_api_key=CANARY, max_question_chars=300),
                      trace=str(session_trace), replay_speed=0)
    yield demo, url, session_trace
    demo.close()


@pytest.fixture(scope="module")
def slow():
    demo, url = serve(scripted(script_delay_s=0.02, queue_max_size=1, concurrency_local=1))
    yield demo, url
    demo.close()


def client(url: str) -> Client:
    return Client(url, verbose=False)


def ask(c: Client, question: str, history=None, *, max_searches=5, max_new_tokens=1024,
        temperature=0.6):
    return c.submit(question, history or [], max_searches, "fixture", 5, temperature, max_new_tokens,
                    api_name="/ask")


def text_of(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return str(content)


def title(message: Any) -> str:
    """A chat message's panel title, from the API's dicts or the handlers' own ChatMessages."""
    metadata = message.get("metadata") if isinstance(message, dict) else message.metadata
    return (metadata or {}).get("title") or ""


class Spy:
    """Wraps the shared backend to see what each conversation was started with."""

    name = "spy"

    def __init__(self, inner, boom: Exception | None = None) -> None:
        self.inner, self.boom, self.calls = inner, boom, []
        self.model_id = inner.model_id

    def start(self, messages, tools, *, settings=None):
        if self.boom is not None:
            raise self.boom
        self.calls.append((messages, settings))
        return self.inner.start(messages, tools, settings=settings)

    def close(self) -> None:
        pass


def test_ask_streams_panels_links_and_downloads(served) -> None:
    _, url, _ = served
    job = ask(client(url), QUESTION)
    _, chat, meter, dl_trace, dl_html, dl_md = job.result(timeout=60)
    assert len(job.outputs()) >= 2  # the question at once, then the answer (delay 0: one batch)
    titles = [re.sub(r"^Thought for \d+\.\d s$", "Thought", title(m)) for m in chat]  # timings vary
    assert chat[0]["role"] == "user" and text_of(chat[0]) == QUESTION
    assert titles[1:] == ["Thought", "Searched: eiffel tower height · 1 result", "Thought",
                          "Searched: hostile titles &lt;img src=x onerror=alert\\(4\\)&gt; · 2 results",
                          "Thought", '<span class="warn">⚠ Search failed</span>: broken provider', "Thought", "",
                          f"{SOURCES_TITLE} (3)", STATS_TITLE]
    answer = text_of(chat[8])
    assert '<a class="cite" href="https://en.wikipedia.org/wiki/Eiffel&#95;Tower"' in answer
    assert ('<span class="cite cite-missing" title="No source 9 in this answer"><span class="sr-only">Citation '
            '</span>9?<span class="sr-only">: no such source</span></span>') in answer
    assert "provider is down" in text_of(chat[6])
    assert meter.startswith("searches 3/5 · done")
    everything = repr(chat) + meter
    assert CANARY not in everything and "Traceback" not in everything
    for update in (dl_trace, dl_html, dl_md):
        assert update["visible"] is True and Path(update["value"]).exists()
    meta, pairs = trace.read_trace(dl_trace["value"])
    assert meta["question"] == QUESTION and isinstance(pairs[-1][1], Done)
    assert CANARY not in Path(dl_trace["value"]).read_text(encoding="utf-8")
    assert "Eiffel" in Path(dl_html["value"]).read_text(encoding="utf-8")
    assert "330" in Path(dl_md["value"]).read_text(encoding="utf-8")


def test_api_names_its_inputs_and_outputs(served) -> None:
    _, url, _ = served
    api = client(url).view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert set(api) == {"/ask", "/replay", "/stop"}  # nothing internal is exposed
    assert [r["label"] for r in api["/ask"]["returns"]] == [
        "Question", "Conversation", "Progress", "Download trace", "Download HTML report",
        "Download Markdown report"]
    assert [r["parameter_name"] for r in api["/ask"]["parameters"]] == [
        "message", "history", "max_searches", "provider", "results", "temperature", "max_new_tokens", "read",
        "check_claims"]  # appended (issue 23), with a default: positional callers are unchanged


def test_configured_values_outside_the_default_slider_ranges_still_work() -> None:
    """`--max-new-tokens 200` or DEEPSEARCH_TEMPERATURE=1.8: the settings sliders must hold them,
    or Gradio refuses every question with "Value 200 is less than minimum value 256"."""
    demo, url = serve(scripted(max_new_tokens=200, temperature=1.8))
    try:
        job = client(url).submit("How tall is the Eiffel Tower?", [], api_name="/ask")  # the UI's defaults
        _, chat, meter, *_ = job.result(timeout=30)
        assert "done" in meter and any("330 m" in text_of(m) for m in chat)
    finally:
        demo.close()


def test_follow_up_sees_final_answers_only_and_settings_apply(served) -> None:
    demo, url, _ = served
    runtime = demo.runtime
    spy = runtime.backend = Spy(runtime.backend)  # a new client gets a new session on the spy
    try:
        c = client(url)
        _, chat, *_ = ask(c, QUESTION).result(timeout=60)
        _, chat2, meter, *_ = ask(c, "And in feet?", chat, max_searches=1, max_new_tokens=768,
                                  temperature=0.25).result(timeout=60)
    finally:
        runtime.backend = spy.inner
    assert [m["role"] for m in chat2].count("user") == 2
    assert meter.startswith("searches 1/1")
    (first, _), (second, settings) = spy.calls
    assert settings.max_searches == 1 and settings.max_new_tokens == 768 and settings.temperature == 0.25
    history = second[1:-1]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[1]["content"].startswith("The Eiffel Tower is **330 m**")
    assert "Heights of towers" not in repr(second)  # no reasoning from the first turn
    assert second[-1]["content"].endswith("And in feet?")


def test_empty_message_does_nothing(served) -> None:
    _, url, _ = served
    result = ask(client(url), "   ").result(timeout=30)
    assert all(isinstance(v, dict) and v.get("__type__") == "update" and "value" not in v
               for v in result)


def test_over_long_question_is_refused_cleanly(served) -> None:
    _, url, _ = served
    with pytest.raises(AppError) as info:
        ask(client(url), "x" * 301).result(timeout=30)
    message = str(info.value)
    assert "limit is 300" in message and "Traceback" not in message


def test_engine_crash_becomes_a_clean_message(served) -> None:
    demo, url, _ = served
    runtime = demo.runtime
    original = runtime.backend
    runtime.backend = Spy(original, boom=RuntimeError("internal detail /srv/secret/path"))
    try:
        _, chat, meter, *_ = ask(client(url), QUESTION).result(timeout=30)
    finally:
        runtime.backend = original
    assert title(chat[-1]) == ERROR_TITLE and text_of(chat[-1]).startswith(CRASH_MESSAGE.split(";")[0])
    assert "internal detail" not in repr(chat) and meter.endswith("error")


def test_replay_upload_plays_with_the_same_panels(served, tmp_path: Path) -> None:
    _, url, _ = served
    path = tmp_path / "hostile.jsonl"
    bad = SourceRef(id=1, title="<img src=x onerror=alert(1)>", url="javascript:alert(1)")
    good = SourceRef(id=2, title="Good", url="https://example.org/good")
    writer = trace.TraceWriter(path, question="Recorded <b>question</b>", settings=scripted(),
                               model="script:test")
    for event in (Thinking(text="hmm"), SearchStart(query="q", round=1, max_searches=2),
                  SearchDone(query="q", provider="fixture", latency_s=0.3, results=(bad, good)),
                  Done(answer="A [1] B [2]", sources=(bad, good), cited=(1, 2), searches=1)):
        writer.write(event)
    writer.close()
    _, chat, meter, *_ = client(url).predict(handle_file(str(path)), [], api_name="/replay")
    assert [title(m) for m in chat] == ["", "Thought", "Searched: q · 2 results", "", f"{SOURCES_TITLE} (2)",
                                        STATS_TITLE]
    answer = text_of(chat[3])
    assert answer.startswith('A <span class="cite cite-missing" title="No source 1 in this answer"><span '
                             'class="sr-only">Citation </span>1?<span class="sr-only">: no such source</span></span> '
                             'B <a class="cite" href="https://example.org/good" title="2. Good · example.org"><span '
                             'class="sr-only">Source </span>2<span class="sr-only">: Good, example.org</span></a>')
    assert "Replay of a recorded trace (scripted" in repr(chat)
    assert "](javascript" not in repr(chat) and "<img" not in repr(chat)
    assert meter.startswith("searches 1/2 · done")

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"type": "meta", "version": 1}\nnot json\n', encoding="utf-8")
    with pytest.raises(AppError) as info:
        client(url).predict(handle_file(str(broken)), [], api_name="/replay")
    assert "broken.jsonl:1:" in str(info.value) and "Traceback" not in str(info.value)
    assert "/" not in str(info.value).split("broken.jsonl")[0]  # not the server's upload folder


def test_trace_flag_appends_every_answer(served) -> None:
    _, url, session_trace = served
    ask(client(url), "Recorded one").result(timeout=60)
    ask(client(url), "Recorded two").result(timeout=60)
    runs = trace.read_runs(session_trace)
    questions = [meta["question"] for meta, _ in runs]
    assert questions[-2:] == ["Recorded one", "Recorded two"]
    assert CANARY not in session_trace.read_text(encoding="utf-8")


def test_stop_ends_generation_and_app_stays_usable(slow) -> None:
    demo, url = slow
    c = client(url)
    before = pump_threads()
    job = ask(c, QUESTION)
    wait_until(lambda: len(job.outputs()) >= 3, "three frames of the answer streaming")
    c.predict([], api_name="/stop")
    _, chat, meter, *_ = job.result(timeout=20)
    assert STOPPED_TITLE in [title(m) for m in chat] and "stopped" in meter
    assert not any("330 m" in text_of(m) for m in chat)  # the answer never came
    wait_until(lambda: not pump_threads() - before, "the stopped run's engine thread ending")
    job2 = ask(c, "Again?", chat)
    # not stuck behind the stopped run (which would stream its whole script first)
    wait_until(job2.outputs, "the next question starting to stream", timeout=10)
    c.predict([], api_name="/stop")
    job2.result(timeout=20)


def test_full_queue_says_busy(slow) -> None:
    _, url = slow
    clients = [client(url) for _ in range(3)]
    running = ask(clients[0], QUESTION)
    wait_until(running.outputs, "the first question streaming")
    waiting = ask(clients[1], QUESTION)
    wait_until(lambda: waiting.status().code == Status.IN_QUEUE, "the second question waiting in the queue")
    with pytest.raises(Exception) as info:
        ask(clients[2], QUESTION).result(timeout=20)
    assert "queue is full" in str(info.value).lower()
    waiting.cancel()
    clients[0].predict([], api_name="/stop")
    running.result(timeout=20)


def test_import_starts_nothing_and_falls_back_to_demo_mode() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "OPENAI_", "TAVILY_"))}
    env["PYTHON_DOTENV_DISABLED"] = "1"
    code = (
        "import sys, gradio as gr, app\n"
        "assert isinstance(app.demo, gr.Blocks) and not app.demo.is_running\n"
        "rt = app.runtime\n"
        "assert rt.backend.name == 'scripted' or not rt.backend.loaded  # no model loaded at import\n"
        "import torch\n"
        "assert (rt.label is None) == torch.cuda.is_available(), rt.label\n"
        "print('OK', rt.settings.backend)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-2000:]


def test_cli_flags_and_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        app.main(["--help"])
    assert info.value.code == 0
    helped = capsys.readouterr().out
    for flag in ("--host", "--port", "--share", "--trace", "--replay", "--model-script", "--base-url"):
        assert flag in helped
    assert app.main(["--model-script", "/nonexistent/script.json"]) == 2  # before any server starts
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
    assert app.main(["--replay", str(DATA / "ui.search.json")]) == 2
    assert "ui.search.json" in capsys.readouterr().err


def test_demo_mode_settings_info_never_shows_keys() -> None:
    from ui.app_ui import settings_info

    runtime = app.make_runtime(scripted(tavily_api_key=CANARY, provider="auto"))
    info = settings_info(runtime)
    assert "Search:** Tavily \\(key configured ✓\\)" in info and CANARY not in info
    without = settings_info(app.make_runtime(scripted(provider="auto")))
    assert "DuckDuckGo \\(no Tavily key is configured\\)" in without  # one statement, not two that disagree
    assert "fixture" not in settings_info(app.make_runtime(scripted()))  # named as a visitor reads it
    built = app.create_demo(scripted())
    assert isinstance(built.blocks, gr.Blocks) and built.runtime.settings.backend == "scripted"


class SlowLoading(Spy):
    """A backend whose model takes a while to load (or fails to)."""

    def __init__(self, inner, *, fail: str | None = None) -> None:
        super().__init__(inner)
        self.loaded, self.fail = False, fail
        self.release = threading.Event()  # the test lets the load finish once it saw the status

    def load(self) -> None:
        assert self.release.wait(60), "the test never let the model finish loading"
        if self.fail:
            from agent.backends.base import BackendError

            raise BackendError(self.fail)
        self.loaded = True


@pytest.mark.parametrize("fail", [None, "weights for Qwen/QwQ-32B are missing; run hf download"])
def test_first_question_waits_for_the_model_with_a_status(fail: str | None) -> None:
    from agent.session import build_backend
    from ui.app_ui import build_ui
    from ui.runtime import ModelLoader, Runtime

    settings = scripted()
    backend = SlowLoading(build_backend(settings), fail=fail)
    runtime = Runtime(settings=settings, backend=backend, loader=ModelLoader(backend, label="Qwen/QwQ-32B"))
    assert runtime.loader.loading and "loads when the first question arrives" in runtime.loader.status()
    demo = build_ui(runtime).queue()
    url = launch_on_free_port(demo)
    try:
        job = ask(client(url), QUESTION)
        wait_until(lambda: any("Waiting for the model" in repr(out[1]) for out in job.outputs()),
                   "a 'Waiting for the model' frame while the model loads")
        backend.release.set()
        _, chat, meter, *_ = job.result(timeout=60)
        frames = [repr(out[1]) for out in job.outputs()]
    finally:
        demo.close()
    assert any("Waiting for the model" in f and "Loading Qwen/QwQ-32B" in f for f in frames)
    assert "Waiting for the model" not in repr(chat)
    if fail:
        assert title(chat[-1]) == ERROR_TITLE and "run hf download" in text_of(chat[-1])
        assert meter.endswith("error")
    else:
        assert meter.startswith("searches 3/5 · done") and backend.loaded


def test_stop_replies_only_after_the_answer_stopped_streaming() -> None:
    """Stop's reply must be the browser's last word: a frame of the stopped answer arriving after
    it would put "thinking…" back in the meter (seen once in CI)."""
    from agent.session import build_backend
    from ui.app_ui import Handlers
    from ui.runtime import ModelLoader, Runtime
    from ui.session import UISession

    settings = scripted(script_delay_s=0.02)
    backend = build_backend(settings)
    runtime = Runtime(settings=settings, backend=backend, loader=ModelLoader(backend, label="scripted"))
    handlers, session = Handlers(runtime), UISession(runtime)
    frames: list[float] = []
    streaming = threading.Thread(target=lambda: [frames.append(time.monotonic())
                                                 for _ in handlers.ask(QUESTION, [], session)])
    streaming.start()
    wait_until(lambda: len(frames) >= 3, "three frames of the answer")
    chat, meter = handlers.stop([{"role": "user", "content": QUESTION}], session)
    replied = time.monotonic()
    streaming.join(30)
    assert not streaming.is_alive(), "the stopped answer's handler did not return"
    assert meter.endswith("· stopped") and STOPPED_TITLE in [title(m) for m in chat]
    assert frames[-1] <= replied, "the stopped answer sent a frame after Stop had replied"


def test_a_late_closing_handler_leaves_the_next_question_alone() -> None:
    from agent.session import build_backend
    from ui.runtime import ModelLoader, Runtime
    from ui.session import UISession

    settings = scripted()
    backend = build_backend(settings)
    session = UISession(Runtime(settings=settings, backend=backend, loader=ModelLoader(backend, label="s")))
    old = session.control.begin()
    new = session.control.begin()  # the next question began before the old handler's generator was closed
    session.control.end(old)
    assert old.is_set() and not new.is_set() and not session.control.handler_idle.is_set()
    session.control.end(new)
    assert new.is_set() and session.control.handler_idle.is_set()
