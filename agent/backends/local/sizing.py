"""How big a model is, how much memory is free, and whether the hub can be reached.

Checked before loading so a model that cannot fit is refused with a clear
message instead of being swapped into, and an offline machine fails in seconds.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

_HUB_PROBE_TIMEOUT_S = 3.0


def available_ram_bytes() -> int | None:
    """Memory we could allocate now: psutil if present, else /proc/meminfo."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def estimate_parameters(config: Any) -> int | None:
    """Parameter count of a decoder-only transformer from its config, or None."""
    cfg = config.get_text_config() if hasattr(config, "get_text_config") else config
    try:
        hidden = int(cfg.hidden_size)
        layers = int(cfg.num_hidden_layers)
        vocab = int(cfg.vocab_size)
        inter = int(getattr(cfg, "intermediate_size", None) or 4 * hidden)
        heads = int(cfg.num_attention_heads)
        kv_heads = int(getattr(cfg, "num_key_value_heads", None) or heads)
        head_dim = int(getattr(cfg, "head_dim", None) or hidden // heads)
    except (AttributeError, TypeError, ValueError, ZeroDivisionError):
        return None
    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
    mlp = 3 * hidden * inter  # gate, up, down (SwiGLU)
    embeddings = vocab * hidden * (1 if getattr(cfg, "tie_word_embeddings", False) else 2)
    return layers * (attention + mlp + 2 * hidden) + embeddings


def local_weight_bytes(model: str) -> int | None:
    folder = Path(model).expanduser()
    files = [*folder.glob("*.safetensors"), *folder.glob("*.bin")] if folder.is_dir() else []
    return sum(f.stat().st_size for f in files) or None


def hub_reachable() -> bool:
    """Fail fast offline: the hub client retries for ~25 s per file otherwise."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # a direct probe says nothing about the proxy; let the hub client try
    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", url.port or 443),
                                      timeout=_HUB_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False
