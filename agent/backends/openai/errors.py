"""Turning OpenAI-client errors into messages a person can act on.

Never a traceback, never the key: the server's own words are kept (shortened)
because they usually say what is wrong, with every secret redacted.
"""

from __future__ import annotations

import json
from typing import Callable

import openai

from ...config import Settings, redact
from ...errors import DeepSearchError
from ..base import BackendError

_MAX_DETAIL = 300


class ContextFull(DeepSearchError):
    """The server says the prompt leaves no room for a single new token."""


def explain_error(exc: Exception, *, base_url: str, model_id: str, settings: Settings,
                  served_models: Callable[[], list[str]], mid_stream: bool = False) -> BackendError:
    """A clean, actionable message for a client error; never a traceback or the key."""
    url, s = base_url, settings
    status = getattr(exc, "status_code", None)
    detail = server_detail(exc, s)
    if isinstance(exc, openai.APITimeoutError):
        text = (f"the model server at {url} did not answer within {s.openai_timeout_s:g} s"
                f"{' mid-answer' if mid_stream else ''}: it may be overloaded; try again, or raise "
                "DEEPSEARCH_OPENAI_TIMEOUT")
    elif isinstance(exc, openai.APIConnectionError):
        cause = clean_detail(str(exc.__cause__ or exc), s) or type(exc.__cause__).__name__
        text = (f"the connection to the model server at {url} broke mid-answer ({cause}); try again"
                if mid_stream else
                f"cannot reach the model server at {url} ({cause}): is it running? Start it "
                "(README, \"Scaling out\") or fix --base-url / OPENAI_BASE_URL")
    elif isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        which = "the API key" if s.openai_api_key else "the request without an API key"
        text = (f"the model server at {url} rejected {which} (HTTP {status}): set OPENAI_API_KEY "
                "to the key the server was started with (vLLM: --api-key)")
    elif isinstance(exc, openai.NotFoundError):
        served = served_models()
        text = (f"the model server at {url} does not serve model {model_id!r} (404); it serves "
                f"{', '.join(map(repr, served))}: pass one with --model (GET {url}/models lists them)"
                if served else
                f"the model server at {url} answered 404 for model {model_id!r} ({detail}): "
                f"check --model against GET {url}/models, and that the URL ends in /v1")
    elif isinstance(exc, openai.RateLimitError):
        text = (f"the model server at {url} is rate limiting (429) even after "
                f"{s.openai_max_retries} retries; wait a little and try again")
    elif isinstance(exc, openai.APIStatusError) and (status or 0) >= 500:
        text = (f"the model server at {url} failed with HTTP {status} after "
                f"{s.openai_max_retries} retries: {detail}")
    elif isinstance(exc, openai.APIStatusError):
        text = f"the model server at {url} rejected the request (HTTP {status}): {detail}"
    else:
        text = f"the model server at {url} reported an error{' mid-answer' if mid_stream else ''}: {detail}"
    return BackendError(text)


def server_detail(exc: Exception, settings: Settings) -> str:
    """The server's own words, without the envelope, shortened and free of the key."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else inner
        text = text or body.get("message") or body.get("detail") or json.dumps(body)
    else:
        text = body if isinstance(body, str) and body else getattr(exc, "message", None) or str(exc)
    return clean_detail(str(text), settings)


def clean_detail(text: str, settings: Settings) -> str:
    text = redact(" ".join(text.split()), settings.secrets)
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."
