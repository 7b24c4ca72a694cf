"""One typed Settings object, built from defaults < .env < environment < flags.

Every number that bounds work lives here as a named field, so a limit is never a
magic number buried in the loop. Secrets are fields with ``repr=False`` and are
never written to traces, logs or the UI.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, Mapping, get_args

from .errors import UsageError
from .redaction import MIN_SECRET_CHARS as MIN_SECRET_CHARS
from .redaction import REDACTED as REDACTED
from .redaction import RedactingFilter as RedactingFilter
from .redaction import display_url as display_url
from .redaction import encodable as encodable
from .redaction import install_log_redaction as install_log_redaction
from .redaction import redact as redact
from .redaction import url_credentials as url_credentials
from .registry import BACKENDS, PROVIDERS

# A name registered in agent/registry.py (BACKENDS, PROVIDERS): checked when settings are made.
BackendName = str
ProviderName = str
KvCacheName = Literal["dynamic", "static", "compile"]
# The search protocol the model was trained on (agent/dialects/).
DialectName = Literal["qwq", "search-r1", "research"]
# Reading sources (agent/read): off (snippets only), auto (top N of each search plus open_page),
# ask (open_page only). The reader picks passages by BM25, or by the model (Qwen-Agent Lv2).
ReadMode = Literal["off", "auto", "ask"]
ReaderName = Literal["bm25", "model"]
# How an answer's cited sentences are checked against their sources (agent/claims/).
CheckClaimsName = Literal["off", "lexical", "judge"]

DEFAULT_MODEL = "Qwen/QwQ-32B"
# Longest a timeout or pause may be: a day. Past ~1e9 s, threading's waits raise OverflowError.
MAX_SECONDS = 86400.0


class SettingsError(UsageError):
    """A setting has a value we cannot use; the message names it and the fix."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    # What runs.
    backend: BackendName = "transformers"
    model: str = DEFAULT_MODEL
    dialect: DialectName = "qwq"
    base_url: str | None = None
    provider: ProviderName = "auto"
    model_script: str | None = None
    search_fixture: str | None = None
    script_delay_s: float = 0.0
    # A document index (agent/index): what ``local`` searches, or a second tool beside the web.
    index_dir: str | None = None
    # A Search-R1-compatible POST /retrieve server, for ``retriever``.
    retriever_url: str | None = None

    # Reading sources (agent/read). With the fixture provider pages come only from page_fixture.
    read: ReadMode = "auto"
    read_top: int = 3
    reader: ReaderName = "bm25"
    allow_private_fetch: bool = False
    page_fixture: str | None = None
    read_passages: int = 3  # passages per page the model is given
    read_tokens: int = 4000  # tokens of passages one tool response may hold
    read_concurrency: int = 8  # model-reader members at once

    # Bounds on work.
    max_searches: int = 5
    max_rounds: int = 12
    max_new_tokens: int = 8192
    context_limit: int = 32768
    answer_reserve_tokens: int = 1024
    # None: the dialect's own number (DIALECT_RESULTS), what its model was trained and evaluated with.
    results_per_search: int | None = None
    result_chars: int = 1200
    max_question_chars: int = 4000

    # Sampling (QwQ-32B model card).
    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 40

    # Local model loading.
    double_quant: bool = True
    load_in_4bit: Literal["auto", "yes", "no"] = "auto"
    # "static" preallocates the KV cache for context_limit tokens; "compile" adds torch.compile
    # of the decode step on CUDA. Both keep the KV reuse; neither is measured on a GPU yet.
    kv_cache: KvCacheName = "dynamic"
    gpu_duration_s: int = 180

    # Network.
    search_timeout_s: float = 10.0
    search_retry_backoff_s: float = 1.0
    ddg_min_interval_s: float = 1.0
    openai_timeout_s: float = 60.0
    openai_max_retries: int = 2

    # Claims checked against their sources: off, lexical (free, instant) or judge (a model call).
    check_claims: CheckClaimsName = "lexical"
    # The judge (claims and the eval): an OpenAI-compatible server; none means the app's own backend.
    judge_base_url: str | None = None
    judge_model: str | None = None
    judge_timeout_s: float = 60.0

    # Serving.
    concurrency_local: int = 1
    concurrency_remote: int = 8
    queue_max_size: int = 16
    # Question/answer pairs a conversation keeps for follow-ups: bounds each session's memory
    # and prompt however long someone chats.
    max_history_turns: int = 20

    # Secrets: never in repr, traces or the UI.
    tavily_api_key: str | None = field(default=None, repr=False)
    openai_api_key: str | None = field(default=None, repr=False)
    judge_api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _check_numbers(self)
        _check_registered("backend", self.backend, BACKENDS)
        _check_registered("provider", self.provider, PROVIDERS)
        _check_choice("dialect", self.dialect, DialectName)
        _check_choice("load_in_4bit", self.load_in_4bit, Literal["auto", "yes", "no"])
        _check_choice("kv_cache", self.kv_cache, KvCacheName)
        _check_choice("read", self.read, ReadMode)
        _check_choice("reader", self.reader, ReaderName)
        _check_reading(self)
        _check_choice("check_claims", self.check_claims, CheckClaimsName)
        if bool(self.judge_base_url) != bool(self.judge_model):
            raise SettingsError("a judge server needs both --judge-base-url and --judge-model "
                                f"(got {display_url(self.judge_base_url or '')!r} and {self.judge_model!r})")
        judge_url = (self.judge_base_url or "").strip().lower()
        if judge_url and not judge_url.startswith(("http://", "https://")):
            raise SettingsError(f"--judge-base-url {display_url(self.judge_base_url or '')!r} "
                                "(DEEPSEARCH_JUDGE_BASE_URL) must start with http:// or https:// "
                                "(e.g. http://127.0.0.1:8000/v1)")
        for name in ("max_searches", "openai_max_retries"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.results_per_search is not None and self.results_per_search < 1:
            raise SettingsError(f"results_per_search must be >= 1, got {self.results_per_search!r}")
        for name in ("max_rounds", "max_new_tokens", "context_limit",
                     "result_chars", "max_question_chars", "top_k", "queue_max_size",
                     "concurrency_local", "concurrency_remote", "max_history_turns"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if not 0.0 <= self.temperature <= 2.0:
            raise SettingsError(f"temperature must be in [0, 2], got {self.temperature!r}")
        if not 0.0 < self.top_p <= 1.0:
            raise SettingsError(f"top_p must be in (0, 1], got {self.top_p!r}")
        for name in ("search_timeout_s", "openai_timeout_s", "judge_timeout_s"):
            if not 0 < getattr(self, name) <= MAX_SECONDS:
                raise SettingsError(f"{_named(name)} must be > 0 and at most {MAX_SECONDS:g} seconds, "
                                    f"got {getattr(self, name)!r}")
        for name in ("script_delay_s", "search_retry_backoff_s", "ddg_min_interval_s"):
            if not 0 <= getattr(self, name) <= MAX_SECONDS:
                raise SettingsError(f"{_named(name)} must be between 0 and {MAX_SECONDS:g} seconds, "
                                    f"got {getattr(self, name)!r}")
        spec = PROVIDERS.get(self.provider)  # an unregistered name is refused after these checks
        if spec is not None and spec.required is not None and not spec.offered(self):
            raise SettingsError(spec.required)
        url = self.retriever_url or ""
        if self.provider == "retriever" and not url.strip().lower().startswith(("http://", "https://")):
            raise SettingsError(f"--retriever-url {display_url(url)!r} must start with http:// or "
                                "https:// (e.g. http://127.0.0.1:8000/retrieve)")
        if self.answer_reserve_tokens >= self.context_limit:
            raise SettingsError(
                f"answer_reserve_tokens ({self.answer_reserve_tokens!r}) must be below "
                f"context_limit ({self.context_limit!r})"
            )

    @property
    def has_tavily_key(self) -> bool:
        return bool(self.tavily_api_key)

    @property
    def concurrency_limit(self) -> int:
        """The UI queue serves one local GPU at a time, a remote server many."""
        return self.concurrency_remote if BACKENDS[self.backend].needs_server else self.concurrency_local

    def with_overrides(self, **overrides: Any) -> "Settings":
        """A copy with the non-None overrides applied (flags, UI controls)."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        if clean.get("model_script"):
            clean.setdefault("backend", "scripted")
        if clean.get("search_fixture"):
            clean.setdefault("provider", "fixture")
        return replace(self, **clean)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never be shown (keys, the server URL's credentials); very short
        ones would redact ordinary words (a URL's credentials go anyway, see ``redact``)."""
        values = [getattr(self, f.name) for f in fields(self) if not f.repr]
        values += url_credentials(self.base_url or "") + url_credentials(self.judge_base_url or "")
        return tuple(v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_CHARS)

    @property
    def results_wanted(self) -> int:
        """Results asked for per search: the setting, else the dialect's own number."""
        return self.results_per_search or DIALECT_RESULTS[self.dialect]

    def public(self) -> dict[str, Any]:
        """Everything but secrets: safe for traces, logs and the UI."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.repr}
        out["results_per_search"] = self.results_wanted  # what the run asks for, default or not
        for name in ("base_url", "judge_base_url"):
            if out.get(name):
                out[name] = display_url(out[name])
        return out


# Results per search each protocol's model was trained with: Search-R1 asks its retriever for
# 3 (search_r1/llm_agent/generation.py, GenerationConfig.topk; infer.py), ReSearch reads the top 5
# passages; QwQ's prompt here was written for 5.
DIALECT_RESULTS: dict[str, int] = {"qwq": 5, "search-r1": 3, "research": 5}

# Env var -> field. Each is documented in the README's configuration table.
ENV_VARS: dict[str, str] = {
    "DEEPSEARCH_BACKEND": "backend",
    "DEEPSEARCH_MODEL": "model",
    "DEEPSEARCH_DIALECT": "dialect",
    "OPENAI_BASE_URL": "base_url",
    "DEEPSEARCH_PROVIDER": "provider",
    "DEEPSEARCH_MAX_SEARCHES": "max_searches",
    "DEEPSEARCH_MAX_ROUNDS": "max_rounds",
    "DEEPSEARCH_MAX_NEW_TOKENS": "max_new_tokens",
    "DEEPSEARCH_CONTEXT_LIMIT": "context_limit",
    "DEEPSEARCH_RESULTS_PER_SEARCH": "results_per_search",
    "DEEPSEARCH_RESULT_CHARS": "result_chars",
    "DEEPSEARCH_MAX_QUESTION_CHARS": "max_question_chars",
    "DEEPSEARCH_TEMPERATURE": "temperature",
    "DEEPSEARCH_TOP_P": "top_p",
    "DEEPSEARCH_TOP_K": "top_k",
    "DEEPSEARCH_DOUBLE_QUANT": "double_quant",
    "DEEPSEARCH_LOAD_IN_4BIT": "load_in_4bit",
    "DEEPSEARCH_KV_CACHE": "kv_cache",
    "DEEPSEARCH_GPU_DURATION": "gpu_duration_s",
    "DEEPSEARCH_SEARCH_TIMEOUT": "search_timeout_s",
    "DEEPSEARCH_OPENAI_TIMEOUT": "openai_timeout_s",
    "DEEPSEARCH_JUDGE_TIMEOUT": "judge_timeout_s",
    "DEEPSEARCH_OPENAI_RETRIES": "openai_max_retries",
    "DEEPSEARCH_CONCURRENCY_LOCAL": "concurrency_local",
    "DEEPSEARCH_CONCURRENCY_REMOTE": "concurrency_remote",
    "DEEPSEARCH_QUEUE_SIZE": "queue_max_size",
    "DEEPSEARCH_MAX_HISTORY_TURNS": "max_history_turns",
    "DEEPSEARCH_SCRIPT_DELAY": "script_delay_s",
    "DEEPSEARCH_INDEX": "index_dir",
    "DEEPSEARCH_RETRIEVER_URL": "retriever_url",
    "DEEPSEARCH_READ": "read",
    "DEEPSEARCH_READ_TOP": "read_top",
    "DEEPSEARCH_READER": "reader",
    "DEEPSEARCH_ALLOW_PRIVATE_FETCH": "allow_private_fetch",
    "DEEPSEARCH_PAGE_FIXTURE": "page_fixture",
    "DEEPSEARCH_READ_PASSAGES": "read_passages",
    "DEEPSEARCH_READ_TOKENS": "read_tokens",
    "DEEPSEARCH_READ_CONCURRENCY": "read_concurrency",
    "DEEPSEARCH_CHECK_CLAIMS": "check_claims",
    "DEEPSEARCH_JUDGE_BASE_URL": "judge_base_url",
    "DEEPSEARCH_JUDGE_MODEL": "judge_model",
    "DEEPSEARCH_JUDGE_API_KEY": "judge_api_key",
    "TAVILY_API_KEY": "tavily_api_key",
    "OPENAI_API_KEY": "openai_api_key",
}


def load_dotenv_file() -> None:
    """Read ``.env`` from the working directory; real env vars win over the file."""
    if os.environ.get("PYTHON_DOTENV_DISABLED", "").lower() in ("1", "true", "yes"):
        return
    from dotenv import find_dotenv, load_dotenv

    load_dotenv(find_dotenv(usecwd=True), override=False)


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then environment variables, then explicit overrides (flags)."""
    env = os.environ if env is None else env
    types = {f.name: f.type for f in fields(Settings)}
    values: dict[str, Any] = {}
    for var, name in ENV_VARS.items():
        raw = env.get(var)
        if raw is None or raw.strip() == "":
            continue
        values[name] = _coerce(var, raw.strip(), types[name])
    return Settings(**values).with_overrides(**overrides)


def _coerce(var: str, raw: str, annotation: Any) -> Any:
    text = str(annotation)
    try:
        if text == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if text in ("int", "int | None"):
            return int(raw)
        if text == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"{var}={raw!r} is not a valid {text}; fix or unset it") from None
    return raw


def _named(name: str) -> str:
    """A field's name with the environment variable that sets it, for error messages."""
    var = next((v for v, f in ENV_VARS.items() if f == name), None)
    return f"{name} ({var})" if var else name


def _check_numbers(settings: Settings) -> None:
    """Every number is a real, finite one of its field's type: ``nan`` passes every ``<`` check
    unnoticed, and ``inf`` seconds overflow the waits that use them."""
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.type == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not ok:
                raise SettingsError(f"{_named(f.name)} must be a finite number, got {value!r}")
        elif f.type == "int | None" and value is None:
            continue
        elif f.type in ("int", "int | None") and (isinstance(value, bool) or not isinstance(value, int)):
            raise SettingsError(f"{_named(f.name)} must be a whole number, got {value!r}")


def _check_reading(settings: Settings) -> None:
    if not 0 <= settings.read_top <= 20:
        raise SettingsError(f"read_top (--read-top, DEEPSEARCH_READ_TOP) must be between 0 and 20, "
                            f"got {settings.read_top!r}")
    for name in ("read_passages", "read_tokens", "read_concurrency"):
        if getattr(settings, name) < 1:
            raise SettingsError(f"{_named(name)} must be >= 1, got {getattr(settings, name)!r}")
    if settings.reader == "model" and settings.backend == "transformers":
        raise SettingsError("--reader model needs a server backend (--backend openai): it sends every chunk of "
                            "a page to the model in parallel, which one local GPU cannot run; use --reader bm25")


def _check_choice(name: str, value: Any, literal: Any) -> None:
    allowed = get_args(literal)
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {list(allowed)}, got {value!r}{_set_by(name)}")


def _check_registered(name: str, value: Any, registry: Mapping[str, Any]) -> None:
    if value not in registry:
        raise SettingsError(f"{name} must be one of {list(registry)}, got {value!r}{_set_by(name)}")


def _set_by(name: str) -> str:
    """Where a bad choice comes from: the flags offer only good ones, so it is the environment
    variable (or a .env line), which the message must name for the operator to find it."""
    var = next((v for v, f in ENV_VARS.items() if f == name), None)
    return f" (check {var})" if var else ""
