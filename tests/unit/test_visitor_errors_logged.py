"""Every error a visitor is shown is in the server's log, with its cause: toasts (a refused
question, a bad trace, an edit of an answer), an answer that ends in an error, a failed search,
a document that cannot be added, an engine crash. The handlers are driven directly, no server."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from agent.api import BackendError, Error, Thinking
from agent.config import Settings
from ui.handlers import Handlers
from ui.pump import EventPump
from ui.startup import make_runtime

DATA = Path(__file__).resolve().parents[1] / "data"
CALL = ('Let me search.\n</think>\n\n<tool_call>\n{"name": "web_search", "arguments": '
        '{"query": "%s"}}\n</tool_call>')


def handlers(tmp_path: Path, rounds: list[str], **kw) -> Handlers:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(rounds), encoding="utf-8")
    settings = Settings(backend="scripted", model_script=str(script), search_fixture=str(DATA / "ui.search.json"),
                        provider="fixture", max_question_chars=50, **kw)
    return Handlers(make_runtime(settings))


def run(h: Handlers, question: str) -> list:
    return list(h.ask(question, [], None))


def shown(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("shown to a visitor")]


def test_a_refused_question_is_logged_in_full(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    h = handlers(tmp_path, ["</think>\n\nFine."])
    with pytest.raises(gr.Error) as info:
        run(h, "x" * 51)
    assert "DEEPSEARCH_MAX_QUESTION_CHARS" not in info.value.message  # the toast: no setting names ...
    assert any("(Question not sent)" in m and "51 characters" in m and "DEEPSEARCH_MAX_QUESTION_CHARS" in m
               for m in shown(caplog))  # ... the log: all of it


def test_an_answer_that_ends_in_an_error_is_logged_with_its_cause(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    h = handlers(tmp_path, ["</think>\n\nFine."])
    real = h.rt.backend.start

    def refused(*args, **kwargs):
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as exc:
            raise BackendError("cannot reach the model server at http://127.0.0.1:9/v1") from exc

    h.rt.backend.start = refused
    frames = run(h, "Why?")
    h.rt.backend.start = real
    page = " ".join(str(getattr(m, "content", m)) for m in frames[-1][1])
    assert "cannot reach the model server" in page.lower()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "shown to a visitor (an answer's error): cannot reach the model server" in logged
    assert "ConnectionRefusedError" in logged and "Connection refused" in logged  # the cause


def test_a_failed_search_and_a_script_that_runs_out_are_logged(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    h = handlers(tmp_path, [CALL % "broken provider"])  # the search fails, then no round is left
    run(h, "Why?")
    messages = shown(caplog)
    assert any("failed search for 'broken provider'" in m for m in messages)
    assert any("the model script has only 1 round(s)" in m for m in messages)


def test_a_bad_trace_and_a_wrong_edit_are_logged(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    h = handlers(tmp_path, ["</think>\n\nFine."])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "meta"}\n', encoding="utf-8")
    with pytest.raises(gr.Error):
        list(h.replay_upload(str(bad), [], None))
    unreadable = tmp_path / "folder.jsonl"
    unreadable.mkdir()
    with pytest.raises(gr.Error):
        list(h.replay_upload(str(unreadable), [], None))
    with pytest.raises(gr.Error):
        list(h.edit(SimpleNamespace(index=5, value="x"), [], None))
    messages = shown(caplog)
    assert any("(Cannot replay this file)" in m and "no version number" in m for m in messages)
    assert any("(Question not sent)" in m and "Only your own questions" in m for m in messages)


def test_an_engine_crash_and_a_backend_error_in_the_pump_are_logged(caplog) -> None:
    caplog.set_level(logging.INFO)

    def engine(exc: Exception):
        yield Thinking(text="...")
        raise exc

    def cause() -> BackendError:
        try:
            raise TimeoutError("read timed out")
        except TimeoutError as inner:
            try:
                raise BackendError("the model server stopped answering") from inner
            except BackendError as outer:
                return outer

    for exc in (cause(), KeyError("boom")):
        pump = EventPump(events=engine(exc), cancel=threading.Event(), interval=lambda: 0.0).start()
        events = [e for batch in pump.batches() for e in batch]
        assert isinstance(events[-1], Error)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "shown to a visitor (an answer's error): the model server stopped answering" in logged
    assert "TimeoutError: read timed out" in logged
    assert "the engine failed" in logged and "Something went wrong while answering" in logged


def test_a_document_that_cannot_be_added_is_logged(tmp_path: Path, caplog) -> None:
    from ui.documents_panel import DocumentsPanel

    caplog.set_level(logging.INFO)
    h = handlers(tmp_path, ["</think>\n\nFine."])
    odd = tmp_path / "tool.exe"
    odd.write_bytes(b"MZ")
    session, *_ = DocumentsPanel(h.rt).upload([str(odd)], None, SimpleNamespace(session_hash=None))
    session.close()
    assert any("(a document upload)" in m and "tool.exe" in m for m in shown(caplog))
