"""The engine's facade: everything ``ui/``, ``app.py`` and other outside code may use.

Outside code imports from here only (``tests/unit/test_boundaries.py`` checks it), so
the modules behind it can be split and renamed without touching the UI. The
engine itself never imports gradio or ``ui/``.
"""

from __future__ import annotations

from .backends.base import Backend, BackendError
from .errors import DeepSearchError, UsageError
from .claims.record import summary_line
from .claims.model_check import has_claims_to_judge, offers_model_check
from .text.citations import CITATION, citation_numbers, cited_ids, display_numbering, renumber, without_link_targets
from .demo import DEMO_LABEL, DEMO_SCRIPT, DEMO_SEARCH, demo_questions, demo_settings
from .config import (DEFAULT_MODEL, Settings, SettingsError, display_url, install_log_redaction,
                     load_dotenv_file, redact, settings_from_env)
from .events import (REFUSAL_REASONS, Answer, Done, Error, Event, ReadDone, ReadStart, RefusedCall, RunEnd, RunStats,
                     SearchDone,
                     SearchStart, SourceRef, Thinking, json_line, to_dict)
from .errors import cause_of
from .text.counts import counted
from .files import lenient_key, unwritable
from .flags import STOP_SIGNALS, engine_flags, settings_from_args
from .gpu import on_zero_gpu
from .index import DocumentIndex, IndexUnavailable
from .text.markdown_code import code_regions, outside_code
from .loop import InputError, validate_question
from .search import build_search
from .records.reads import read_summary
from .records.runs import document_passages, document_place, passage_page_label
from .text.fragments import fragment_url
from .text.defang import safe_markdown
from .text.control import one_line
from .text.safe_url import safe_http_url, visible_url
from .session import ChatSession, build_backend, check_inputs, preflight
from .records.conversation import Conversation, Turn
from .records.replay import MAX_REPLAY_PAUSE_S, pace, replay
from .records.report import export_events, export_runs
from .records.judged import judged_line
from .records.trace import TraceError, TraceWriter, read_trace, run_text, trace_meta
from .registry import (BACKENDS, PROVIDERS, BackendSpec, ProviderSpec, backend_spec, provider_label, provider_spec,
                       register_backend, register_provider)

__all__ = [
    "Answer", "Backend", "backend_spec", "BackendError", "BACKENDS", "BackendSpec", "build_backend", "build_search",
    "cause_of", "check_inputs", "ChatSession", "has_claims_to_judge", "offers_model_check", "run_text",
    "judged_line",
    "CITATION", "citation_numbers", "cited_ids", "code_regions", "Conversation", "counted",
    "DeepSearchError", "DEFAULT_MODEL", "DEMO_LABEL", "demo_questions", "DEMO_SCRIPT",
    "DEMO_SEARCH", "demo_settings", "display_numbering", "document_passages", "document_place",
    "display_url", "DocumentIndex", "Done", "engine_flags",
    "Error", "Event", "export_events", "export_runs", "fragment_url", "IndexUnavailable", "InputError",
    "install_log_redaction", "json_line", "lenient_key", "load_dotenv_file", "MAX_REPLAY_PAUSE_S", "on_zero_gpu",
    "one_line", "passage_page_label", "preflight",
    "outside_code", "pace", "provider_label", "provider_spec", "PROVIDERS", "ProviderSpec", "read_summary",
    "read_trace", "ReadDone", "ReadStart", "redact", "REFUSAL_REASONS", "RefusedCall", "register_backend",
    "register_provider", "renumber", "replay", "RunEnd", "RunStats", "safe_http_url", "safe_markdown", "SearchDone",
    "SearchStart",
    "Settings", "settings_from_args", "settings_from_env", "SettingsError", "SourceRef", "STOP_SIGNALS", "summary_line",
    "Thinking",
    "to_dict", "trace_meta", "TraceError", "TraceWriter", "Turn", "unwritable", "UsageError", "validate_question",
    "visible_url", "without_link_targets",
]

# Saved conversations and the share player (issue 24).
from .history import (HistoryConfig, HistoryError, HistoryStore, HistoryUnavailable, Saved,  # noqa: E402
                      history_config_from_env, new_secret, open_store, owner_key)
from .player import player_html  # noqa: E402
from .records.timed import TimedTurn, turn_from_run  # noqa: E402

__all__ += [
    "HistoryConfig", "HistoryError", "HistoryStore", "HistoryUnavailable", "Saved", "TimedTurn",
    "history_config_from_env", "new_secret", "open_store", "owner_key", "player_html", "turn_from_run",
]

# Forks (issue 24.4). ``ChatSession.fork(turn_id, at=K, question=None, cancel=...)`` continues the
# record turn ``turn_id`` from index K of its events (``Turn.events``, the record's joined events)
# in a new branch: the events before K are reused (recorded search results and pages are not
# fetched again) and the model generates afresh from there; it returns the new branch's events,
# the same stream as ``ChatSession.ask`` (ending with one ``done``, or an ``error``). The branch
# is a sibling of the turn in ``session.record`` (``Turn.fork_of``, ``Turn.fork_at``; the head
# moves to it; ``record.siblings(turn_id)`` lists a turn's branches oldest first and
# ``record.show(turn_id)`` shows one, for a "◀ 2/3 ▶" switcher). ``fork_points(turn.events)``
# lists every K a fork may start from: 0 (the question asked again, or replaced by ``question``,
# which always forks at 0), the index of a ``search_start`` (the model continues the round from
# just before that call), the index just after a step's last ``search_done``/``read_done`` ("Continue
# from here" on a search or read panel: that step's results are kept and the model goes on from
# them; ``after_step(turn.events, i)`` gives that point for the step whose ``search_start`` or
# ``read_start`` is at i). A bad K raises ``ForkError`` (a ``UsageError``) naming it, before
# anything runs. The new turn's ``meta["fork"]`` is ``{"turn": id, "at": K}``: a recording of the
# branch passes it on (``TraceWriter(..., fork=turn.meta["fork"])``) and ``turn_from_run`` reads it
# back into ``fork_of``/``fork_at``, so a saved branch keeps its place.
from .records.fork import ForkError, ForkPlan, after_step, fork_points, plan_fork  # noqa: E402

__all__ += ["ForkError", "ForkPlan", "after_step", "fork_points", "plan_fork"]
