"""Gradio's launch() takes a server whose first page is slow (a loaded machine) for one behind a
proxy and refuses to start; ``ui.localhost_check`` asks again until the page answers."""

from __future__ import annotations

import pytest
from gradio import networking

from ui import localhost_check
from ui.app_ui import launch_kwargs


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(localhost_check, "time", fake)
    return fake


def test_a_slow_first_page_is_asked_again_until_it_answers(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    answers = iter([False, False, False, True])  # Gradio's one 3 s try timed out three times
    asked: list[str] = []
    monkeypatch.setattr(localhost_check, "_gradio_url_ok", lambda url: asked.append(url) or next(answers))
    assert localhost_check.patient_url_ok("http://127.0.0.1:7860/") is True
    assert asked == ["http://127.0.0.1:7860/"] * 4


def test_a_server_that_never_answers_still_fails_after_the_patience(monkeypatch: pytest.MonkeyPatch,
                                                                    clock: Clock) -> None:
    monkeypatch.setattr(localhost_check, "_gradio_url_ok", lambda url: False)
    assert localhost_check.patient_url_ok("http://127.0.0.1:7860/") is False
    assert localhost_check.PATIENCE_S <= clock.now < localhost_check.PATIENCE_S + 1


def test_every_launch_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(networking, "url_ok", networking.url_ok)  # undone after the test
    launch_kwargs()  # what app.py and the tests' servers pass to launch()
    assert networking.url_ok is localhost_check.patient_url_ok
