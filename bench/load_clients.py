"""The people of ``bench/load.py``: ``gradio_client`` sessions, run in worker processes.

Each worker process opens its sessions (one ``Client`` each, its own Gradio
session) before the clock starts, says ``ready``, waits for ``go``, then every
session asks its questions one after another, passing the chat back as
history as a browser does. Per answer it records the wall time, the time to
the first visible token of the stream (the first update that shows the
server's first word), the number of updates and any error. Running in other
processes keeps the clients off the measured server's GIL and CPU count.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Literal

from bench.load_fake_server import END_MARK, THINK_MARK

Target = Literal["app", "baseline"]
OPEN_TRIES = 3
POLL_S = 0.025  # how often a session looks for new updates: the resolution of the first-token time


@dataclass(frozen=True, kw_only=True)
class AnswerRecord:
    session: int
    wall_s: float
    ttft_s: float | None
    updates: int
    error: str | None


def question(session: int, index: int) -> str:
    """Half the answers (alternating, and offset between sessions) make one search first."""
    if (session + index) % 2 == 0:
        return f"Question {index + 1} of session {session}: please search how tall the tower is."
    return f"Question {index + 1} of session {session}: how tall is the tower today?"


def _chat_of(output: Any) -> list[dict]:
    """The chatbot's value in one output tuple: the first list of role/content messages."""
    for value in output if isinstance(output, (tuple, list)) else (output,):
        if isinstance(value, list) and (not value or isinstance(value[0], dict) and "role" in value[0]):
            return value
    return []


def _text(messages: list[dict]) -> str:
    parts = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            parts += [str(c.get("text", "")) for c in content if isinstance(c, dict)]
        else:
            parts.append(str(content or ""))
    return "\n".join(parts)


def _after_last_question(chat: list[dict]) -> list[dict]:
    users = [i for i, m in enumerate(chat) if m.get("role") == "user"]
    return chat[users[-1] + 1:] if users else chat


def _submit(client: Any, target: Target, text: str, history: list[dict]) -> Any:
    if target == "app":
        return client.submit(text, history, api_name="/ask")
    return client.submit(text, history, api_name="/chat")


def ask_once(client: Any, target: Target, session: int, text: str, history: list[dict],
             timeout_s: float) -> tuple[AnswerRecord, list[dict]]:
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    ttft = None
    seen = 0
    try:
        job = _submit(client, target, text, history)
        while not job.done() and time.monotonic() < deadline:
            if ttft is None:
                outputs = job.outputs()
                for output in outputs[seen:]:
                    if THINK_MARK in _text(_after_last_question(_chat_of(output))):
                        ttft = time.monotonic() - t0
                        break
                seen = len(outputs)
            time.sleep(POLL_S)
        final = job.result(timeout=max(0.1, deadline - time.monotonic()))
        wall = time.monotonic() - t0
        chat = _chat_of(final)
        updates = len(job.outputs())
        error = None if END_MARK in _text(_after_last_question(chat)) else "the answer did not arrive whole"
    except Exception as exc:  # noqa: BLE001 - any failure is what the benchmark counts
        wall, chat, updates = time.monotonic() - t0, history, 0
        error = f"{type(exc).__name__}: {str(exc)[:200]}"
    return AnswerRecord(session=session, wall_s=round(wall, 3), ttft_s=None if ttft is None else round(ttft, 3),
                        updates=updates, error=error), chat


def run_session(client: Any, target: Target, session: int, questions: int, timeout_s: float,
                out: list[AnswerRecord]) -> None:
    history: list[dict] = []
    for index in range(questions):
        record, history = ask_once(client, target, session, question(session, index), history, timeout_s)
        out.append(record)
        if record.error:
            return  # a broken session stops, as a person would give up


def run_worker(url: str, target: Target, sessions: list[int], questions: int, timeout_s: float,
               conn: Any) -> None:
    """Process entry: open the sessions, say ready, wait for go, ask, send the records back."""
    from gradio_client import Client

    def open_client(_: int) -> Any:
        # A loaded box answers slowly: a long timeout, and a few tries before a session fails.
        options = dict(verbose=False, download_files=False, analytics_enabled=False,
                       httpx_kwargs={"timeout": 60.0})
        for _attempt in range(OPEN_TRIES - 1):
            try:
                return Client(url, **options)
            except Exception:  # noqa: BLE001 - the last try's error is the one reported
                time.sleep(1.0)
        return Client(url, **options)

    try:
        with ThreadPoolExecutor(max_workers=min(8, len(sessions))) as pool:
            clients = list(pool.map(open_client, sessions))
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        conn.send(("failed", f"cannot open a session on {url}: {type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    if not conn.poll(timeout_s) or conn.recv() != "go":
        return
    records: list[AnswerRecord] = []
    threads = [threading.Thread(target=run_session, args=(c, target, s, questions, timeout_s, records),
                                daemon=True) for c, s in zip(clients, sessions)]
    for t in threads:
        t.start()
    end = time.monotonic() + timeout_s * questions + 5
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    conn.send(("done", [asdict(r) for r in records]))
    for c in clients:
        try:
            c.close()
        except Exception:  # noqa: BLE001 - the process ends next anyway
            pass
