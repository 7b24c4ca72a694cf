"""Deep Search in the browser: ``python app.py`` (flags: ``python app.py --help``).

Importing this module builds ``demo`` from environment settings; it loads no
model and starts no server. With no CUDA GPU and no server configured, the
default local QwQ-32B cannot run, so the app opens in a clearly labelled demo
mode (bundled scripted model output and search results) with a banner that
says why and what to do instead.
"""

from __future__ import annotations  # annotations name gr.Blocks without importing gradio

try:
    import spaces  # noqa: F401  (must come before anything touches CUDA)
except ImportError:
    pass

import argparse
import asyncio
import logging
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.api import (STOP_SIGNALS, DeepSearchError, HistoryConfig, Settings, TraceError, UsageError, engine_flags,
                       history_config_from_env, install_log_redaction, load_dotenv_file, on_zero_gpu, read_trace,
                       settings_from_args, settings_from_env, unwritable)
from ui.runtime import Runtime
from ui.startup import make_runtime

if TYPE_CHECKING:
    import gradio as gr

# Gradio (its import is seconds of CPU) is imported where the page is built and served, not here:
# ``python app.py --help`` and a configuration it refuses (exit 2) answer without it.

ASSETS = Path(__file__).resolve().parent / "assets"
log = logging.getLogger("app")
# How long a shutdown waits for the cancelled answers' handlers to end, and then for the event
# streams still open.
CLOSE_GRACE_S = 2.0


class CutStreamsLog(logging.Filter):
    """uvicorn's report of the connections ``App.close`` cuts after ``CLOSE_GRACE_S``: one plain
    line instead of an error and, per connection, a traceback of the cancellation. The cut is the
    shutdown working as meant (an event stream still open when the grace ran out, as on a loaded
    machine), not a failure for whoever stopped the app to read as one. Any other error passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        cause = record.exc_info[1] if record.exc_info else None
        if isinstance(cause, asyncio.CancelledError) and "graceful shutdown" in str(cause):
            return False
        if "timeout graceful shutdown exceeded" in str(record.msg):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg = f"closing %s connection(s) still open {CLOSE_GRACE_S:g} s after the stop"
        return True


@dataclass(frozen=True)
class App:
    """The Gradio blocks and the runtime they share (settings, backend, model loader)."""

    blocks: gr.Blocks
    runtime: Runtime

    def close(self) -> None:
        """Shut down: every visitor's running answer is cancelled (the model stops generating)
        and their files deleted, then the server closes and the backend lets go of the model."""
        sessions = self.runtime.sessions.live()
        for session in sessions:
            session.close()
        # A client's event stream stays open until its answer's handler has ended and Gradio has
        # said so, and the server waits for open streams without end: closing the queue first
        # made every stop (docker stop, Ctrl-C, a Space restart) wait out Gradio's 5 s timeout.
        # The cancelled handlers end first; a stream still open after the grace is cut.
        deadline = time.monotonic() + CLOSE_GRACE_S
        for session in sessions:
            session.control.wait_handler_idle(deadline - time.monotonic())
        server = getattr(self.blocks, "server", None)
        if server is not None:
            server.config.timeout_graceful_shutdown = CLOSE_GRACE_S
            uvicorn_log = logging.getLogger("uvicorn.error")
            if not any(isinstance(f, CutStreamsLog) for f in uvicorn_log.filters):
                uvicorn_log.addFilter(CutStreamsLog())
        self.blocks.close(verbose=False)
        self.runtime.backend.close()


def create_demo(settings: Settings, **kwargs) -> App:
    install_log_redaction(settings.secrets)  # the HTTP client logs URLs, credentials and all
    runtime = make_runtime(settings, **kwargs)
    from ui.app_ui import build_ui

    blocks = build_ui(runtime)
    blocks.queue(default_concurrency_limit=runtime.settings.concurrency_limit,
                 max_size=runtime.settings.queue_max_size)
    return App(blocks=blocks, runtime=runtime)


def worker_threads(settings: Settings) -> int:
    """Gradio's thread pool: each streaming answer holds a thread while it waits for its next
    batch, and every update's postprocessing needs one too. Gradio's default of 40 would make
    answers beyond ~20 at once queue for threads rather than for the model."""
    return max(40, 2 * settings.concurrency_limit + 8)


def _demo_from_env() -> App:
    load_dotenv_file()
    try:
        built = create_demo(settings_from_env(), history=_history_config())
    except UsageError as exc:  # settings, model script, search fixture
        log.error("configuration problem: %s", exc)
        return create_demo(Settings(), demo_reason=f"the configuration has a problem ({exc})")
    if built.runtime.replaced:  # imported (gradio app.py, a Space): main() prints no banner, so say it here
        log.warning("demo mode: %s", built.runtime.replaced)
    return built


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python app.py",
        description="Deep Search web app: a reasoning model thinks, searches the web and answers "
                    "with citations, live in the browser.",
    )
    engine_flags(p)
    s = p.add_argument_group("server")
    s.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    s.add_argument("--port", type=int, help="port (default 7860, or the next free one)")
    s.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    s.add_argument("--replay-speed", type=float, default=1.0, metavar="X",
                   help="speed of --replay and uploaded traces (1 real time, 0 at once)")
    h = p.add_argument_group("saved history")
    h.add_argument("--no-history", action="store_true",
                   help="save nothing (DEEPSEARCH_HISTORY=0); nothing is written to the data folder")
    h.add_argument("--data-dir", metavar="DIR", help="where the history is saved (DEEPSEARCH_DATA_DIR)")
    h.add_argument("--share-links", action="store_true",
                   help="let the history list make read-only share links (DEEPSEARCH_SHARE_LINKS=1)")
    return p


def _history_config(args: argparse.Namespace | None = None) -> HistoryConfig | None:
    """The saved history's settings: ``python app.py`` saves by default; importing this module
    (``gradio app.py``, tests) saves only when the environment names a data folder or says
    DEEPSEARCH_HISTORY=1, so an import never writes into the user's data folder unasked."""
    config = history_config_from_env()
    if args is None:
        asked = os.environ.get("DEEPSEARCH_DATA_DIR") or os.environ.get("DEEPSEARCH_HISTORY", "").strip() == "1"
        return config if asked else None
    return config.with_overrides(enabled=False if args.no_history else None,
                                 data_dir=Path(args.data_dir).expanduser() if args.data_dir else None,
                                 share_links=True if args.share_links else None)


def _check_trace(path: str) -> str | None:
    """Why the recording at ``path`` cannot be replayed, or None."""
    try:
        read_trace(path)
    except TraceError as exc:
        return str(exc)
    return None


class StopTrap:
    """Ctrl-C, SIGTERM and SIGHUP (docker stop, a Space restart) all shut the app down the same
    clean way. Gradio's own wait only catches Ctrl-C; SIGTERM would kill the process mid-answer.
    Installed after launch, so it also wins over the handlers Gradio's SSR mode installs there;
    ``pass_on`` then lets those stop their Node server once our shutdown is done. A second
    signal while shutting down stops waiting for it."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> "StopTrap":
        self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        return self

    def _handle(self, signum: int, _frame: object) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        print(f"\nstopping ({signal.Signals(signum).name}): ending the running answers and closing "
              "the server", file=sys.stderr, flush=True)
        self.signum = signum
        self.stop.set()

    def pass_on(self) -> None:
        """Run the handler that was there before ours for the signal that came, if it was one of
        Python code (Gradio's SSR shutdown); Python's own Ctrl-C handler would only raise."""
        previous = self._previous.get(self.signum) if self.signum is not None else None
        if callable(previous) and previous is not signal.default_int_handler:
            previous(self.signum, None)


def main(argv: list[str] | None = None) -> int:
    global demo, runtime
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    if not 0 <= args.replay_speed < math.inf:  # also refuses NaN
        print(f"error: --replay-speed must be a finite number, 0 (at once) or more, got {args.replay_speed!r}",
              file=sys.stderr)
        return 2
    problem = unwritable(args.trace, flag="--trace") if args.trace else None
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        settings = settings_from_args(args)
        problem = _check_trace(args.replay) if args.replay else None
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        built = create_demo(settings, trace=args.trace, replay=args.replay,
                            replay_speed=args.replay_speed, check=True, history=_history_config(args))
        demo, runtime = built.blocks, built.runtime
    except UsageError as exc:  # settings, model script, search fixture
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DeepSearchError as exc:  # any other project error before the server starts: one line
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if runtime.banner_text:
        print(runtime.banner_text, file=sys.stderr)
    if runtime.problem:
        print(f"warning: questions will fail until this is fixed: {runtime.problem}", file=sys.stderr)
    if on_zero_gpu():
        # ZeroGPU packs the model's weights when the app launches: load them first.
        runtime.loader.wait(timeout=None)
    else:
        runtime.loader.start()  # the model loads in the background; the UI shows progress
    return serve(built, args)


def serve(built: App, args: argparse.Namespace) -> int:
    """Launch the server and keep it up until Ctrl-C, SIGTERM or SIGHUP; then shut down cleanly."""
    from ui.app_ui import launch_kwargs
    from ui.share_links import mount_share_links

    demo, settings = built.blocks, built.runtime.settings
    # quiet: Gradio's own banner would tell people to "set share=True in launch()"; this app's
    # switch is --share. A public link (and any tunnel error) is still printed by Gradio.
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=False,
                quiet=True, prevent_thread_lock=True, max_threads=worker_threads(settings),
                **launch_kwargs())
    if mount_share_links(demo.app, built.runtime.saved):
        print("* Share links are on: the history list can make read-only /share/<token> pages", flush=True)
    trap = StopTrap().install()
    print(f"* Running on local URL:  {demo.local_url}", flush=True)
    if not args.share and not os.environ.get("SPACE_ID"):
        print("* For a public gradio.live link, start it with --share (python app.py --share)", flush=True)
    while demo.is_running and not trap.stop.wait(0.5):
        pass
    try:
        built.close()
        trap.pass_on()
    except KeyboardInterrupt:  # a second signal: exit without waiting for the shutdown
        return 130
    return 0


# What Spaces and `gradio app.py` look for: a module-level `demo` (importing starts nothing).
_app = _demo_from_env() if __name__ != "__main__" else None
demo: gr.Blocks | None = _app.blocks if _app is not None else None
runtime: Runtime | None = _app.runtime if _app is not None else None

if __name__ == "__main__":
    sys.exit(main())
