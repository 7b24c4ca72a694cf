"""The engine's error hierarchy: what went wrong decides how it is shown and the CLI's exit code.

* ``UsageError``: the input cannot be used as given (a setting, a flag, a question, a
  model script, a search fixture, a trace). The CLI exits 2; the message says what to fix.
* ``BackendError``: the model cannot run (won't load, server unreachable, script exhausted);
  an ``error`` event, CLI exit 1.
* ``SearchError``: one search provider failed; ``AllProvidersFailed``: every provider in the
  chain did, which the model is told so it can answer without search.
* ``SearchCancelled``: the person stopped the run during a search. Not a failure: the run
  ends stopped, and no "search failed" is shown.

Every message is shown to people as is: say what failed and what to do, never a traceback.
"""

from __future__ import annotations


class DeepSearchError(Exception):
    """Base of every error the engine raises on purpose."""


class UsageError(DeepSearchError, ValueError):
    """Bad input (settings, flags, files, a question): CLI exit 2."""


class BackendError(DeepSearchError, RuntimeError):
    """The model cannot run (won't load, server unreachable, script exhausted).

    The message is shown to people as is: say what failed and what to do.
    """


class SearchError(DeepSearchError, RuntimeError):
    """A provider could not answer. ``retryable`` marks timeouts, 429s and 5xx.

    Messages are shown to people: never put a key or a raw traceback in them.
    """

    def __init__(self, message: str, *, provider: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.provider = provider
        self.retryable = retryable


class AllProvidersFailed(DeepSearchError, RuntimeError):
    """Every provider in the chain failed; the message lists each reason."""


class SearchCancelled(DeepSearchError):
    """The run was stopped while a search was waiting to retry."""


def cause_of(exc: BaseException, *, limit: int = 4) -> str:
    """What lies behind ``exc`` for a log line: its chained causes, newest first, each as
    ``Type: message`` ("ConnectError: [Errno 111] Connection refused"); "" when there is none.
    Callers redact it like any message (a server may echo a key)."""
    parts, seen, current = [], {id(exc)}, exc.__cause__ or exc.__context__
    while current is not None and len(parts) < limit and id(current) not in seen:
        seen.add(id(current))
        text = " ".join(str(current).split())[:300]
        parts.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        current = current.__cause__ or current.__context__
    return " <- ".join(parts)
