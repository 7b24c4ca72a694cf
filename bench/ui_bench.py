"""The UI under a fast token stream: update rate through the real controller, update cost growth.

``measure_rate`` runs a question through the real Gradio handler
(``ui.app_ui.Handlers.ask`` -> ``UISession.stream`` throttle -> ``AnswerView``)
with the scripted backend streaming as fast as Python can (no delay, one
chunk of 1-7 characters per "token") and counts the updates it yields per
second. ``measure_growth`` times one UI update (feed the events of one
throttle interval into ``AnswerView``, then build the chatbot value and the
meter, as the handler does) near the start and near the end of a
20,000-token answer, and separately Gradio's own ``Chatbot.postprocess`` of
that value (what Gradio does with every yielded update before sending it).
"""

from __future__ import annotations

import shutil
import time
from typing import Any

from agent.backends.scripted import ScriptedBackend
from agent.config import Settings
from agent.events import Answer, SearchDone, SearchStart, SourceRef, Thinking

from .common import corpus_ids, median

QUESTION = "What is the tallest building in the world?"


def _long_text(tokenizer: Any, n_tokens: int, offset: int = 0) -> str:
    return tokenizer.decode(corpus_ids(tokenizer, n_tokens, offset=offset), skip_special_tokens=False)


def measure_rate(tokenizer: Any, *, tokens: int = 50_000) -> dict[str, Any]:
    """UI updates per second for a stream far faster than any GPU model (no delay at all)."""
    from ui.app_ui import Handlers
    from ui.pump import UPDATE_INTERVAL_S
    from ui.runtime import ModelLoader, Runtime
    from ui.session import UISession

    text = (_long_text(tokenizer, tokens // 4) + "\n</think>\n\n"
            + _long_text(tokenizer, tokens - tokens // 4, offset=7))
    settings = Settings(backend="scripted", temperature=0.0, max_new_tokens=10 * tokens,
                        script_delay_s=0.0, search_retry_backoff_s=0.0)
    backend = ScriptedBackend(rounds=[text], settings=settings)
    runtime = Runtime(settings=settings, backend=backend, loader=ModelLoader(backend, label="bench"))
    session = UISession(runtime)
    stamps: list[float] = []
    t0 = time.perf_counter()
    for _update in Handlers(runtime).ask(QUESTION, [], session):
        stamps.append(time.perf_counter())
    total = time.perf_counter() - t0
    conv = session.chat.conversation
    chunks = conv.usage.generated_tokens if conv is not None else 0
    shutil.rmtree(session.downloads.export_dir(), ignore_errors=True)
    # The first update is the question echo, the last the finished answer with its downloads;
    # the ones between are the throttled stream.
    stream = stamps[1:-1]
    span = stream[-1] - stream[0] if len(stream) > 2 else 0.0
    per_s = round((len(stream) - 1) / span, 2) if span > 0 else None  # None: too short a stream to tell
    gaps = [b - a for a, b in zip(stream, stream[1:])]
    return {
        "ui_updates_per_s": per_s,
        "ui_updates": len(stamps),
        "ui_stream_chunks": chunks,
        "ui_stream_chunks_per_s": round(chunks / total, 1) if total > 0 else None,
        "ui_stream_s": round(total, 3),
        "ui_update_gap_ms_min": round(1000 * min(gaps), 2) if gaps else None,
        "ui_update_gap_ms_median": round(1000 * median(gaps), 2) if gaps else None,
        "ui_update_interval_s": UPDATE_INTERVAL_S,
    }


def measure_growth(tokenizer: Any, *, tokens: int = 20_000, per_update: int = 5,
                   samples: int = 60) -> dict[str, Any]:
    """Cost of one UI update near the start vs near the end of a ``tokens``-token answer.

    ``per_update`` tokens arrive between two updates (a 100 tok/s model at 20 updates/s).
    Each kind (answer, thinking) is measured on a fresh view, as the median of
    ``samples`` consecutive updates at each point.
    """
    import gradio as gr

    from ui.mapper import AnswerView

    deltas = [tokenizer.decode([i]) for i in corpus_ids(tokenizer, tokens + (samples + 4) * per_update)]
    chatbot = gr.Chatbot()
    history = [gr.ChatMessage(role="user", content=QUESTION)]
    sources = tuple(SourceRef(id=i, title=f"Source {i}", url=f"https://example.com/{i}") for i in range(1, 6))
    out: dict[str, Any] = {}
    for kind, cls in (("answer", Answer), ("thinking", Thinking)):
        view = AnswerView(max_searches=5)
        if kind == "answer":
            view.feed(Thinking(text="Let me search."))
        view.feed(SearchStart(query="tallest building", round=1, max_searches=5))
        view.feed(SearchDone(query="tallest building", provider="bench", latency_s=0.5, results=sources))
        pos = 0

        def update(n: int) -> tuple[float, float, int]:
            nonlocal pos
            batch = [cls(text=d) for d in deltas[pos:pos + n]]
            pos += n
            t0 = time.perf_counter()
            for event in batch:  # what the handler does with one batch from the controller
                view.feed(event)
            value = history + view.messages()
            view.meter()
            t1 = time.perf_counter()
            data = chatbot.postprocess(value)  # what Gradio then does with the yielded value
            t2 = time.perf_counter()
            return t1 - t0, t2 - t1, len(str(data.root[-1].content)) if data.root else 0

        def window() -> tuple[float, float, int]:
            got = [update(per_update) for _ in range(samples)]
            return median([g[0] for g in got]), median([g[1] for g in got]), got[-1][2]

        update(per_update * 4)  # the first update builds everything once
        start_render, start_post, start_chars = window()
        while pos < tokens:  # the rest of the answer, fed in large batches (not timed)
            step = min(500, tokens - pos)
            for event in [cls(text=d) for d in deltas[pos:pos + step]]:
                view.feed(event)
            pos += step
        view.messages()
        end_render, end_post, end_chars = window()
        key = "ui_update_cost_growth" if kind == "answer" else "ui_update_cost_growth_thinking"
        out[key] = round(end_render / start_render, 2)
        out[f"{key}_with_gradio"] = round((end_render + end_post) / (start_render + start_post), 2)
        out[f"ui_{kind}_update_us_start"] = round(1e6 * start_render, 1)
        out[f"ui_{kind}_update_us_end"] = round(1e6 * end_render, 1)
        out[f"gradio_{kind}_postprocess_us_start"] = round(1e6 * start_post, 1)
        out[f"gradio_{kind}_postprocess_us_end"] = round(1e6 * end_post, 1)
        out[f"ui_{kind}_chars_start"] = start_chars
        out[f"ui_{kind}_chars_end"] = end_chars
    out["ui_growth_tokens"] = tokens
    out["ui_tokens_per_update"] = per_update
    return out
