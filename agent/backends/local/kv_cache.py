"""Which KV cache the local backend keeps per conversation (``DEEPSEARCH_KV_CACHE``).

``dynamic`` grows with the sequence. ``static`` preallocates room for the whole
context (fixed shapes, what CUDA graphs need); ``compile`` adds generate's own
``torch.compile`` of the decode step, which it applies to a static cache on
CUDA only. All three keep the KV reuse across tool calls and give the same
greedy tokens; which is fastest is for ``bench/gpu.py`` on a GPU to say.
"""

from __future__ import annotations

from typing import Any

from transformers import CompileConfig, DynamicCache, StaticCache

from agent.config import Settings


def new_cache(model: Any, settings: Settings) -> Any:
    if settings.kv_cache == "dynamic":
        return DynamicCache(config=model.config)
    return StaticCache(config=model.config, max_cache_len=settings.context_limit)


def generate_kwargs(settings: Settings) -> dict[str, Any]:
    """What ``model.generate`` needs to use the cache as chosen."""
    match settings.kv_cache:
        case "dynamic":
            return {}
        case "static":
            return {"disable_compile": True}
        case "compile":
            return {"compile_config": CompileConfig(mode="reduce-overhead")}
