"""A tab closed while its whole-conversation download is written: no traceback, no file left."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import pytest

import ui.conversation_export as conversation_export
from agent.backends.scripted import ScriptedBackend
from agent.config import Settings
from agent.events import Answer, Done
from agent.records.conversation import Conversation
from tests.engine_helpers import recorded
from ui.runtime import ModelLoader, Runtime
from tests.waiting import wait_until
from ui.session import UISession

META = {"question": "Why?", "model": "test"}


def runtime() -> Runtime:
    settings = Settings(backend="scripted")
    backend = ScriptedBackend(rounds=["Hi.</think>\n\nHello."], settings=settings)
    return Runtime(settings=settings, backend=backend, loader=ModelLoader(backend, label="test"))


class WatchedLock:
    """A lock that records which threads came to take it, so a test knows one is waiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.arriving: set[threading.Thread] = set()

    def __enter__(self) -> None:
        self.arriving.add(threading.current_thread())
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def exporting(monkeypatch: pytest.MonkeyPatch, between) -> None:
    """``export_runs`` that calls ``between()`` once the HTML is rendered, before the Markdown."""
    real = conversation_export.export_runs

    def fake(runs, fmt):
        if fmt == "md":
            between()
        return real(runs, fmt)

    monkeypatch.setattr(conversation_export, "export_runs", fake)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_folder_deleted_between_the_two_files_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    conversation = conversation_export.ConversationExport(record=Conversation())
    recorded(conversation.record, META["question"], [Answer(text="Because."), Done(answer="Because.")], meta=META)
    exporting(monkeypatch, lambda: shutil.rmtree(folder))
    assert conversation.write(folder) == (None, None)  # nothing offered from a folder that went
    assert not folder.exists() and errors(caplog) == []
    assert not list(tmp_path.rglob("deepsearch-conversation-*"))


def test_tab_closed_mid_write_waits_for_it_then_deletes_everything(monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    session = UISession(runtime())
    folder = session.downloads.new_export_dir()
    recorded(session.record, META["question"], [Answer(text="Because."), Done(answer="Because.")], meta=META)
    closer = threading.Thread(target=session.close)
    lock = session.downloads._export_lock = WatchedLock()

    def tab_closes() -> None:
        closer.start()  # the unload handler runs now, on its own thread
        wait_until(lambda: closer in lock.arriving, "the closing tab reaching the export folder's lock")

    exporting(monkeypatch, tab_closes)
    html, md = session.downloads.write_conversation()
    closer.join(timeout=10)
    assert not closer.is_alive()
    assert html and md  # the write finished before the folder went...
    assert not folder.exists()  # ...and the close deleted all of it
    assert errors(caplog) == []


def test_a_closed_session_makes_no_new_folder_for_its_conversation() -> None:
    session = UISession(runtime())
    session.downloads.new_export_dir()
    recorded(session.record, META["question"], [Answer(text="Because."), Done(answer="Because.")], meta=META)
    session.close()
    assert session.downloads.write_conversation() == (None, None)
    assert session.downloads.export_folder is None
