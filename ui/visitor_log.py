"""Every error a visitor is shown is in the server's log first, with its cause.

The page shows a message cleaned for visitors (``ui.notices.for_visitor`` drops the flags and
environment variables it names and points at the log); the log line keeps the full text, where
it was shown, and the exception behind it, so "the details are in the server log" is true.
Secrets are redacted before anything is logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Iterable

from agent.api import cause_of, redact

from .notices import for_visitor

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger("ui.shown")


def log_shown(where: str, text: str, *, cause: BaseException | None = None,
              secrets: Iterable[str | None] = ()) -> None:
    """``text`` is about to be shown to a visitor as ``where`` (a toast's title, a panel)."""
    behind = cause_of(cause) if cause is not None else ""
    if cause is not None and str(cause).strip() and str(cause).strip() not in text:
        behind = f"{type(cause).__name__}: {cause}" + (f" <- {behind}" if behind else "")
    keys = [s for s in secrets if s]
    log.warning("shown to a visitor (%s): %s%s", where, redact(" ".join(str(text).split()), keys),
                f" (cause: {redact(behind, keys)})" if behind else "")


def refusal(title: str, problem: BaseException | str, *, cause: BaseException | None = None,
            rename: tuple[str, str] | None = None, secrets: Iterable[str | None] = ()) -> gr.Error:
    """A toast for ``problem`` (an exception or the text to show), logged in full first with
    ``cause`` (default: ``problem`` itself when it is an exception); raise it ``from None``.
    ``rename``: (as the server knows it, as the visitor does), e.g. an upload's path and name."""
    text = str(problem).strip() or "that did not work"
    if cause is None and isinstance(problem, BaseException):
        cause = problem
    log_shown(title, text, cause=cause, secrets=secrets)
    toast = for_visitor(text)
    if rename is not None:
        toast = toast.replace(*rename)
    # Imported here: the app's start-up (ui.runtime -> ui.pump -> this module) decides and refuses
    # its configuration before anything imports Gradio (seconds); a toast only exists in a served page.
    import gradio as gr

    return gr.Error(toast, title=title, print_exception=False)
