"""Where saved conversations live and what bounds them: ``DEEPSEARCH_DATA_DIR``,
``DEEPSEARCH_HISTORY`` (``--no-history``), ``DEEPSEARCH_SHARE_LINKS`` (``--share-links``) and the
two bounds. Read from the environment; flags override (``app.py``, ``python -m agent.history``)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from ..errors import UsageError

APP_FOLDER = "deepsearch"
# A Hugging Face Space with persistent storage mounts it here; anything else there is lost on restart.
SPACE_STORAGE = Path("/data")
DEFAULT_MAX_CONVERSATIONS = 1000
DEFAULT_MAX_BYTES = 16 * 1024 * 1024  # per conversation: a few hundred answers with their thinking


@dataclass(frozen=True, kw_only=True)
class HistoryConfig:
    enabled: bool = True
    data_dir: Path
    share_links: bool = False
    max_conversations: int = DEFAULT_MAX_CONVERSATIONS
    max_bytes: int = DEFAULT_MAX_BYTES

    def with_overrides(self, *, enabled: bool | None = None, data_dir: Path | None = None,
                       share_links: bool | None = None) -> "HistoryConfig":
        """This config with each given flag's value; ``None`` keeps the current one."""
        return replace(
            self,
            enabled=self.enabled if enabled is None else enabled,
            data_dir=self.data_dir if data_dir is None else data_dir,
            share_links=self.share_links if share_links is None else share_links,
        )


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """``/data`` on a Space with persistent storage, else the user's data folder
    (``$XDG_DATA_HOME`` or ``~/.local/share``, ``~/Library/Application Support``, ``%LOCALAPPDATA%``)."""
    env = os.environ if env is None else env
    if env.get("SPACE_ID") and SPACE_STORAGE.is_dir():
        return SPACE_STORAGE
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / APP_FOLDER
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_FOLDER
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_FOLDER


def history_config_from_env(env: Mapping[str, str] | None = None) -> HistoryConfig:
    env = os.environ if env is None else env
    folder = env.get("DEEPSEARCH_DATA_DIR", "").strip()
    return HistoryConfig(
        enabled=_flag(env, "DEEPSEARCH_HISTORY", True),
        data_dir=Path(folder).expanduser() if folder else default_data_dir(env),
        share_links=_flag(env, "DEEPSEARCH_SHARE_LINKS", False),
        max_conversations=_positive(env, "DEEPSEARCH_HISTORY_MAX_CONVERSATIONS", DEFAULT_MAX_CONVERSATIONS),
        max_bytes=_positive(env, "DEEPSEARCH_HISTORY_MAX_BYTES", DEFAULT_MAX_BYTES),
    )


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or not raw.strip():  # empty is unset, as for every other setting (agent/config.py)
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UsageError(f"{name} must be 1 or 0, got {raw!r}")


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise UsageError(f"{name} must be 1 or more, got {raw!r}")
    return value
