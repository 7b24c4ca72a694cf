"""Shared pieces of the benchmarks: bench models, a forcing head, counters, timing.

The models are random-weight Qwen2s with the QwQ-like tokenizer and chat
template of ``devtools/tiny_model.py`` (the real weights cannot be downloaded
here). To make a random model say exactly what a benchmark needs, its
``lm_head`` is wrapped in ``ForcingHead``: the real head still runs (so every
step costs what it would), then the logits are replaced so that greedy
decoding emits the next scripted id.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402
from transformers import AutoTokenizer, GenerationConfig, Qwen2Config, Qwen2ForCausalLM  # noqa: E402

from devtools.tiny_model import CORPUS, build_tiny_model  # noqa: E402

# QwQ-32B's own limit; the tests' tiny model says 4096, which would only make
# transformers warn on the 16k-token sequences measured here.
MAX_POSITIONS = 40960

SIZES: dict[str, dict[str, int]] = {
    # The tests' stand-in: ~0.2M parameters, ~1 ms a token on one CPU core.
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2),
    # ~25M parameters: a forward pass takes milliseconds, so fixed per-token
    # Python costs weigh about as much as they would next to a real model's
    # forward (QwQ-32B NF4: ~70 ms a token on an H100) -- still far more.
    "small": dict(hidden_size=512, intermediate_size=1536, num_hidden_layers=8,
                  num_attention_heads=8, num_key_value_heads=2),
}


def build_bench_model(path: Path, size: str = "tiny", *, seed: int = 0) -> Path:
    """A random Qwen2 of ``size`` with the QwQ-like tokenizer/template, saved to ``path``."""
    path = Path(path)
    build_tiny_model(path, seed=seed)  # tokenizer, chat template, generation config
    config = Qwen2Config.from_pretrained(path)
    for key, value in SIZES[size].items():
        setattr(config, key, value)
    config.max_position_embeddings = MAX_POSITIONS
    config.layer_types = ["full_attention"] * config.num_hidden_layers
    generation = GenerationConfig.from_pretrained(path)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).eval()
    model.generation_config = generation
    model.save_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.model_max_length = MAX_POSITIONS
    tokenizer.save_pretrained(path)
    return path


class ForcingHead(torch.nn.Module):
    """Runs the wrapped ``lm_head``, then makes the next scripted id the argmax.

    One id per forward pass (generate computes logits for the last position
    only); ``filler`` once the script runs out.
    """

    def __init__(self, head: torch.nn.Module, filler: int) -> None:
        super().__init__()
        self.head = head
        self.filler = filler
        self.script: list[int] = []
        self.pos = 0
        self.stamps: list[float] = []  # perf_counter() at each call: when each token was made

    def load(self, script: list[int]) -> None:
        self.script, self.pos, self.stamps = list(script), 0, []

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        self.stamps.append(time.perf_counter())
        logits = self.head(hidden)  # the real cost of the head
        tid = self.script[self.pos] if self.pos < len(self.script) else self.filler
        self.pos += 1
        forced = torch.zeros_like(logits)
        forced[..., tid] = 100.0
        return forced


def install_forcing_head(model: Any, filler: int) -> ForcingHead:
    head = model.lm_head if isinstance(model.lm_head, ForcingHead) else None
    if head is None:
        head = ForcingHead(model.lm_head, filler)
        model.lm_head = head
    head.filler = filler
    return head


class ForwardCounter:
    """Counts the positions each forward pass runs through the model.

    The first forward of every ``generate`` call is its prefill; the others
    decode one token each. Independent of the backend's own accounting.
    """

    def __init__(self, model: Any) -> None:
        self.prefill: list[int] = []
        self.decode = 0
        self._new_call = False
        self._model = model
        self._generate = model.generate
        self._hook = model.model.register_forward_pre_hook(self._count, with_kwargs=True)

        def generate(*args: Any, **kwargs: Any) -> Any:
            self._new_call = True
            return self._generate(*args, **kwargs)

        model.generate = generate  # the backend calls self.model.generate(...)

    def _count(self, module: Any, args: tuple, kwargs: dict) -> None:
        ids = kwargs.get("input_ids")
        if ids is None:
            ids = args[0] if args else kwargs.get("inputs_embeds")
        n = int(ids.shape[1])
        if self._new_call:
            self.prefill.append(n)
            self._new_call = False
        else:
            self.decode += n

    @property
    def total(self) -> int:
        return sum(self.prefill) + self.decode

    def close(self) -> None:
        self._hook.remove()
        del self._model.generate  # back to the class method


def corpus_ids(tokenizer: Any, n: int, *, offset: int = 0) -> list[int]:
    """``n`` ids of ordinary English prose (no control tokens), starting at ``offset``."""
    base = tokenizer.encode(CORPUS, add_special_tokens=False)
    out: list[int] = []
    i = offset % len(base)
    while len(out) < n:
        take = base[i:i + n - len(out)]
        out += take
        i = 0
    return out


def corpus_text(tokenizer: Any, n_tokens: int, *, offset: int = 0) -> str:
    return tokenizer.decode(corpus_ids(tokenizer, n_tokens, offset=offset), skip_special_tokens=False)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def interleave(cases: dict[str, Callable[[], Any]], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Run every case ``repeats`` times, rotating the order each round (ABC, BCA, CAB ...)

    so slow drift of a shared, noisy CPU hits every case alike. Returns, per
    case, the wall-clock seconds and the CPU seconds of this whole process
    (all its threads) of each run.
    """
    names = list(cases)
    out: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            c0, t0 = time.process_time(), time.perf_counter()
            cases[name]()
            out[name]["wall"].append(time.perf_counter() - t0)
            out[name]["cpu"].append(time.process_time() - c0)
    return out


def per_call_us(fn: Callable[[], Any], *, number: int, repeats: int) -> list[float]:
    """Microseconds per call of ``fn``: one figure per repeat (``number`` calls each)."""
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t0) / number * 1e6)
    return out


def cpu_info() -> dict[str, Any]:
    import os
    import platform

    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "torch": torch.__version__}
