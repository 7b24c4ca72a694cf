"""Any OpenAI-compatible chat server (vLLM, SGLang, TGI): the scale-out path.

Each round is one streaming ``POST /v1/chat/completions`` with ``tools=[web_search]``,
turned back into the raw text the local model would have produced, so the loop
and its parser do not care which backend runs. (The Search-R1 and ReSearch
dialects go through plain completions instead: ``completions.py``; ``chat.py`` holds the
chat conversation and ``round.py`` the round both share.)
Two server styles, even mixed:

- vLLM / SGLang with a reasoning parser and a tool parser: ``reasoning_content``
  (or ``reasoning``) deltas are thinking; ``</think>\\n\\n`` is inserted before the
  first content or tool-call delta; ``tool_calls`` deltas (arguments streamed in
  pieces) are gathered and emitted at the end as ``<tool_call>\\n{json}\\n</tool_call>``.
  Only the first call of a round is kept: the loop runs one search per round,
  exactly as the local model stops at its first ``</tool_call>``.
- a bare server: ``<think>`` / ``</think>`` / ``<tool_call>`` arrive as text in
  ``content`` and pass through untouched; reading stops at ``</tool_call>``.

The server re-renders the whole conversation every round (chat completions
has no append-only mode), and QwQ's template drops the reasoning of earlier
assistant turns, so from round two on the model sees its earlier calls and the
results but not its earlier thinking. That is how the template is meant to be
used; the local backend keeps the thinking because it never re-renders.

Retries: the ``openai`` client itself retries connection errors, timeouts,
408/409/429 and 5xx before the stream starts (``openai_max_retries``, backoff
0.5 s doubling up to 8 s; see ``openai/_base_client.py``). We add no retry of
our own for failures, because a round that broke mid-stream cannot be resumed
without repeating text; we only re-send a request once without an optional
field a server rejects (``stream_options``, ``top_k``, ``tool_choice``) or with
``max_tokens`` cut to the room the server says is left.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import openai

from ...config import Settings, display_url
from ...dialects import get_dialect
from ...errors import UsageError
from ..base import BackendError
from .chat import OpenAIConversation
from .completions import CompletionConversation
from .errors import ContextFull, explain_error, server_detail as _detail
from .link import http_client

_CONTEXT_MAX = re.compile(r"maximum context length is (\d+)")
_CONTEXT_USED = re.compile(r"(\d+) in the messages|has (\d+) input tokens|(\d+) input tokens")


class OpenAIConfigError(UsageError, BackendError):
    """The backend cannot be built as configured (a bad-argument error for the CLI)."""


class OpenAIBackend:
    name = "openai"
    loaded = True  # a server: nothing to load here

    def __init__(self, *, settings: Settings, client: openai.OpenAI | None = None) -> None:
        base = (settings.base_url or "").strip().rstrip("/")
        if not base:
            raise OpenAIConfigError("the openai backend needs the server's URL: pass --base-url "
                                    "http://HOST:8000/v1 or set OPENAI_BASE_URL")
        if not base.startswith(("http://", "https://")):
            raise OpenAIConfigError(f"--base-url {display_url(base)!r} must start with http:// or "
                                    "https:// (e.g. http://localhost:8000/v1)")
        self.model_id = settings.model
        self.base_url = base  # what the client uses: it may hold user:password@
        self.display_url = display_url(base)  # what messages show: never the credentials
        self._settings = settings
        # The server ignores the key unless it was started with one (vLLM --api-key);
        # the client insists on a non-empty string.
        self._client = client or openai.OpenAI(
            base_url=base, api_key=settings.openai_api_key or "EMPTY",
            timeout=settings.openai_timeout_s, max_retries=settings.openai_max_retries,
            http_client=http_client())
        # Learned once per server and shared by every conversation: a lost race only
        # costs one extra rejected request.
        self.dropped: set[str] = set()
        self._tool_choice_none = False

    @property
    def client(self) -> openai.OpenAI:
        return self._client

    def start(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
              settings: Settings | None = None) -> "OpenAIConversation | CompletionConversation":
        """QwQ through chat completions and its tool parser; the tag dialects, which
        splice inside the assistant turn, through plain completions."""
        settings = settings or self._settings
        dialect = get_dialect(settings.dialect)
        if dialect.tools:
            return OpenAIConversation(backend=self, messages=messages, tools=tools, settings=settings)
        return CompletionConversation(backend=self, messages=messages, settings=settings, dialect=dialect)

    def load(self) -> None:
        pass

    def close(self) -> None:
        self._client.close()

    def send(self, create: Callable[[int], Any], *, max_tokens: int, settings: Settings,
             serves: str) -> tuple[Any, int]:
        """``create(max_tokens)``, re-sent without what the server rejects: the stream and the
        ``max_tokens`` it was sent with (cut to the room the server reports). ``serves`` names
        the API for the message when it keeps refusing. Raises ``BackendError`` or ``ContextFull``."""
        for _attempt in range(5):
            try:
                return create(max_tokens), max_tokens
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                room = self.adjust(_detail(exc, settings), max_tokens)
                if room is None:
                    raise self.explain(exc) from None
                max_tokens = room
            except openai.APIError as exc:
                raise self.explain(exc) from None
        raise BackendError(f"the model server at {self.display_url} kept rejecting the request; "
                           f"check that it {serves}")

    def chat_request(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                     settings: Settings, max_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = dict(model=self.model_id, messages=messages, tools=tools, stream=True,
                                    temperature=settings.temperature, top_p=settings.top_p,
                                    max_tokens=max_tokens)
        if "stream_options" not in self.dropped:
            body["stream_options"] = {"include_usage": True}
        if "top_k" not in self.dropped:  # vLLM/SGLang extension; the model card asks for 20-40
            body["extra_body"] = {"top_k": settings.top_k}
        if self._tool_choice_none:
            # A server without a tool parser refuses "auto"; with "none" vLLM still
            # renders the tools into the prompt and the model writes raw <tool_call> text.
            body["tool_choice"] = "none"
        return body

    def adjust(self, detail: str, max_tokens: int) -> int | None:
        """How to re-send after a 400/422: the new ``max_tokens``, or None to give up."""
        low = detail.lower()
        for name in ("stream_options", "top_k", "include_stop_str_in_output"):
            if name in low and name not in self.dropped:
                self.dropped.add(name)
                return max_tokens
        if ("tool_choice" in low or "tool choice" in low or "tool-call-parser" in low) \
                and not self._tool_choice_none:
            self._tool_choice_none = True
            return max_tokens
        limit, used = _CONTEXT_MAX.search(detail), _CONTEXT_USED.search(detail)
        if limit and used:
            room = int(limit.group(1)) - int(next(g for g in used.groups() if g))
            if room < 1:
                raise ContextFull(detail)
            if room < max_tokens:
                return room
        return None

    def explain(self, exc: Exception, *, mid_stream: bool = False) -> BackendError:
        """A clean, actionable message for a client error; never a traceback or the key."""
        return explain_error(exc, base_url=self.display_url, model_id=self.model_id, settings=self._settings,
                             served_models=self._served_models, mid_stream=mid_stream)

    def check(self, timeout_s: float = 5.0) -> str | None:
        """Why this server cannot answer (unreachable, key refused, model not served), or None.

        One ``GET /models`` at startup, so the problem is known before anyone asks.
        """
        try:
            page = self._client.with_options(max_retries=0, timeout=timeout_s).models.list()
            served = [str(m.id) for m in page.data]
        except openai.APIError as exc:
            return str(self.explain(exc))
        except (AttributeError, TypeError, ValueError):
            return None  # an odd /models answer: the first question will tell
        if served and self.model_id not in served:
            names = ", ".join(map(repr, served[:10]))
            return (f"the model server at {self.base_url} does not serve model {self.model_id!r}; it "
                    f"serves {names}: pass one with --model")
        return None

    def _served_models(self) -> list[str]:
        try:
            page = self._client.with_options(max_retries=0, timeout=5.0).models.list()
            return [m.id for m in page.data][:10]
        except (openai.APIError, AttributeError, TypeError):
            return []
