"""A random-weight model with QwQ-32B's exact shape, built layer by layer (for ``bench/gpu.py``).

Created on the ``meta`` device, then each decoder ``nn.Linear`` is materialised
on the target device and, for NF4, quantized there by bitsandbytes, so host RAM
never holds the bf16 weights. Also the byte counts the bandwidth limit needs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import Qwen2Config, Qwen2ForCausalLM

# config.json of Qwen/QwQ-32B (shared/fixtures/qwq-32b/README.md).
QWQ_32B = dict(hidden_size=5120, intermediate_size=27648, num_hidden_layers=64, num_attention_heads=40,
               num_key_value_heads=8, vocab_size=152064, max_position_embeddings=40960, rope_theta=1_000_000.0,
               rms_norm_eps=1e-5, tie_word_embeddings=False)
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=1024, max_position_embeddings=40960, rope_theta=1_000_000.0,
            rms_norm_eps=1e-5, tie_word_embeddings=False)
INIT_STD = 0.02  # Qwen2's initializer_range


def make_config(tiny: bool, layers: int | None = None) -> Qwen2Config:
    values = dict(TINY if tiny else QWQ_32B)
    if layers:
        values["num_hidden_layers"] = layers
    config = Qwen2Config(**values, bos_token_id=None, eos_token_id=None, pad_token_id=0)
    config.layer_types = ["full_attention"] * config.num_hidden_layers
    return config


def _set(module: nn.Module, name: str, value: Any) -> None:
    parent_name, _, leaf = name.rpartition(".")
    parent = module.get_submodule(parent_name) if parent_name else module
    setattr(parent, leaf, value)


def _random(shape: tuple[int, ...], *, device: torch.device, dtype: torch.dtype, gen: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, device=device, dtype=dtype, generator=gen).mul_(INIT_STD)


def build_model(config: Qwen2Config, *, device: torch.device, dtype: torch.dtype, quant: str | None,
                double_quant: bool = True, seed: int = 0, log: Any = None) -> Qwen2ForCausalLM:
    """Random weights, materialised (and NF4-quantized) layer by layer on ``device``."""
    with torch.device("meta"):
        model = Qwen2ForCausalLM(config)
    model.eval()
    gen = torch.Generator(device=device).manual_seed(seed)
    if quant == "nf4":
        import bitsandbytes as bnb
    for i, layer in enumerate(model.model.layers):
        for name, module in list(layer.named_modules()):
            if not isinstance(module, nn.Linear):
                continue
            shape = (module.out_features, module.in_features)
            bias = module.bias is not None
            if quant == "nf4":
                new = bnb.nn.Linear4bit(module.in_features, module.out_features, bias=bias, compute_dtype=dtype,
                                        compress_statistics=double_quant, quant_type="nf4", device="meta")
                weight = _random(shape, device=device, dtype=dtype, gen=gen)
                new.weight = bnb.nn.Params4bit(weight, requires_grad=False, compress_statistics=double_quant,
                                               quant_type="nf4", module=new).to(device)  # quantizes here
                del weight
            else:
                new = nn.Linear(module.in_features, module.out_features, bias=bias, device="meta")
                new.weight = nn.Parameter(_random(shape, device=device, dtype=dtype, gen=gen), requires_grad=False)
            if bias:
                new.bias = nn.Parameter(_random((module.out_features,), device=device, dtype=dtype, gen=gen),
                                        requires_grad=False)
            _set(layer, name, new)
        if log is not None and (i + 1) % 16 == 0:
            log(f"built {i + 1}/{len(model.model.layers)} layers")
    # Everything else still on meta: norms (ones), embeddings and lm_head (bf16, never quantized).
    for name, param in list(model.named_parameters()):
        if param.device.type != "meta":
            continue
        if name.endswith("norm.weight"):
            value = torch.ones(param.shape, device=device, dtype=dtype)
        else:
            value = _random(tuple(param.shape), device=device, dtype=dtype, gen=gen)
        _set(model, name, nn.Parameter(value, requires_grad=False))
    model.model.rotary_emb = type(model.model.rotary_emb)(config=config).to(device)  # fp32 buffers
    leftover = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.device.type == "meta"]
    if leftover:
        raise RuntimeError(f"tensors left on the meta device: {leftover[:5]}")
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    return model


def weight_bytes_per_token(model: Qwen2ForCausalLM) -> int:
    """Bytes one decode step reads: every weight (NF4 data + its quantization state),
    the bf16 lm_head, and one embedding row."""
    total = 0
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            total += module.weight.shape[1] * module.weight.element_size()
            continue
        for _name, param in module.named_parameters(recurse=False):
            total += param.numel() * param.element_size()
            state = getattr(param, "quant_state", None)
            if state is not None:
                total += quant_state_bytes(state)
    return total


def quant_state_bytes(state: Any) -> int:
    total = 0
    for attr in ("absmax", "code", "offset"):
        t = getattr(state, attr, None)
        if isinstance(t, torch.Tensor):
            total += t.numel() * t.element_size()
    nested = getattr(state, "state2", None)
    return total + (quant_state_bytes(nested) if nested is not None else 0)


def kv_bytes_per_token(config: Qwen2Config, dtype: torch.dtype) -> int:
    head_dim = config.hidden_size // config.num_attention_heads
    size = torch.finfo(dtype).bits // 8
    return config.num_hidden_layers * 2 * config.num_key_value_heads * head_dim * size
