"""The project's one error tree: what went wrong decides how it is shown and the exit status.

    DeepSearchError                  every error the project raises on purpose
    ├── UsageError                   configuration and usage: a setting, a flag, a question, a model
    │                                script, a fixture, a dataset, a trace given as input. Exit 2
    ├── BackendError                 the model cannot run (won't load, server unreachable, script
    │                                exhausted): an ``error`` event, exit 1
    ├── SearchProblem                searching and reading pages
    │   ├── SearchError              one provider failed (``retryable`` for timeouts, 429s, 5xx)
    │   ├── AllProvidersFailed       every provider in the chain did: the model is told, and answers
    │   └── SearchCancelled          Stop during a search: the run ends stopped, no failure shown
    ├── DocumentIndexError           the document index (unavailable, unreadable file, bad request)
    └── RecordsError                 traces, results and other records (``TraceError`` is also a
                                     ``UsageError``: a trace named on the command line)

A class may sit in two branches (``OpenAIConfigError``: a backend's usage error). Each keeps the
builtin base it had (``ValueError``, ``RuntimeError``) so code that caught those still does. Entry
points (``python -m agent``, ``agent.index``, ``agent.eval``, ``app.py``) catch ``UsageError``
(exit 2) and then the root (exit 1), each with a one-line message.

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


class SearchProblem(DeepSearchError):
    """Searching, or reading a page, went wrong."""


class DocumentIndexError(DeepSearchError):
    """The document index cannot do what was asked."""


class RecordsError(DeepSearchError):
    """A trace, a results file or another record cannot be read or written."""


class SearchError(SearchProblem, RuntimeError):
    """A provider could not answer. ``retryable`` marks timeouts, 429s and 5xx.

    Messages are shown to people: never put a key or a raw traceback in them.
    """

    def __init__(self, message: str, *, provider: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.provider = provider
        self.retryable = retryable


class AllProvidersFailed(SearchProblem, RuntimeError):
    """Every provider in the chain failed; the message lists each reason."""


class SearchCancelled(SearchProblem):
    """The run was stopped while a search was waiting to retry."""


def cause_of(exc: BaseException, *, limit: int = 4) -> str:
    """What lies behind ``exc`` for a log line: its chained causes, newest first, each as
    ``Type: message`` ("ConnectError: [Errno 111] Connection refused"); "" when there is none.
    Callers redact it like any message (a server may echo a key)."""
    parts: list[str] = []
    seen, current = {id(exc)}, exc.__cause__ or exc.__context__
    while current is not None and len(parts) < limit and id(current) not in seen:
        seen.add(id(current))
        text = " ".join(str(current).split())[:300]
        parts.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        current = current.__cause__ or current.__context__
    return " <- ".join(parts)
