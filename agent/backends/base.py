"""The one small protocol every LLM backend implements.

A backend loads (or connects to) a model once and opens a ``Conversation`` per
question. A conversation is append-only: ``generate`` streams one round of
model text and stops at the dialect's stop strings (``</tool_call>`` for QwQ,
``</search>`` or ``</answer>`` for Search-R1 and ReSearch; ``settings.dialect``),
at the end of the turn, at the round's token limit or when ``cancel`` is set;
``add_tool_result`` appends an observation the way the dialect splices it (for
QwQ a tool response and the next generation prompt). Nothing is ever
re-rendered, so a local backend can keep its KV cache across rounds.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generator, Protocol, runtime_checkable

from ..errors import BackendError as BackendError  # re-exported: the protocol names it
from ..events import FinishReason

if TYPE_CHECKING:
    from ..config import Settings


@dataclass
class Usage:
    """Token accounting for one conversation, updated while it streams."""

    prompt_tokens: int = 0  # tokens of the first rendered prompt
    generated_tokens: int = 0  # tokens the model produced, all rounds
    spliced_tokens: int = 0  # tokens of tool responses appended after rounds
    prefilled_tokens: int = 0  # tokens actually run through prefill (KV reuse keeps this low)
    context_tokens: int = 0  # length of the running sequence now
    rounds: int = 0


class Conversation(Protocol):
    usage: Usage
    finish_reason: FinishReason | None

    def generate(self, *, cancel: threading.Event) -> Generator[str, None, None]:
        """Stream one round of raw model text (think/tool tags kept); the loop closes the
        generator when it stops reading, early or not.

        The loop calls it only when the round has room (``round_token_limit`` > 0) and
        ``cancel`` is not set yet, so no backend repeats those checks.
        """
        ...

    def add_tool_result(self, text: str) -> None:
        """Append an (already escaped) observation as the dialect splices it."""
        ...

    def add_recorded(self, text: str) -> None:
        """Append text the model wrote in a recorded run, as if it had just generated it (a fork
        puts a recorded prefix back, ``agent/forking.py``). Nothing is generated: a local model
        prefills it with the next round's prompt tail, in one forward; a server is sent it as
        the conversation so far. The text comes from the dialect's ``write_round`` (escaped)."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` costs in this model's context."""
        ...

    def transcript(self) -> str:
        """Everything the model has seen and produced so far, as text."""
        ...


class Backend(Protocol):
    name: str
    model_id: str

    @property
    def loaded(self) -> bool:
        """Whether ``load`` has nothing left to do (a remote or scripted model: always)."""
        ...

    def load(self) -> None:
        """Load the model now (slow for a local one); ``start`` loads it too when needed.

        Raises ``BackendError`` with a message for people when it cannot.
        """
        ...

    def start(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
              settings: Settings | None = None) -> Conversation:
        """Open a conversation on ``[system, *history, user]`` with these tools.

        ``settings`` overrides the backend's own for this conversation only
        (sampling, token limits chosen in the UI); loading options are fixed.
        """
        ...

    def close(self) -> None:
        """Release what the backend holds (threads, connections, GPU memory)."""
        ...


@runtime_checkable
class Preflight(Protocol):
    """A backend that can refuse a configuration at start-up, from what is cheap to load (a local
    model's tokenizer), before the slow part (its weights)."""

    def preflight(self) -> None:
        """Raise ``UsageError`` naming what to change; a failure to load at all is left to ``load``."""
        ...


def round_token_limit(settings: "Settings", context_tokens: int) -> int:
    """New tokens one round may generate: ``max_new_tokens``, and never past ``context_limit``
    (zero or less: the round must not run)."""
    return min(settings.max_new_tokens, settings.context_limit - context_tokens)


# Digits one by one (Qwen tokenizers split numbers into digits), runs of other word
# characters, and each punctuation mark: one token each, plus more for long words below.
_TOKENISH = re.compile(r"\d|[^\W\d]+|[^\w\s]")
# A long word is several tokens: the first 8 characters make one, then about one per 4 (BPE
# pieces of rare words, base64, hashes). Letters of other scripts cost about one token per 2.
# Overestimates keep the context checks on the safe side.
_LONG_WORD = re.compile(r"[A-Za-z_]{9,}")
_OTHER_SCRIPT = re.compile(r"[^\W\d\x00-\x7f]{3,}")


def approx_tokens(text: str) -> int:
    """About how many tokens ``text`` costs a Qwen-style tokenizer, erring high on long words
    (for backends without a tokenizer of their own)."""
    n = len(_TOKENISH.findall(text))
    n += sum(-(-(len(w) - 8) // 4) for w in _LONG_WORD.findall(text))
    if not text.isascii():
        n += sum(-(-len(w) // 2) - 1 for w in _OTHER_SCRIPT.findall(text))
    return n
