"""What can go wrong with the saved history; every message is shown to people as is."""

from __future__ import annotations

from ..errors import DeepSearchError, UsageError


class HistoryError(DeepSearchError):
    """The history cannot do what was asked."""


class HistoryUnavailable(HistoryError):
    """History is off for this process (no writable data folder, ``--no-history``): the app runs
    without it and says why."""


class HistoryFull(HistoryError):
    """A bound is reached (conversations per browser, bytes per conversation)."""


class HistoryNotFound(HistoryError, UsageError):
    """No such conversation, turn or share link for this owner."""
