"""The model check on request: the judge layer run by the app's own local model, after the answer.

A local model (transformers, or the scripted stand-in) answers one question at a time on one GPU,
so the judge never runs inside its answers; a person asks for it on a finished answer ("Check
with the model"). The judge's prompt and its strict reading are ``judge.py``'s; here the prompt
goes to the loaded model as one user message with no tools, through the backend's own generation
gate (one generation per loaded model). A stop, a timeout (``judge_timeout_s``), a backend error
or garbage leave the lexical verdicts, and say why.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from ..backends.base import Backend, BackendError
from ..config import Settings
from ..events import Done
from ..registry import BACKENDS
from .judge import ClaimJudge, JudgeUnavailable, judge_claims, judge_for

_POLL_S = 0.05
STOPPED = "The model check was stopped; the lexical check stands."


def offers_model_check(settings: Settings) -> bool:
    """Whether a finished answer offers "Check with the model": the check is on, the backend
    runs in this process (no server), and no judge server is named (that one judges live)."""
    spec = BACKENDS.get(settings.backend)
    return (settings.check_claims != "off" and spec is not None and not spec.needs_server
            and judge_for(settings) is None)


def has_claims_to_judge(done: Done | None) -> bool:
    """The judge reads only sentences the lexical layer found supported: without one, nothing to ask."""
    return done is not None and any(c.verdict == "supported" and c.layer == "lexical" for c in done.claims or ())


def backend_completion(backend: Backend, settings: Settings, cancel: threading.Event) -> Callable[[str], str]:
    """A prompt-to-reply function on ``backend``: one tool-less round, cut off by ``cancel`` or
    after ``settings.judge_timeout_s``; a stop or a timeout is ``JudgeUnavailable`` saying which."""
    def complete(prompt: str) -> str:
        ended, finished, late = threading.Event(), threading.Event(), threading.Event()
        deadline = time.monotonic() + settings.judge_timeout_s

        def watch() -> None:  # one event for the backend: ends on Stop or at the deadline
            while not finished.wait(_POLL_S):
                if cancel.is_set() or time.monotonic() >= deadline:
                    (late if not cancel.is_set() else cancel).set()
                    ended.set()
                    return

        watcher = threading.Thread(target=watch, name="model-check-watch", daemon=True)
        watcher.start()
        try:
            conversation = backend.start([{"role": "user", "content": prompt}], [], settings=settings)
            reply = "".join(conversation.generate(cancel=ended))
        except BackendError as exc:
            raise JudgeUnavailable(f"the model failed: {exc}") from None
        finally:
            finished.set()
            watcher.join()
        if cancel.is_set():
            raise JudgeUnavailable("stopped")
        if late.is_set():
            raise JudgeUnavailable(f"the model gave no verdicts within {settings.judge_timeout_s:g} s")
        return reply
    return complete


def check_with_model(done: Done, backend: Backend, settings: Settings,
                     cancel: threading.Event) -> tuple[Done, str | None]:
    """``done`` with its lexically supported claims judged by ``backend`` (layer "judge"), and
    None; or ``done`` unchanged and what the person is told (stopped, could not run)."""
    judged, problem = judge_claims(done, ClaimJudge(backend_completion(backend, settings, cancel)))
    if cancel.is_set():
        return done, STOPPED
    return judged, problem
