"""Hugging Face ZeroGPU support: import ``spaces`` early, decorate one GPU entry point.

Import this module (or ``spaces``) before anything touches CUDA: on ZeroGPU,
``import spaces`` patches torch so that module-level ``.to("cuda")`` works
without a GPU, and it refuses to start ("CUDA has been initialized before
importing the `spaces` package") if CUDA is already initialised. Off ZeroGPU
(``SPACES_ZERO_GPU`` unset, e.g. your laptop or a dedicated-GPU Space) the
``spaces`` decorator returns the function unchanged, and so does ``on_gpu``.

What the installed ``spaces`` (0.51.x, ``spaces/zero/wrappers.py``) does with a
decorated function, and what that means here:

- Each call runs in a worker process forked from the app, holding a GPU only
  for that call. GPU state, the KV cache included, dies with the call. So the
  *whole* answer (every generation round, every search, every splice) must run
  inside ONE decorated call: splitting it per round would re-prefill the whole
  context each round and queue for a GPU again between rounds.
- Generator functions are supported (the wrapper is chosen with
  ``inspect.isgeneratorfunction``): each yielded value is pickled back to the
  app. Decorate a real generator function (``def ...: yield``), not a function
  that returns a generator: that would be run as a plain call and its return
  value (a generator) cannot be pickled. Coroutines are refused.
- Arguments are pickled into the worker, so mutations there never reach the
  app: keep per-session state (source numbers, history) in the app and update
  it from the yielded events. A ``threading.Event`` cannot be pickled: create
  the cancel event inside the GPU function and set it in ``finally``. Stop in
  the UI closes the app-side generator; the wrapper then sets a stop flag that
  the worker checks after the next yielded value and closes the function's
  generator, so the ``finally`` runs and generation stops within a token.
- Exceptions other than ``gr.Error`` reach the app only as "ZeroGPU worker
  error" plus the class name, so turn failures into events inside the call (the
  agent loop already yields an ``Error`` event for a ``BackendError``).
- ``duration`` is what the visitor's daily quota is charged up front: the
  scheduler refuses a call whose requested duration exceeds the quota left
  ("N s requested vs. M s left"), and on the RTX PRO 6000 ZeroGPU pool it is
  multiplied by 1.5 (``configs.json``). Keep ``gpu_duration_s`` as small as a
  typical answer allows.

bitsandbytes 4-bit on ZeroGPU: for bitsandbytes < 0.46 ``spaces`` defers each
``Params4bit.to("cuda")`` and quantizes in every worker as it starts, with the
bf16 weights held in RAM meanwhile (~65 GB for 32B). The failures in
zero-gpu-explorers discussions #22 (at inference) and #71 (at start-up; its log
shows the banner ``spaces`` prints only for bitsandbytes < 0.43.1) date from
then; the fix reported in #71 was to call ``from_pretrained`` inside the GPU
function. For bitsandbytes >= 0.46 (we pin 0.50.2) ``spaces`` does nothing
special, which we could not test on a real ZeroGPU Space. The safe choices:
load a checkpoint already quantized with bitsandbytes (``--model
unsloth/QwQ-32B-bnb-4bit``; no quantization pass, about a third of the bf16
download), or load inside the decorated function (the load is paid again by
every fresh worker, inside the duration). See the README, "Deploy to Spaces".
"""

from __future__ import annotations

import inspect
import os
from typing import Any, Callable, TypeVar

try:  # spaces is a no-op off Spaces, but optional: the CLI and tests run without it
    import spaces
except ImportError:  # pragma: no cover - it is in requirements.txt
    spaces = None

F = TypeVar("F", bound=Callable[..., Any])


def on_zero_gpu() -> bool:
    """True on a ZeroGPU Space (the ``SPACES_ZERO_GPU`` flag the ``spaces`` package reads)."""
    if spaces is None:
        return False
    try:
        from spaces.config import Config

        return bool(Config.zero_gpu)
    except (ImportError, AttributeError):  # an older or newer layout: read the flag ourselves
        return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def on_gpu(fn: F, *, duration_s: int | Callable[..., int]) -> F:
    """``spaces.GPU(duration=duration_s)(fn)`` on ZeroGPU, else ``fn`` unchanged.

    Decorate at import time: ZeroGPU looks for decorated functions when the app
    launches. ``duration_s`` may be a function of ``fn``'s arguments (spaces
    calls it per call), so a per-question setting can decide the duration.

    ``fn`` should be the one function that runs a whole answer (a generator
    function yielding events); see the module docstring for why.
    """
    if not callable(duration_s) and (not isinstance(duration_s, int) or duration_s < 1):
        raise ValueError(f"duration_s must be a whole number of seconds >= 1, got {duration_s!r} "
                         "(DEEPSEARCH_GPU_DURATION)")
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise TypeError(f"{getattr(fn, '__name__', fn)!r} is async: ZeroGPU runs only plain functions "
                        "and generator functions")
    if not on_zero_gpu():
        return fn
    return spaces.GPU(duration=duration_s)(fn)
