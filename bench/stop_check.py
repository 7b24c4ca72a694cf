"""Per-token stop detection: ours (token ids) vs the original notebook's (decode + regex).

Ours is exactly what ``model.generate`` runs after every token for the
backend's call: the ``StoppingCriteriaList`` that generate builds from
``eos_token_id=[<|im_end|>, </tool_call>]`` and ``max_length``
(``MaxLengthCriteria`` + ``EosTokenCriteria``) plus the backend's own
``_RoundWatch`` (token count + cancel events), then the ``unfinished`` update
and the host-side ``max() == 0`` check. The notebook's decodes the whole
sequence with the same tokenizer and regex-searches the text.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from typing import Any

import torch
from transformers import StoppingCriteriaList
from transformers.generation.stopping_criteria import EosTokenCriteria, MaxLengthCriteria

from agent.backends.base import Usage
from agent.backends.local.conversation import _RoundWatch

from .common import corpus_ids, median, per_call_us

SEED_TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>\s*$", re.S)
SEED_IM_END = re.compile(r"<\|im_end\|>\s*$")


def seed_stop(tokenizer: Any, ids: list[int]) -> str | None:
    """The notebook's check, run after every token: decode everything, then regex."""
    text = tokenizer.decode(ids, skip_special_tokens=False)
    if SEED_TOOL_CALL.search(text):
        return "tool_call"
    if SEED_IM_END.search(text):
        return "stop"
    return None


class OurStopCheck:
    """What generate does per token to decide whether to stop, for the backend's call."""

    def __init__(self, model: Any, stop_ids: tuple[int, int], *, max_length: int, start_len: int = 0,
                 cancel: threading.Event | None = None) -> None:
        self.im_end, self.tool_call_end = stop_ids
        self.cancel = cancel or threading.Event()
        watch = _RoundWatch(events=(self.cancel, threading.Event()), start_len=start_len, usage=Usage())
        self.criteria = _generate_criteria(model, stop_ids, max_length, watch)
        self.names = [type(c).__name__ for c in self.criteria]

    def __call__(self, input_ids: torch.Tensor) -> bool:
        unfinished = torch.ones(input_ids.shape[0], dtype=torch.long, device=input_ids.device)
        unfinished = unfinished & ~self.criteria(input_ids, None)
        return bool(unfinished.max() == 0)

    def reason(self, input_ids: torch.Tensor) -> str | None:
        """Stop or not, classified as the backend's ``_finish_round`` does (by the last id)."""
        if not self(input_ids):
            return None
        last = int(input_ids[0, -1])
        return {self.tool_call_end: "tool_call", self.im_end: "stop"}.get(last, "other")


def _generate_criteria(model: Any, stop_ids: tuple[int, int], max_length: int,
                       watch: _RoundWatch) -> StoppingCriteriaList:
    """The list ``generate`` builds (same private helpers), or the same by hand if they moved."""
    try:
        config = copy.deepcopy(model.generation_config)
        config.update(eos_token_id=list(stop_ids), max_length=max_length, pad_token_id=stop_ids[0])
        model._prepare_special_tokens(config, True, device=model.device)
        criteria = model._get_stopping_criteria(config, StoppingCriteriaList([watch]))
    except (AttributeError, TypeError):
        criteria = StoppingCriteriaList([MaxLengthCriteria(max_length), EosTokenCriteria(list(stop_ids)), watch])
    if not any(isinstance(c, EosTokenCriteria) for c in criteria):
        raise RuntimeError(f"generate's stopping criteria have no EosTokenCriteria: {criteria}")
    return criteria


def transcript_ids(tokenizer: Any, prompt_ids: list[int], n: int) -> list[int]:
    """A realistic deep-search sequence of ``n`` ids: prompt, then rounds of ~1000 thinking
    tokens, a tool call and a ~1,600-token tool response, cut mid-thought (the common case:
    the last token is an ordinary one)."""
    ids = list(prompt_ids)
    r = 0
    while len(ids) < n:
        r += 1
        ids += corpus_ids(tokenizer, 1000, offset=97 * r)
        call = json.dumps({"name": "web_search", "arguments": {"query": f"query {r}"}})
        ids += tokenizer.encode(f"\n</think>\n\n<tool_call>\n{call}\n</tool_call>", add_special_tokens=False)
        body = "\n\n".join(f"[{5 * r + i}] Title {i}\nURL: https://example.com/{r}/{i}\n"
                           + tokenizer.decode(corpus_ids(tokenizer, 300, offset=31 * i + r))
                           for i in range(5))
        ids += tokenizer.encode(
            f"<|im_end|>\n<|im_start|>user\n<tool_response>\n{body}\n</tool_response><|im_end|>\n"
            "<|im_start|>assistant\n<think>\n", add_special_tokens=False)
    return ids[:n]


def measure(model: Any, tokenizer: Any, stop_ids: tuple[int, int], prompt_ids: list[int], *,
            lengths: tuple[int, ...] = (1024, 16384), repeats: int = 7, quick: bool = True) -> dict[str, Any]:
    """Microseconds per token for both methods at each context length, interleaved."""
    longest = max(lengths)
    ids = transcript_ids(tokenizer, prompt_ids, longest)
    ours = OurStopCheck(model, stop_ids, max_length=longest + 4096, start_len=len(prompt_ids))
    eos_only = EosTokenCriteria(list(stop_ids))
    cancel_only = _RoundWatch(events=(threading.Event(), threading.Event()), start_len=0, usage=Usage())
    out: dict[str, Any] = {"criteria": ours.names}
    for n in lengths:
        seq = ids[:n]
        x = torch.tensor([seq])
        assert ours.reason(x) is None and seed_stop(tokenizer, seq) is None  # same answer on the same ids
        seed_number = max(3, int(20_000 // n)) if quick else max(5, int(60_000 // n))
        our_number = 2000 if quick else 5000
        samples: dict[str, list[float]] = {"ours": [], "seed": [], "eos": [], "cancel": []}
        per_call_us(lambda: ours(x), number=our_number // 4, repeats=1)  # warm-up
        per_call_us(lambda: seed_stop(tokenizer, seq), number=2, repeats=1)
        for _ in range(repeats):  # interleaved: one repeat of each, in turn
            samples["ours"] += per_call_us(lambda: ours(x), number=our_number, repeats=1)
            samples["seed"] += per_call_us(lambda: seed_stop(tokenizer, seq), number=seed_number, repeats=1)
            samples["eos"] += per_call_us(lambda: eos_only(x, None), number=our_number, repeats=1)
            samples["cancel"] += per_call_us(lambda: cancel_only(x, None), number=our_number, repeats=1)
        tag = f"{n // 1024}k"
        out[f"stop_check_us_{tag}"] = round(median(samples["ours"]), 2)
        out[f"seed_stop_check_us_{tag}"] = round(median(samples["seed"]), 2)
        out[f"eos_criteria_us_{tag}"] = round(median(samples["eos"]), 2)
        out[f"cancel_criteria_us_{tag}"] = round(median(samples["cancel"]), 2)
        out[f"decoded_chars_{tag}"] = len(tokenizer.decode(seq, skip_special_tokens=False))
        out[f"samples_{tag}"] = {k: [round(v, 2) for v in vs] for k, vs in samples.items()}
    lo, hi = (f"{n // 1024}k" for n in (min(lengths), longest))
    out["stop_check_growth"] = round(out[f"stop_check_us_{hi}"] / out[f"stop_check_us_{lo}"], 3)
    out["seed_stop_check_growth"] = round(out[f"seed_stop_check_us_{hi}"] / out[f"seed_stop_check_us_{lo}"], 2)
    out[f"stop_check_speedup_{hi}"] = round(out[f"seed_stop_check_us_{hi}"] / out[f"stop_check_us_{hi}"], 1)
    out[f"stop_check_speedup_{lo}"] = round(out[f"seed_stop_check_us_{lo}"] / out[f"stop_check_us_{lo}"], 1)
    return out
