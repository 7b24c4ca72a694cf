"""A new answer never starts while an earlier one still runs (issue 11, "from a read of the
code"): not a second ``generate`` on the local model while a stopped one is in prefill, and
not a second run of one browser session after ``begin`` gave up waiting."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import gradio as gr
import pytest
import torch

import app
from agent.config import Settings
from tests.integration.test_transformers_backend import MESSAGES, TOOLS, make_backend
from ui import run_control
from ui.app_ui import Handlers
from tests.waiting import stays_false, wait_until
from ui.run_control import SessionBusy
from ui.session import UISession

DATA = Path(__file__).resolve().parents[1] / "data"


class PrefillThatIgnoresStop:
    """Stands in for ``model.generate`` stuck in a long prefill: no stopping criterion runs."""

    def __init__(self) -> None:
        self.lock, self.active, self.most, self.calls = threading.Lock(), 0, 0, 0
        self.release = threading.Event()

    def __call__(self, **kwargs):
        with self.lock:
            self.calls += 1
            self.active += 1
            self.most = max(self.most, self.active)
        try:
            self.release.wait(60)  # a prefill far longer than any bound the tests assert
            kwargs["streamer"].end()
            return torch.cat([kwargs["input_ids"], kwargs["input_ids"][:, -1:]], dim=1)
        finally:
            with self.lock:
                self.active -= 1


def test_a_second_answer_waits_for_the_stopped_generation_thread(tiny_model_dir: Path) -> None:
    backend = make_backend(tiny_model_dir, max_new_tokens=8)
    first, second = backend.start(MESSAGES, TOOLS), backend.start(MESSAGES, TOOLS)
    fake = PrefillThatIgnoresStop()
    backend.model.generate = fake  # the one loaded model both conversations share
    try:
        stop_first = threading.Event()
        threading.Thread(target=lambda: list(first.generate(cancel=stop_first)), daemon=True).start()
        wait_until(lambda: fake.calls >= 1, "the first answer's generation starting")
        stop_first.set()  # Stop: the handler gives up after its grace, generate is still in prefill
        second_done = threading.Event()
        threading.Thread(target=lambda: (list(second.generate(cancel=threading.Event())),
                                         second_done.set()), daemon=True).start()
        # the next answer waits its turn
        stays_false(lambda: fake.calls > 1 or second_done.is_set(),
                    "the second answer generating beside the stopped one")
        fake.release.set()
        assert second_done.wait(10)
        assert fake.calls == 2 and fake.most == 1
    finally:
        fake.release.set()
        del backend.model.generate


def test_stop_while_waiting_for_the_model_ends_the_round_at_once(tiny_model_dir: Path) -> None:
    backend = make_backend(tiny_model_dir, max_new_tokens=8)
    first, second = backend.start(MESSAGES, TOOLS), backend.start(MESSAGES, TOOLS)
    fake = PrefillThatIgnoresStop()
    backend.model.generate = fake
    try:
        threading.Thread(target=lambda: list(first.generate(cancel=threading.Event())), daemon=True).start()
        wait_until(lambda: fake.calls >= 1, "the first answer's generation starting")
        cancel = threading.Event()
        threading.Timer(0.3, cancel.set).start()
        start = time.monotonic()
        assert list(second.generate(cancel=cancel)) == []
        # at once, not when the first answer's 60 s prefill ends
        assert second.finish_reason == "cancelled" and time.monotonic() - start < 10
        assert fake.calls == 1 and second.usage.rounds == 0
    finally:
        fake.release.set()
        del backend.model.generate


def scripted_runtime():
    return app.make_runtime(Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                                     search_fixture=str(DATA / "ui.search.json"), provider="fixture"))


def test_begin_refuses_while_the_sessions_previous_run_is_still_alive() -> None:
    session = UISession(scripted_runtime())
    still_running = threading.Event()
    session.control.pump = threading.Thread(target=still_running.wait, args=(10,), daemon=True)
    session.control.pump.start()
    try:
        with pytest.raises(SessionBusy, match="still stopping"):
            session.control.begin(wait_s=0.2)
    finally:
        still_running.set()
    session.control.pump.join(5)
    assert not session.control.begin(wait_s=0.2).is_set()


def test_the_ask_handler_says_so_instead_of_starting_a_second_run(monkeypatch) -> None:
    runtime = scripted_runtime()
    handlers, session = Handlers(runtime), UISession(runtime)
    still_running = threading.Event()
    session.control.pump = threading.Thread(target=still_running.wait, args=(10,), daemon=True)
    session.control.pump.start()
    monkeypatch.setattr(run_control, "BEGIN_WAIT_S", 0.2)
    try:
        with pytest.raises(gr.Error, match="still stopping"):
            next(handlers.ask("How tall is the Eiffel Tower?", [], session))
    finally:
        still_running.set()
