"""Saved conversations: the SQLite store of record in the data folder (``store``; what it hands out,
``saved``), how it is opened (``opening``), where it lives and its bounds (``config``), and the operator's CLI
(``python -m agent.history``)."""

from .config import HistoryConfig, default_data_dir, history_config_from_env
from .errors import HistoryError, HistoryFull, HistoryNotFound, HistoryUnavailable
from .opening import open_store
from .saved import Saved, Summary, clean_title, new_secret, owner_key
from .store import HistoryStore
from ..records.timed import TimedTurn, turn_from_run, turns_from_runs, untimed

__all__ = [
    "HistoryConfig", "HistoryError", "HistoryFull", "HistoryNotFound", "HistoryStore",
    "HistoryUnavailable", "Saved", "Summary", "TimedTurn", "clean_title", "default_data_dir", "history_config_from_env",
    "new_secret", "open_store", "owner_key", "turn_from_run", "turns_from_runs",
    "untimed",
]
