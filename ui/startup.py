"""What the app decides before it builds a page: demo mode or not (and the banner that says why),
the backend, the saved history, and the problem every question would hit. ``app.py`` builds the
page on it; importing this module builds nothing, so tests can decide a runtime without one."""

from __future__ import annotations

import html
import importlib.metadata
import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.api import (DEFAULT_MODEL, DEMO_LABEL, PROVIDERS, HistoryConfig, Settings, backend_spec, build_backend,
                       check_inputs, demo_questions, demo_settings, lenient_key, preflight)
from ui.notices import for_visitor
from ui.runtime import ModelLoader, Runtime

if TYPE_CHECKING:
    from ui.saved import SavedHistory

DEMO_UPLOADS = ("Documents visitors upload are indexed and listed, but the recorded demo answers do not "
                "search them (nor offer 'Search only my documents').")
NO_GPU = "no CUDA GPU was found, and QwQ-32B needs one (about 20 GB of GPU memory in 4-bit)"


def _cuda_available() -> bool:
    # Importing torch to ask costs 1.5-3 s of every start-up; two answers need no import: a CPU
    # build of torch (a "+cpu" version) has no CUDA, and CUDA_VISIBLE_DEVICES "" or "-1" hides
    # every device from it.
    try:
        if importlib.metadata.version("torch").endswith("+cpu"):
            return False
    except importlib.metadata.PackageNotFoundError:  # a torch without metadata: ask it
        pass
    if os.environ.get("CUDA_VISIBLE_DEVICES", "x").strip() in ("", "-1"):
        return False
    import torch  # only imported to ask; nothing is allocated

    return bool(torch.cuda.is_available())


def local_model_problem(settings: Settings) -> str | None:
    """Why the local transformers backend cannot run here, or None. Loads nothing.

    Only the default QwQ-32B is ruled out without a GPU: a model you chose
    yourself (a small one, or a local folder) may well run on the CPU.
    """
    if settings.backend != "transformers":
        return None
    if importlib.util.find_spec("torch") is None:
        return "PyTorch is not installed"
    if settings.model != DEFAULT_MODEL:
        return None  # asked before CUDA: a model you chose needs no torch import to decide
    if _cuda_available():
        return None
    return NO_GPU


def demo_banner(reason: str, replaced: str | None = None) -> str:
    """One line on the page, the why and the how behind a toggle (HTML: the toggle is <details>).
    Written for visitors: no flags or environment variables (ui/notices.py), which only the
    person running the app can use; the terminal's ``demo_banner_text`` names them."""
    also = f" {html.escape(replaced)}" if replaced else ""
    return (
        "<details><summary><strong>Demo mode:</strong> recorded answers, no live model</summary>"
        f"<p>{DEMO_LABEL}. The local QwQ-32B is unavailable here: {html.escape(for_visitor(reason))}. Each example "
        "question plays a bundled, scripted recording of thinking, searches and a cited answer; other questions "
        f"get a short note.{also}</p><p>The real model needs a machine with a CUDA GPU, or an OpenAI-compatible "
        "model server; whoever runs this app can set either up (its README says how).</p></details>"
    )


def demo_banner_text(reason: str, replaced: str | None = None) -> str:
    """The same, for the terminal (whoever runs the app: flags welcome)."""
    also = f"\n{replaced}" if replaced else ""
    return (f"{DEMO_LABEL}. The local QwQ-32B is unavailable here: {reason}.{also}\n{DEMO_UPLOADS}\n"
            "To use the real model, run `python app.py` on a machine with a CUDA GPU, or point it at an "
            "OpenAI-compatible server: python app.py --backend openai --base-url http://HOST:8000/v1")


def demo_replaces(settings: Settings) -> str | None:
    """What demo mode sets aside of the configuration, in words (the page and the terminal say so)."""
    if settings.provider in ("auto", "fixture"):
        return None
    chosen = PROVIDERS[settings.provider].label if settings.provider in PROVIDERS else settings.provider
    return (f"The search chosen at start-up ({chosen}, provider {settings.provider!r}) is not used: "
            "demo answers search only their bundled results.")


def startup_problem(settings: Settings, backend: Any) -> str | None:
    """Why every question would fail with this configuration, found before anyone asks:
    an unreachable or wrong model server (a backend the registry says needs one has ``check``),
    or a local model folder that does not exist."""
    spec = backend_spec(settings.backend)
    if spec.needs_server:
        problem: str | None = backend.check()
        return problem
    model = settings.model
    if spec.needs_gpu and model.startswith(("/", "./", "../", "~")) \
            and not Path(model).expanduser().exists():
        return (f"the model folder {model!r} does not exist: pass a folder with config.json, tokenizer "
                "files and weights, or a Hugging Face model id, with --model")
    return None


def make_runtime(settings: Settings, *, trace: str | None = None, replay: str | None = None,
                 replay_speed: float = 1.0, demo_reason: str | None = None, check: bool = False,
                 history: HistoryConfig | None = None) -> Runtime:
    """Decide demo mode, build the (lazy) backend and what the UI shares; ``check``: ask the
    backend now whether it can answer (``python app.py`` does; importing the module does not)."""
    reason = demo_reason or local_model_problem(settings)
    label = banner = banner_text = None
    replaced = demo_replaces(settings) if reason else None
    if reason:
        settings, label = demo_settings(settings), DEMO_LABEL
        banner, banner_text = demo_banner(reason, replaced), demo_banner_text(reason, replaced)
    backend = build_backend(settings)
    if check and not reason:
        preflight(backend)  # a model the dialect cannot use: refused (exit 2) before its weights load
        check_inputs(settings, backend)  # a missing fixture or index: exit 2, not an error per question
    problem = startup_problem(settings, backend) if check and not reason else None
    loader = ModelLoader(backend, label=backend.model_id)
    return Runtime(settings=settings, backend=backend, loader=loader, label=label, banner=banner,
                   banner_text=banner_text, trace_path=trace, replay_path=replay, replay_speed=replay_speed,
                   problem=problem, saved=saved_history(history),
                   replaced=replaced,
                   recorded=frozenset(lenient_key(q) for q in demo_questions()) if reason else None)


def saved_history(config: HistoryConfig | None) -> SavedHistory | None:
    """The history beside the chat; none at all when it is turned off (--no-history), and a list
    that says why when the data folder cannot be used."""
    # Imported here: ui.saved renders chats with Gradio, and ``python app.py`` refuses a bad
    # configuration (make_runtime) before it imports Gradio.
    from ui.saved import SavedHistory

    return SavedHistory.open(config) if config is not None and config.enabled else None
