"""The engine on a random Qwen2 forced to say a script: KV reuse and end-to-end overhead.

``measure_prefill`` drives the real loop (``agent.loop.run``) over the real
``TransformersBackend`` through a 3-search deep-search run and counts the
positions every forward pass runs through the model (``ForwardCounter``), next
to the backend's own accounting. ``measure_overhead`` compares tokens/s of bare
``model.generate`` with tokens/s of the whole app path (UI handler -> UI
controller -> loop -> parser -> backend thread + streamer -> mapper -> trace
recorder) on the same model, prompt, token count and greedy settings.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from typing import Any, Callable

import torch

from agent.backends.local.transformers import TransformersBackend
from agent.config import Settings
from agent.events import Done
from agent.loop import run
from agent.prompt import WEB_SEARCH_TOOL, build_messages
from agent.search import SearchChain
from agent.search.base import SearchResult

from .common import ForwardCounter, corpus_ids, corpus_text, install_forcing_head, interleave, median

QUESTION = "What is the tallest building in the world, and when was it completed?"


class BenchProvider:
    """Returns ``results`` results of about ``tokens`` tokens each, new URLs per search."""

    name = "bench"

    def __init__(self, tokenizer: Any, *, results: int = 5, tokens: int = 300) -> None:
        self.contents = [corpus_text(tokenizer, tokens, offset=53 * i) for i in range(results)]
        self.calls = 0

    def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        self.calls += 1
        return [SearchResult(title=f"Result {i + 1} of search {self.calls}",
                             url=f"https://example.com/{self.calls}/{i + 1}", content=c)
                for i, c in enumerate(self.contents)][:max_results]


def make_backend(model_dir: Any, **overrides: Any) -> TransformersBackend:
    settings = Settings(model=str(model_dir), backend="transformers", temperature=0.0,
                        search_retry_backoff_s=0.0, **overrides)
    backend = TransformersBackend(settings=settings)
    backend.load()
    return backend


def stop_ids(backend: TransformersBackend) -> tuple[int, int]:
    tok = backend.tokenizer
    return tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("</tool_call>")


def prompt_ids(backend: TransformersBackend, settings: Settings, question: str = QUESTION) -> list[int]:
    """The ids the loop's first round starts from with reading off (same messages, tools and
    template; reading adds the open_page tool)."""
    messages = build_messages(question, max_searches=settings.max_searches)
    return backend.start(messages, [WEB_SEARCH_TOOL], settings=settings).ids


def search_script(tokenizer: Any, stops: tuple[int, int], *, searches: int, think_tokens: int) -> list[int]:
    """Rounds of ``think_tokens`` thinking + one tool call each, then a short cited answer."""
    im_end, call_end = stops
    script: list[int] = []
    for r in range(searches):
        script += corpus_ids(tokenizer, think_tokens, offset=97 * r)
        call = json.dumps({"name": "web_search", "arguments": {"query": f"tallest building query {r + 1}"}})
        script += tokenizer.encode(f"\n</think>\n\n<tool_call>\n{call}\n", add_special_tokens=False) + [call_end]
    answer = ("Okay, I have enough to answer.\n</think>\n\nThe Burj Khalifa in Dubai is the tallest "
              "building in the world [1]. It was completed in 2010 [6] and stands 828 metres high [11].")
    return script + tokenizer.encode(answer, add_special_tokens=False) + [im_end]


def measure_prefill(backend: TransformersBackend, *, searches: int = 3, think_tokens: int = 1000,
                    results: int = 5, result_tokens: int = 300) -> dict[str, Any]:
    """One forced deep-search run: KV reuse vs re-prefilling everything each round."""
    model, tok = backend.model, backend.tokenizer
    stops = stop_ids(backend)
    settings = backend.settings.with_overrides(
        max_searches=searches, results_per_search=results, max_new_tokens=think_tokens + 256,
        result_chars=max(backend.settings.result_chars, 8 * result_tokens), read="off")
    head = install_forcing_head(model, filler=stops[0])
    head.load(search_script(tok, stops, searches=searches, think_tokens=think_tokens))
    provider = BenchProvider(tok, results=results, tokens=result_tokens)
    counter = ForwardCounter(model)
    box: dict[str, Any] = {}
    try:
        events = list(run(QUESTION, settings=settings, backend=backend,
                          search=SearchChain([provider], backoff_s=0.0), cancel=threading.Event(),
                          on_conversation=lambda c: box.setdefault("conv", c)))
    finally:
        counter.close()
    done = events[-1]
    if not isinstance(done, Done) or done.searches != searches or done.stats.finish != "stop":
        raise RuntimeError(f"the forced run did not go as scripted: {done}")
    s = done.stats.to_dict()
    rounds = s["rounds"]
    fed_back = rounds - 1  # the sampled </tool_call> of every continued round, prefilled next round
    hook_prefill = sum(counter.prefill)
    needed = s["prompt_tokens"] + s["spliced_tokens"] + fed_back
    return {
        "prefill_ratio": round(s["prefilled_tokens"] / s["reprefill_tokens"], 4),
        "prefill_excess": round(hook_prefill / needed, 6),
        "prefill_excess_literal": round(s["prefilled_tokens"] / (s["prompt_tokens"] + s["spliced_tokens"]), 6),
        "forward_positions_per_context_token": round(counter.total / (s["context_tokens"] - 1), 6),
        "prefill_tokens_kv_reuse": s["prefilled_tokens"],
        "prefill_tokens_counted_in_forward": hook_prefill,
        "prefill_tokens_per_round": counter.prefill,
        "prefill_tokens_reprefill": s["reprefill_tokens"],
        "prompt_tokens": s["prompt_tokens"],
        "spliced_tokens": s["spliced_tokens"],
        "generated_tokens": s["generated_tokens"],
        "context_tokens": s["context_tokens"],
        "decode_positions": counter.decode,
        "fed_back_sampled_tokens": fed_back,
        "rounds": rounds,
        "searches": done.searches,
        "think_tokens_per_round": think_tokens,
        "results_per_search": results,
        "tokens_per_result": result_tokens,
        "cited": list(done.cited),
        "run_s": s["total_s"],
    }


def _overhead_script(tokenizer: Any, n: int) -> list[int]:
    """``n`` ids of thinking then answer prose: no stop id, so exactly ``n`` tokens are made."""
    think = corpus_ids(tokenizer, (3 * n) // 4, offset=11)
    close = tokenizer.encode("\n</think>\n\n", add_special_tokens=False)
    return (think + close + corpus_ids(tokenizer, n, offset=401))[:n]


def measure_overhead(backend: TransformersBackend, *, tokens: int, repeats: int, ui: bool = True,
                     loop: bool = True) -> dict[str, Any]:
    """Tokens/s: bare ``generate`` vs the whole app path (UI included), and the loop alone.

    Every run is timed as a whole (wall clock, and CPU time of the process),
    and split by the forcing head's timestamps into: start -> first token
    (prompt rendering, tokenizing, prefill, thread start), the decode phase
    (first -> last token: what per-token overhead slows down) and last token
    -> end (finishing the answer: stats, trace export). Ratios are of
    medians over interleaved repeats.
    """
    model, tok = backend.model, backend.tokenizer
    stops = stop_ids(backend)
    # Reading off: prompt_ids renders the web_search tool alone (reading adds open_page to the
    # prompt), and page reading has its own benchmark (bench/read_bench.py).
    settings = backend.settings.with_overrides(max_new_tokens=tokens, max_searches=3, read="off")
    head = install_forcing_head(model, filler=corpus_ids(tok, 1)[0])
    script = _overhead_script(tok, tokens)
    prompt = prompt_ids(backend, settings)
    pad = tok.pad_token_id if tok.pad_token_id is not None else stops[0]
    produced: dict[str, list[int]] = {}
    phases: dict[str, dict[str, list[float]]] = {}

    def timed(name: str, body: Callable[[], list[int]]) -> Callable[[], None]:
        phases[name] = {"first": [], "decode": [], "after": []}

        def case() -> None:
            head.load(script)
            t0 = time.perf_counter()
            ids = body()
            t1 = time.perf_counter()
            st = head.stamps
            produced[name] = ids
            phases[name]["first"].append(st[0] - t0)
            phases[name]["decode"].append(st[-1] - st[0])
            phases[name]["after"].append(t1 - st[-1])

        return case

    def bare() -> list[int]:
        # In a worker thread, as the backend runs it: on this kind of box generate in the main
        # thread was at times ~10% slower or faster than in a thread, which would bias the ratio.
        x = torch.tensor([prompt])
        box: dict[str, Any] = {}

        def work() -> None:
            with torch.inference_mode():
                box["out"] = model.generate(input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=tokens,
                                            do_sample=False, temperature=None, top_p=None, top_k=None,
                                            eos_token_id=list(stops), pad_token_id=pad)

        thread = threading.Thread(target=work, name="bare-generate")
        thread.start()
        thread.join()
        return box["out"][0, len(prompt):].tolist()

    def loop_only() -> list[int]:
        box: dict[str, Any] = {}
        for _event in run(QUESTION, settings=settings, backend=backend,
                          search=SearchChain([BenchProvider(tok)], backoff_s=0.0),
                          on_conversation=lambda c: box.setdefault("conv", c)):
            pass
        return box["conv"].ids[len(prompt):]

    cases: dict[str, Callable[[], None]] = {"bare": timed("bare", bare)}
    app = _ui_runner(backend, settings, tok, prompt) if ui else None
    if app is not None:
        cases["app"] = timed("app", app)
    if loop or app is None:
        cases["loop"] = timed("loop", loop_only)
    for case in cases.values():  # warm-up: first calls pay for lazy imports and allocations
        case()
    for ph in phases.values():
        for values in ph.values():
            values.clear()
    times = interleave(cases, repeats)
    for name in cases:
        if produced[name] != produced["bare"] or len(produced[name]) != tokens:
            raise RuntimeError(f"{name} produced {len(produced[name])} tokens, not the same {tokens} as bare generate")
    wall = {name: median(t["wall"]) for name, t in times.items()}
    cpu = {name: median(t["cpu"]) for name, t in times.items()}
    ph = {name: {k: median(v) for k, v in p.items()} for name, p in phases.items()}
    top = "app" if "app" in cases else "loop"
    fixed = {name: ph[name]["first"] + ph[name]["after"] for name in cases}
    out: dict[str, Any] = {
        "tokens": tokens,
        "repeats": repeats,
        "prompt_tokens": len(prompt),
        "path": "ui.app_ui.Handlers.ask" if top == "app" else "agent.loop.run (ui not importable)",
        "tok_s": {k: round(tokens / v, 1) for k, v in wall.items()},
        "decode_ms_per_token": {k: round(1000 * ph[k]["decode"] / (tokens - 1), 4) for k in cases},
        "first_token_ms": {k: round(1000 * ph[k]["first"], 2) for k in cases},
        "after_last_token_ms": {k: round(1000 * ph[k]["after"], 2) for k in cases},
        "cpu_ms_per_token": {k: round(1000 * v / tokens, 3) for k, v in cpu.items()},
        "wall_s": {k: [round(x, 4) for x in t["wall"]] for k, t in times.items()},
        "overhead_ratio": round(wall["bare"] / wall[top], 4),
        "overhead_ratio_decode": round(ph["bare"]["decode"] / ph[top]["decode"], 4),
        "overhead_ratio_cpu": round(cpu["bare"] / cpu[top], 4),
        "overhead_ms_per_token_decode": round(1000 * (ph[top]["decode"] - ph["bare"]["decode"]) / (tokens - 1), 4),
        "overhead_fixed_ms": round(1000 * (fixed[top] - fixed["bare"]), 2),
        # Per-run ratios in the same rotation round: a sense of the noise.
        "pair_ratios": [round(b / a, 4) for a, b in zip(times[top]["wall"], times["bare"]["wall"])],
        "overhead_ratio_min": round(min(times["bare"]["wall"]) / min(times[top]["wall"]), 4),
    }
    # What that per-token overhead would cost next to a real model's forward pass: QwQ-32B NF4
    # decodes at ~14 tok/s on an H100 (~70 ms a token). An estimate, not a measurement.
    per_token = max(0.0, out["overhead_ms_per_token_decode"])
    out["overhead_ratio_projected_70ms"] = round(70.0 / (70.0 + per_token), 4)
    if "loop" in cases:
        out["loop_ratio"] = round(wall["bare"] / wall["loop"], 4)
        out["loop_ratio_decode"] = round(ph["bare"]["decode"] / ph["loop"]["decode"], 4)
    return out


def _ui_runner(backend: TransformersBackend, settings: Settings, tok: Any,
               prompt: list[int]) -> Callable[[], list[int]] | None:
    """One question through the real Gradio handler (``ui.app_ui.Handlers.ask``)."""
    try:
        from ui.app_ui import Handlers
        from ui.runtime import ModelLoader, Runtime
        from ui.session import UISession
    except ImportError:
        return None
    runtime = Runtime(settings=settings, backend=backend, loader=ModelLoader(backend, label="bench"))
    handlers = Handlers(runtime)

    def app() -> list[int]:
        session = UISession(runtime)
        session.chat.search = SearchChain([BenchProvider(tok)], backoff_s=0.0)
        for _update in handlers.ask(QUESTION, [], session):
            pass
        conv = session.chat.conversation
        shutil.rmtree(session.downloads.export_dir(), ignore_errors=True)
        return conv.ids[len(prompt):] if conv is not None else []

    return app


def measure_components(tokenizer: Any, *, tokens: int = 4000) -> dict[str, float]:
    """CPU microseconds per token of each per-token step of the app path, one thread, no model.

    What a token costs besides the forward pass, piece by piece; the rest of the measured
    overhead is handing each token across threads (generate -> loop -> UI pump -> handler).
    """
    import queue
    import tempfile
    from pathlib import Path

    from transformers import TextIteratorStreamer

    from agent.backends.local.streaming import TokenStreamer

    from agent.events import Thinking
    from agent.parser import StreamParser
    from agent.records.trace import TraceWriter

    ids = corpus_ids(tokenizer, tokens)
    tensors = [torch.tensor([i]) for i in ids]
    out: dict[str, float] = {}

    def per_token(fn: Callable[[], None]) -> float:
        t0 = time.process_time()
        fn()
        return round(1e6 * (time.process_time() - t0) / tokens, 2)

    streamer = TokenStreamer(tokenizer)  # what the backend uses
    streamer.put(torch.tensor([[0]]))  # the prompt, skipped

    def stream() -> None:
        for t in tensors:
            streamer.put(t)

    out["streamer_decode_us"] = per_token(stream)
    streamer.end()
    chunks = list(streamer)
    parser = StreamParser()
    out["parser_us"] = per_token(lambda: [parser.feed(c) for c in chunks])
    events = [Thinking(text=c) for c in chunks] or [Thinking(text="x")]
    with tempfile.TemporaryDirectory() as tmp:
        writer = TraceWriter(Path(tmp) / "t.jsonl", question="q", settings=Settings(), model="m")
        out["trace_write_us"] = per_token(lambda: [writer.write(e) for e in events])
        writer.close()
    q: queue.Queue[Any] = queue.Queue()
    out["queue_handoff_us"] = per_token(lambda: [q.put(e) or q.get() for e in events])
    try:
        from ui.mapper import AnswerView

        view = AnswerView(max_searches=3)
        out["mapper_feed_us"] = per_token(lambda: [view.feed(e) for e in events])
    except ImportError:
        pass
    out["sum_us"] = round(sum(out.values()), 2)
    # On one long line (a paragraph without breaks): transformers' TextIteratorStreamer
    # re-decodes every token since the last newline on each put, O(line length) a token;
    # ours decodes a small window. Side by side on the same ids.
    line = tokenizer.encode(corpus_text(tokenizer, 2100).replace("\n", " "), add_special_tokens=False)[:2000]

    def long_line(make: Callable[[], Any]) -> float:
        s = make()
        s.put(torch.tensor([[0]]))  # the prompt
        t0 = time.process_time()
        for i in line:
            s.put(torch.tensor([i]))
        cost = round(1e6 * (time.process_time() - t0) / len(line), 2)
        s.end()
        return cost

    out["streamer_decode_us_2k_token_line"] = long_line(lambda: TokenStreamer(tokenizer))
    out["textiteratorstreamer_decode_us_2k_token_line"] = long_line(
        lambda: TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True))
    return out
