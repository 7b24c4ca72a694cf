"""TransformersBackend on a tiny random Qwen2 model, loaded the way QwQ-32B is.

To make a random model say exactly what a test needs, its ``lm_head`` is
swapped for ``ScriptedHead``: greedy decoding then emits a given list of ids,
one per forward pass (generate computes logits only for the last position).
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import torch

from agent.backends.local import transformers as tb
from agent.backends.base import BackendError
from agent.backends.local.transformers import TransformersBackend, TransformersConversation
from agent.config import Settings

MESSAGES = [
    {"role": "system", "content": "You are a helpful research assistant."},
    {"role": "user", "content": "What is the tallest building in the world?"},
]
TOOLS = [{
    "type": "function",
    "function": {
        "name": "web_search",
        "description": "Search the web.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}]


class ScriptedHead(torch.nn.Module):
    """Logits that make argmax the next scripted id; ``filler`` once the script runs out."""

    def __init__(self, vocab_size: int, script: list[int], filler: int) -> None:
        super().__init__()
        self.vocab_size, self.script, self.filler = vocab_size, list(script), filler

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(*hidden.shape[:-1], self.vocab_size, dtype=hidden.dtype, device=hidden.device)
        logits[..., self.script.pop(0) if self.script else self.filler] = 100.0
        return logits


class FailingHead(torch.nn.Module):
    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("simulated device failure")


def make_backend(model_dir: Path, **overrides: object) -> TransformersBackend:
    settings = Settings(model=str(model_dir), temperature=0.0, **overrides)  # type: ignore[arg-type]
    return TransformersBackend(settings=settings)


@contextmanager
def head(backend: TransformersBackend, module: torch.nn.Module) -> Iterator[None]:
    original = backend.model.lm_head
    backend.model.lm_head = module
    try:
        yield
    finally:
        backend.model.lm_head = original


def ids_of(backend: TransformersBackend, text: str) -> list[int]:
    return backend.tokenizer.encode(text, add_special_tokens=False)


def gen_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "transformers-generate"]


@pytest.fixture
def backend(tiny_model_dir: Path) -> TransformersBackend:
    return make_backend(tiny_model_dir, max_new_tokens=64)


def test_loads_lazily_and_renders_prompt_inside_think(backend: TransformersBackend) -> None:
    assert not backend.loaded  # constructing must not load: app startup stays instant
    conv = backend.start(MESSAGES, TOOLS)
    assert backend.loaded and backend.load_error is None
    text = conv.transcript()
    assert text.endswith("<|im_start|>assistant\n<think>\n")
    assert '"name": "web_search"' in text  # tools rendered into the system turn
    assert conv.usage.prompt_tokens == conv.usage.context_tokens == len(conv.ids) > 50
    for token in ("</tool_call>", "<|im_end|>", "<tool_call>", "<think>", "</think>"):
        assert len(ids_of(backend, token)) == 1, token
    assert conv.count_tokens("</tool_call>") == 1


def test_stops_at_tool_call_token(backend: TransformersBackend) -> None:
    call = 'Let me search.\n</think>\n\n<tool_call>\n{"name": "web_search", "arguments": {"query": "tallest"}}\n'
    end = backend.tokenizer.convert_tokens_to_ids("</tool_call>")
    body = ids_of(backend, call)
    # Tokens after </tool_call> must never be generated.
    script = body + [end] + ids_of(backend, " the world the world")
    conv = backend.start(MESSAGES, TOOLS)
    with head(backend, ScriptedHead(backend.model.config.vocab_size, script, filler=body[0])):
        text = "".join(conv.generate(cancel=threading.Event()))
    assert conv.finish_reason == "tool_call"
    assert text == call + "</tool_call>"  # tags are not special: the streamer keeps them
    assert conv.ids[-1] == end
    assert conv.usage.generated_tokens == len(body) + 1
    assert not gen_threads()


def test_kv_reuse_prefills_only_the_uncached_tail(backend: TransformersBackend) -> None:
    tok = backend.tokenizer
    end, im_end = tok.convert_tokens_to_ids("</tool_call>"), tok.convert_tokens_to_ids("<|im_end|>")
    round1 = ids_of(backend, '<tool_call>\n{"name": "web_search", "arguments": {"query": "x"}}\n') + [end]
    round2 = ids_of(backend, "The Burj Khalifa is the tallest building [1].") + [im_end]
    conv = backend.start(MESSAGES, TOOLS)
    prompt = conv.usage.prompt_tokens
    vocab = backend.model.config.vocab_size

    with head(backend, ScriptedHead(vocab, round1 + round2, filler=im_end)):
        assert "".join(conv.generate(cancel=threading.Event())).endswith("</tool_call>")
        assert conv.finish_reason == "tool_call"
        # The last sampled token is never fed back through the model in its round.
        assert conv.cache.get_seq_length() == len(conv.ids) - 1
        conv.add_tool_result("[1] Burj Khalifa - https://example.com/burj\n828 metres tall.")
        spliced = conv.usage.spliced_tokens
        assert conv.transcript().endswith("</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n")
        answer = "".join(conv.generate(cancel=threading.Event()))

    assert answer == "The Burj Khalifa is the tallest building [1]."
    assert conv.finish_reason == "stop"
    u = conv.usage
    # Round 1 prefills the prompt; round 2 prefills the splice plus round 1's
    # last token (</tool_call>), which was sampled but never run through the model.
    assert u.prefilled_tokens == prompt + spliced + 1
    # Re-rendering and re-prefilling everything in round 2 would cost:
    full = prompt + (prompt + len(round1) + spliced)
    assert u.prefilled_tokens < full / 1.5
    assert u.generated_tokens == len(round1) + len(round2)
    assert u.context_tokens == len(conv.ids) == prompt + len(round1) + spliced + len(round2)
    assert u.rounds == 2
    print(f"\nprompt {prompt}, round 1 {len(round1)}, splice {spliced}: prefilled with KV reuse "
          f"{u.prefilled_tokens} (round 2: {spliced + 1}); re-prefilling round 2 {full - prompt}, total {full}")


def test_kv_reuse_matches_a_fresh_prefill(backend: TransformersBackend) -> None:
    """Greedy continuation with the reused cache equals generating from scratch."""
    conv = backend.start(MESSAGES, TOOLS)
    list(conv.generate(cancel=threading.Event()))
    conv.add_tool_result("some search results")
    prefix = conv.ids
    new = "".join(conv.generate(cancel=threading.Event()))
    reused = conv.ids[len(prefix):]
    with torch.inference_mode():
        fresh = backend.model.generate(
            input_ids=torch.tensor([prefix]), attention_mask=torch.ones((1, len(prefix)), dtype=torch.long),
            max_new_tokens=backend.settings.max_new_tokens, do_sample=False,
            eos_token_id=conv.stops.eos_ids, pad_token_id=backend.tokenizer.pad_token_id,
        )[0, len(prefix):].tolist()
    assert reused and fresh == reused, new


def test_cancel_stops_within_a_token(tiny_model_dir: Path) -> None:
    backend = make_backend(tiny_model_dir, max_new_tokens=400)
    conv = backend.start(MESSAGES, TOOLS)
    cancel = threading.Event()
    filler = ids_of(backend, " the")[0]
    with head(backend, ScriptedHead(backend.model.config.vocab_size, [], filler=filler)):
        at_cancel = None
        for _chunk in conv.generate(cancel=cancel):
            if at_cancel is None:
                at_cancel = conv.usage.generated_tokens  # readable mid-stream
                assert at_cancel >= 1
                cancel.set()
    assert at_cancel is not None
    assert conv.finish_reason == "cancelled"
    assert conv.usage.generated_tokens - at_cancel <= 2
    assert not gen_threads()
    assert conv.cache.get_seq_length() == len(conv.ids) - 1


def test_closing_the_stream_stops_the_thread(tiny_model_dir: Path) -> None:
    backend = make_backend(tiny_model_dir, max_new_tokens=400)
    conv = backend.start(MESSAGES, TOOLS)
    filler = ids_of(backend, " the")[0]
    with head(backend, ScriptedHead(backend.model.config.vocab_size, [], filler=filler)):
        stream = conv.generate(cancel=threading.Event())
        next(stream)
        stream.close()  # what Gradio's Stop does: GeneratorExit at the yield
    assert not gen_threads()
    assert conv.finish_reason == "cancelled"
    assert conv.usage.generated_tokens < 10
    assert len(conv.ids) == conv.usage.prompt_tokens + conv.usage.generated_tokens


def test_generation_error_is_a_backend_error(backend: TransformersBackend) -> None:
    conv = backend.start(MESSAGES, TOOLS)
    with head(backend, FailingHead()), pytest.raises(BackendError, match="simulated device failure"):
        list(conv.generate(cancel=threading.Event()))
    assert not gen_threads()
    # The conversation survives: the cache is dropped and the next round re-prefills.
    list(conv.generate(cancel=threading.Event()))
    assert conv.usage.prefilled_tokens == 2 * conv.usage.prompt_tokens
    assert conv.finish_reason in ("stop", "tool_call", "length")


def test_model_too_big_for_ram_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tb, "_cuda_available", lambda: False)
    config = {  # QwQ-32B's shape with 100x the layers: ~3 trillion parameters
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 5120,
        "intermediate_size": 27648, "num_hidden_layers": 6400, "num_attention_heads": 40,
        "num_key_value_heads": 8, "vocab_size": 152064, "tie_word_embeddings": False,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    backend = make_backend(tmp_path)
    with pytest.raises(BackendError) as err:
        backend.start(MESSAGES, TOOLS)
    msg = str(err.value)
    assert msg.startswith(f"{str(tmp_path)!r} needs about ")
    assert "GB in bfloat16 but only" in msg and "no CUDA GPU was found" in msg and "--backend openai" in msg
    assert not backend.loaded and backend.load_error == msg
    with pytest.raises(BackendError, match="needs about"):  # remembered, not retried
        backend.load()


def test_4bit_without_cuda_is_refused(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tb, "_cuda_available", lambda: False)
    with pytest.raises(BackendError, match="4-bit .* needs CUDA"):
        make_backend(tiny_model_dir, load_in_4bit="yes").load()


@pytest.mark.parametrize("model", ["no-such-org/no-such-model-xyz", "/nonexistent/model/dir"])
def test_missing_model_is_a_clean_backend_error(model: str) -> None:
    started = time.monotonic()
    backend = make_backend(Path(model)) if model.startswith("/") else TransformersBackend(
        settings=Settings(model=model))
    with pytest.raises(BackendError) as err:
        backend.load()
    assert repr(model) in str(err.value) and "Traceback" not in str(err.value)
    assert err.value.__cause__ is None and (err.value.__context__ is None or err.value.__suppress_context__)
    assert time.monotonic() - started < 15  # no minute of hub retries when offline


def test_per_conversation_settings_override(backend: TransformersBackend) -> None:
    conv = backend.start(MESSAGES, TOOLS, settings=backend.settings.with_overrides(max_new_tokens=3))
    list(conv.generate(cancel=threading.Event()))
    assert conv.usage.generated_tokens <= 3
    assert conv.finish_reason in ("length", "stop", "tool_call")


def test_concurrent_first_calls_load_once(backend: TransformersBackend) -> None:
    models: list[object] = []
    threads = [threading.Thread(target=lambda: models.append(backend.model)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(models) == 4 and all(m is models[0] for m in models)


def test_conversation_type(backend: TransformersBackend) -> None:
    assert isinstance(backend.start(MESSAGES, []), TransformersConversation)
    assert backend.name == "transformers" and backend.model_id == str(backend.settings.model)


@pytest.mark.parametrize("kv_cache", ["static", "compile"])
def test_static_kv_cache_keeps_reuse_and_greedy_tokens(tiny_model_dir: Path, kv_cache: str) -> None:
    """DEEPSEARCH_KV_CACHE=static|compile: the same tokens as the dynamic cache across a tool
    splice, the same tokens prefilled (only the tail), and a cache sized for the whole context."""
    def two_rounds(backend: TransformersBackend) -> tuple[list[int], int, Any]:
        conv = backend.start(MESSAGES, TOOLS)
        list(conv.generate(cancel=threading.Event()))
        conv.add_tool_result("[1] Burj Khalifa - https://example.com/burj\n828 metres tall.")
        list(conv.generate(cancel=threading.Event()))
        return conv.ids, conv.usage.prefilled_tokens, conv.cache

    settings = dict(max_new_tokens=24, context_limit=2048)
    dynamic_ids, dynamic_prefilled, _ = two_rounds(make_backend(tiny_model_dir, **settings))
    ids, prefilled, cache = two_rounds(make_backend(tiny_model_dir, kv_cache=kv_cache, **settings))
    assert type(cache).__name__ == "StaticCache" and cache.get_max_length() == 2048
    assert ids == dynamic_ids and prefilled == dynamic_prefilled < len(ids)
