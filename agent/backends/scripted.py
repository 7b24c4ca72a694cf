"""Replays given raw model outputs, one string per generation round.

Used by tests, demos and the CLI's ``--model-script``. Each round is streamed
in small uneven chunks (deterministically) so split tags are exercised, and it
behaves like the real model's stop tokens: a round ends right after its first
``</tool_call>``. One chunk counts as one token.
"""

from __future__ import annotations

import random
import re
import threading
from pathlib import Path
from typing import Any, Iterator

from ..files import read_json_file
from ..config import Settings
from ..prompt import render_prompt
from .base import BackendError, FinishReason, Usage, tool_response_splice

_CALL_CLOSE = "</tool_call>"
_TOKENISH = re.compile(r"\w+|[^\w\s]")


class ScriptError(ValueError):
    """The model script is missing or malformed; the message names the file."""


def load_script(path: str | Path) -> list[str]:
    rounds = read_json_file(path, what="model script", error=ScriptError)
    if not isinstance(rounds, list) or not all(isinstance(r, str) for r in rounds):
        raise ScriptError(f"model script {str(path)!r} must be a JSON list of strings, one per round")
    return rounds


def chunk_text(text: str, *, seed: int) -> list[str]:
    rng = random.Random(seed)
    chunks, i = [], 0
    while i < len(text):
        n = rng.randint(1, 7)
        chunks.append(text[i:i + n])
        i += n
    return chunks


def approx_tokens(text: str) -> int:
    return len(_TOKENISH.findall(text))


class ScriptedConversation:
    def __init__(self, *, rounds: list[str], prompt: str, settings: Settings) -> None:
        self._rounds = rounds
        self._settings = settings
        self._parts = [prompt]
        self.finish_reason: FinishReason | None = None
        n = approx_tokens(prompt)
        self.usage = Usage(prompt_tokens=n, prefilled_tokens=n, context_tokens=n)

    def generate(self, *, cancel: threading.Event) -> Iterator[str]:
        index = self.usage.rounds
        if index >= len(self._rounds):
            raise BackendError(
                f"the model script has only {len(self._rounds)} round(s) and round {index + 1} "
                "was asked for; add a final answer round to the script"
            )
        self.usage.rounds += 1
        text = self._rounds[index]
        cut = text.find(_CALL_CLOSE)
        if cut != -1:
            text = text[: cut + len(_CALL_CLOSE)]
        room = self._settings.context_limit - self.usage.context_tokens
        limit = min(self._settings.max_new_tokens, room)
        if limit <= 0:
            self.finish_reason = "context"
            return
        self.finish_reason = "tool_call" if cut != -1 else "stop"
        for produced, chunk in enumerate(chunk_text(text, seed=index)):
            if produced >= limit:
                self.finish_reason = "length"
                return
            # Waiting on the event (not sleeping) lets Stop end a slow script at once.
            if cancel.is_set() or (self._settings.script_delay_s and cancel.wait(self._settings.script_delay_s)):
                self.finish_reason = "cancelled"
                return
            self._parts.append(chunk)
            self.usage.generated_tokens += 1
            self.usage.context_tokens += 1
            yield chunk

    def add_tool_result(self, text: str) -> None:
        splice = tool_response_splice(text)
        n = approx_tokens(splice)
        self._parts.append(splice)
        self.usage.spliced_tokens += n
        self.usage.prefilled_tokens += n
        self.usage.context_tokens += n

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def transcript(self) -> str:
        return "".join(self._parts)


class ScriptedBackend:
    name = "scripted"

    def __init__(self, *, rounds: list[str], settings: Settings, model_id: str = "scripted") -> None:
        self._rounds = rounds
        self._settings = settings
        self.model_id = model_id

    @classmethod
    def from_file(cls, path: str | Path, *, settings: Settings) -> "ScriptedBackend":
        return cls(rounds=load_script(path), settings=settings, model_id=f"script:{Path(path).name}")

    def start(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
              settings: Settings | None = None) -> ScriptedConversation:
        return ScriptedConversation(rounds=self._rounds, prompt=render_prompt(messages, tools),
                                    settings=settings or self._settings)

    def close(self) -> None:
        pass
