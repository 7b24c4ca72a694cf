"""When the local model's generation stops, for a given dialect.

Stop strings that are one token in the vocabulary (QwQ's ``</tool_call>``)
are stopped on by id: an eos check per token costs nothing. The others
(``</search>`` is several tokens in Qwen2.5's vocabulary) go to generate's
``stop_strings``, which matches text and also catches a stop that ends inside
a token (``">\\n\\n"``), as Search-R1's own criterion does by listing variants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.backends.base import BackendError
from agent.dialects import Dialect
from agent.errors import UsageError

IM_END = "<|im_end|>"


class TokenizerMismatch(UsageError, BackendError):
    """The model's tokenizer cannot serve the dialect (no single-token stop, no end of turn, no chat
    template): a configuration to change, found from the tokenizer alone, before any weight loads."""


@dataclass(frozen=True)
class RoundStops:
    """How generation stops: ``end_ids`` end the turn; ``stop_ids`` are stop strings that
    are one token (QwQ's ``</tool_call>``), matched by id; the others (``</search>`` is
    several tokens) are matched as text by generate's ``stop_strings``."""

    end_ids: tuple[int, ...]
    stop_ids: tuple[int, ...] = ()
    stop_strings: tuple[str, ...] = ()

    @property
    def eos_ids(self) -> list[int]:
        return list(dict.fromkeys(self.end_ids + self.stop_ids))


def round_stops(tokenizer: Any, dialect: Dialect, *, model_id: str) -> RoundStops:
    ends = [tokenizer.convert_tokens_to_ids(IM_END), tokenizer.eos_token_id]
    end_ids = tuple(dict.fromkeys(i for i in ends if isinstance(i, int) and i != tokenizer.unk_token_id))
    if not end_ids:
        raise TokenizerMismatch(f"the tokenizer of {model_id!r} has no end-of-turn token ({IM_END!r} or an "
                           "eos token); use a chat model")
    ids, strings = [], []
    for stop in dialect.stops:
        one = tokenizer.encode(stop, add_special_tokens=False)
        if len(one) == 1:
            ids.append(one[0])
        elif dialect.name == "qwq":
            # Stop on ids, never on decoded text: </tool_call> is one token in QwQ's vocabulary.
            raise TokenizerMismatch(
                f"the tokenizer of {model_id!r} has no single token for {stop!r}; the qwq dialect "
                "needs a Qwen2/QwQ-style tokenizer (or use --backend openai, or another --dialect)"
            )
        else:
            strings.append(stop)
    return RoundStops(end_ids=end_ids, stop_ids=tuple(ids), stop_strings=tuple(strings))


def check_tokenizer(tokenizer: Any, dialect: Dialect, *, model_id: str) -> RoundStops:
    """The stops of ``dialect`` on this tokenizer, or ``TokenizerMismatch`` saying why it cannot
    serve it: everything about the model that the tokenizer alone can tell."""
    stops = round_stops(tokenizer, dialect, model_id=model_id)
    if not getattr(tokenizer, "chat_template", None):
        raise TokenizerMismatch(f"the tokenizer of {model_id!r} has no chat template; use a chat model")
    return stops
