"""Local model backend: QwQ-32B in 4-bit on CUDA, KV cache reused across rounds.

The model loads lazily (first ``start()`` or an explicit ``load()``) so the app
starts instantly and can show a banner instead of crashing when the weights or
the hardware are missing. Each conversation (``conversation.py``) keeps an
append-only list of token ids and one KV cache (``kv_cache.py``); after a tool call
only the spliced tail is prefilled. Generation runs in a thread, stopped within a
token by an event checked from a ``StoppingCriteria``.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from agent.backends.base import BackendError
from agent.backends.local.conversation import TransformersConversation as TransformersConversation
from agent.backends.local.conversation import short_error
from agent.backends.local.gate import GenerationGate
from agent.backends.local.stops import TokenizerMismatch, check_tokenizer, round_stops
from agent.backends.local.sizing import (available_ram_bytes, estimate_parameters, hub_reachable,
                                   local_weight_bytes)
from agent.config import Settings
from agent.dialects import get_dialect

log = logging.getLogger(__name__)

_FALLBACK_HINT = "use --backend openai --base-url ..., a smaller --model, or a GPU"
# Weights are not all of it: buffers, allocator slack, activations, a KV cache.
_RAM_OVERHEAD = 1.15


def _cuda_available() -> bool:
    return torch.cuda.is_available()


class TransformersBackend:
    """Backend protocol over a local Hugging Face causal LM (QwQ-32B by default)."""

    name = "transformers"

    def __init__(self, *, settings: Settings) -> None:
        self.settings = settings
        self.model_id = settings.model
        self._lock = threading.Lock()
        self._gate = GenerationGate()
        self._model: Any = None
        self._tokenizer: Any = None
        self._tokenizer_checked: Any = None  # loaded and checked by preflight or load, weights or not
        self.load_error: str | None = None
        self._mismatch = False  # load_error is a TokenizerMismatch (a usage error)
        self.dtype: torch.dtype | None = None
        self.quantized = False

    # -- loading -----------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> Any:
        """The loaded ``PreTrainedModel`` (loads it first); for benchmarks."""
        self.load()
        return self._model

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    @property
    def device(self) -> torch.device:
        return self.model.device

    def load(self) -> None:
        """Load tokenizer and weights once; later calls return at once.

        A failure is remembered and raised again, so a broken setup costs one
        slow attempt, not one per question.
        """
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            self._remembering(self._load_locked)

    def preflight(self) -> None:
        """Refuse at start-up what the tokenizer alone shows (the dialect's stop is not one token,
        no end of turn, no chat template): ``TokenizerMismatch``, a usage error, before any weight
        loads. Only the tokenizer (a few MB) is loaded, and kept for ``load``. A tokenizer that
        cannot be loaded at all is remembered and reported by the first question, as ``load``
        reports it."""
        with self._lock:
            if self._model is not None or self._tokenizer_checked is not None:
                return
            try:
                self._remembering(self._check_tokenizer)
            except TokenizerMismatch:
                raise
            except BackendError:
                return

    def _remembering(self, step: Callable[[], None]) -> None:
        """Run a loading step; its failure becomes ``load_error`` (raised again on every later
        call) with a message for people, never a traceback."""
        if self.load_error is not None:
            raise (TokenizerMismatch if self._mismatch else BackendError)(self.load_error)
        try:
            step()
        except BackendError as exc:
            self.load_error, self._mismatch = str(exc), isinstance(exc, TokenizerMismatch)
            raise
        except Exception as exc:  # never leak a traceback to the person
            log.warning("loading %r failed", self.model_id, exc_info=True)
            if isinstance(exc, torch.cuda.OutOfMemoryError):
                hint = _FALLBACK_HINT.replace("a GPU", "a bigger GPU")
                msg = f"{self.model_id!r} does not fit in GPU memory; {hint}"
            else:
                msg = f"could not load {self.model_id!r}: {type(exc).__name__}: {short_error(exc)}"
            self.load_error = msg
            raise BackendError(msg) from None

    def _check_tokenizer(self) -> None:
        tokenizer = self._from_pretrained("tokenizer", AutoTokenizer)
        check_tokenizer(tokenizer, get_dialect(self.settings.dialect), model_id=self.model_id)
        self._tokenizer_checked = tokenizer

    def _load_locked(self) -> None:
        s, model_id = self.settings, self.model_id
        cuda = _cuda_available()
        if s.load_in_4bit == "yes" and not cuda:
            raise BackendError(
                "load_in_4bit='yes' but no CUDA GPU was found: 4-bit (bitsandbytes NF4) loading "
                "needs CUDA; set DEEPSEARCH_LOAD_IN_4BIT=auto or no, or " + _FALLBACK_HINT
            )
        config = self._from_pretrained("config", AutoConfig)
        kwargs: dict[str, Any] = {}
        if cuda:
            self.dtype = torch.bfloat16
            kwargs["device_map"] = "auto"
            if s.load_in_4bit in ("auto", "yes"):
                kwargs["quantization_config"] = self._bnb_config()
                self.quantized = True
        else:
            params = estimate_parameters(config)
            # float32 keeps tiny models exact on CPU; big ones need bf16 to fit at all.
            self.dtype = torch.float32 if params is not None and params < 1_000_000_000 else torch.bfloat16
            self._check_ram(params)
        if self._tokenizer_checked is None:
            self._check_tokenizer()  # before the weights load (preflight has done it at start-up)
        tokenizer = self._tokenizer_checked
        model = self._from_pretrained("weights", AutoModelForCausalLM, dtype=self.dtype, **kwargs)
        model.eval()
        self._tokenizer, self._model = tokenizer, model
        log.info("loaded %r on %s (%s%s)", model_id, model.device, self.dtype, ", nf4" if self.quantized else "")

    def _bnb_config(self) -> Any:
        try:
            import bitsandbytes  # noqa: F401  (fail here with a clear message, not deep in loading)
            from transformers import BitsAndBytesConfig
        except ImportError:
            raise BackendError(
                "4-bit loading needs the bitsandbytes package: pip install bitsandbytes "
                "(or set DEEPSEARCH_LOAD_IN_4BIT=no to load in bfloat16)"
            ) from None
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_use_double_quant=self.settings.double_quant,
        )

    def _check_ram(self, params: int | None) -> None:
        assert self.dtype is not None
        bytes_per = torch.finfo(self.dtype).bits // 8
        if params is not None:
            need = params * bytes_per * _RAM_OVERHEAD
        else:
            files = local_weight_bytes(self.model_id)
            if files is None:
                return  # nothing to go on; let loading find out
            need = files * _RAM_OVERHEAD
        avail = available_ram_bytes()
        if avail is not None and need > avail:
            dtype = str(self.dtype).removeprefix("torch.")
            raise BackendError(
                f"{self.model_id!r} needs about {need / 1e9:.0f} GB in {dtype} but only "
                f"{avail / 1e9:.0f} GB RAM is free and no CUDA GPU was found; {_FALLBACK_HINT}"
            )

    def _from_pretrained(self, what: str, loader: Any, **kwargs: Any) -> Any:
        """Local files (a folder or the HF cache) first; the hub only if reachable."""
        model_id = self.model_id
        try:
            return loader.from_pretrained(model_id, local_files_only=True, **kwargs)
        except OSError as exc:
            local_error = exc
        if model_id.startswith(("/", "./", "../", "~")) or os.path.exists(model_id):
            if not Path(model_id).expanduser().exists():
                raise BackendError(
                    f"model folder {model_id!r} does not exist; pass a folder with config.json, "
                    "tokenizer files and weights, or a Hugging Face model id"
                )
            raise BackendError(
                f"{model_id!r} is not a loadable model folder ({what}: {short_error(local_error)}); "
                "pass a folder with config.json, tokenizer files and weights, or a Hugging Face model id"
            )
        if not hub_reachable():
            raise BackendError(
                f"the weights for {model_id!r} are not available offline (its {what} is not in the Hugging "
                f"Face cache) and the hub cannot be reached; download them first (hf download {model_id}), "
                "pass a local folder with --model, or use --backend openai --base-url ..."
            )
        try:
            return loader.from_pretrained(model_id, **kwargs)
        except OSError as exc:
            raise BackendError(
                f"could not fetch the {what} for {model_id!r}: {short_error(exc)}; check the model id "
                "(and HF_TOKEN for gated models) or pass a local folder with --model"
            ) from None

    # -- protocol ----------------------------------------------------------

    def start(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
              settings: Settings | None = None) -> "TransformersConversation":
        """``settings`` overrides sampling and token limits for this conversation only."""
        self.load()
        try:
            text = self._tokenizer.apply_chat_template(
                messages, tools=tools or None, add_generation_prompt=True, tokenize=False
            )
        except Exception as exc:  # noqa: BLE001 - jinja and tokenizers raise anything; logged, then explained
            log.warning("the chat template of %r failed", self.model_id, exc_info=True)
            raise BackendError(
                f"the chat template of {self.model_id!r} could not render these messages "
                f"({type(exc).__name__}: {short_error(exc)}); message content must be plain strings"
            ) from None
        ids = self._tokenizer.encode(text, add_special_tokens=False)
        settings = settings or self.settings
        dialect = get_dialect(settings.dialect)
        return TransformersConversation(
            model=self._model, tokenizer=self._tokenizer, settings=settings, ids=ids, dialect=dialect,
            stops=round_stops(self._tokenizer, dialect, model_id=self.model_id), gate=self._gate,
        )

    def close(self) -> None:
        with self._lock:
            self._model = None
            self._tokenizer = self._tokenizer_checked = None
            gc.collect()
            if _cuda_available():
                torch.cuda.empty_cache()
