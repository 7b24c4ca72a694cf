"""Replays given raw model outputs, one string per generation round.

Used by tests, demos and the CLI's ``--model-script``. Each round is streamed
in small uneven chunks (deterministically) so split tags are exercised, and it
behaves like the real model's stop tokens: a round ends right after the first
stop of the dialect (``</tool_call>`` for QwQ, ``</search>`` or ``</answer>`` for
Search-R1 and ReSearch). One chunk counts as one token.

A script file is a JSON list of rounds (docs/DESIGN.md), played for every question,
or a catalogue ``{"questions": {question: [rounds]}, "default": [rounds]}`` that
plays each question's own rounds (matched ignoring case and spacing) and the
optional ``default`` for any other question: the demo mode answers each
example with its own recording. A catalogue's ``[n]`` means "the n-th source
this run was shown" (see ``renumber_citations``); a list is played verbatim.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generator

from ..errors import UsageError
from ..files import lenient_key, read_json_file
from ..config import Settings
from ..dialects import get_dialect
from ..text.citations import CITATION
from .base import BackendError, FinishReason, Usage, approx_tokens, round_token_limit

# A numbered source in a spliced QwQ observation (agent.dialects.qwq.format_results): "[7] Title\nURL: ..."
_RESULT_ID = re.compile(r"(?m)^\[(\d+)\] [^\n]*\nURL: ")


class ScriptError(UsageError):
    """The model script is missing or malformed; the message names the file."""


class ScriptLeftOver(BackendError):
    """A strict script ended its run with rounds it never played: the test expected more rounds."""


@dataclass(frozen=True)
class Script:
    """The rounds to play: ``by_question`` for named questions, ``default`` for the rest."""

    default: tuple[str, ...] | None
    by_question: dict[str, tuple[str, ...]] = field(default_factory=dict)
    renumber: bool = False  # cite the sources each run was shown (catalogues), or verbatim

    @classmethod
    def of(cls, rounds: "Script | list[str] | tuple[str, ...]") -> "Script":
        return rounds if isinstance(rounds, Script) else cls(default=tuple(rounds))

    def rounds_for(self, question: str) -> tuple[str, ...]:
        rounds = self.by_question.get(lenient_key(question), self.default)
        if rounds is None:
            known = "; ".join(repr(q) for q in self.by_question) or "none"
            raise BackendError(
                f"the model script has no rounds for the question {question[:200]!r} and no "
                f"\"default\" rounds; scripted questions: {known}"
            )
        return rounds


def load_script(path: str | Path) -> Script:
    data = read_json_file(path, what="model script", error=ScriptError)
    shape = ('must be a JSON list of strings, one per round, or an object '
             '{"questions": {question: [rounds]}, "default": [rounds]}')
    if isinstance(data, list):
        return Script(default=_rounds(data, path, shape))
    if not isinstance(data, dict) or not set(data) <= {"questions", "default"} \
            or not isinstance(data.get("questions", {}), dict):
        raise ScriptError(f"model script {str(path)!r} {shape}")
    default = _rounds(data["default"], path, shape, where='"default"') if "default" in data else None
    by_question = {lenient_key(q): _rounds(r, path, shape, where=f"question {q!r}")
                   for q, r in data.get("questions", {}).items()}
    return Script(default=default, by_question=by_question, renumber=True)


def _rounds(value: Any, path: str | Path, shape: str, *, where: str = "") -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        at = f" (at {where})" if where else ""
        raise ScriptError(f"model script {str(path)!r}{at} {shape}")
    return tuple(value)


def chunk_text(text: str, *, seed: int) -> list[str]:
    rng = random.Random(seed)
    chunks, i = [], 0
    while i < len(text):
        n = rng.randint(1, 7)
        chunks.append(text[i:i + n])
        i += n
    return chunks


def renumber_citations(text: str, seen_ids: list[int]) -> str:
    """Read a script's [n] as "the n-th source this run was shown", as a model would cite them.

    Each answer numbers its sources from 1, but a page that two searches return
    keeps its first number, so the n-th source shown can carry a smaller id.
    A number beyond what was shown stays as written (a citation of a source
    that does not exist). The ids are read back from the observation
    text, which result text could imitate: only trusted catalogues use this.
    """
    def one(n: str) -> str:
        i = int(n)
        return str(seen_ids[i - 1]) if 1 <= i <= len(seen_ids) else n

    return CITATION.sub(lambda m: "[" + re.sub(r"\d+", lambda d: one(d.group()), m.group(1)) + "]"
                        + (m.group("link") or ""), text)


class ScriptedConversation:
    def __init__(self, *, rounds: tuple[str, ...], prompt: str, settings: Settings,
                 renumber: bool = False) -> None:
        self._rounds = rounds
        self._renumber = renumber
        self._settings = settings
        self._dialect = get_dialect(settings.dialect)
        self._parts = [prompt]
        # Source numbers in the order this conversation's observations showed them.
        self._seen_ids: list[int] = []
        self.finish_reason: FinishReason | None = None
        n = approx_tokens(prompt)
        self.usage = Usage(prompt_tokens=n, prefilled_tokens=n, context_tokens=n)

    def generate(self, *, cancel: threading.Event) -> Generator[str, None, None]:
        index = self.usage.rounds
        if index >= len(self._rounds):
            raise BackendError(
                f"the model script has only {len(self._rounds)} round(s) and round {index + 1} "
                "was asked for; add a final answer round to the script"
            )
        self.usage.rounds += 1
        text = self._rounds[index]
        if self._renumber:
            text = renumber_citations(text, self._seen_ids)
        stop = self._dialect.first_stop(text)
        if stop is not None:
            text = text[: stop[0]]
        limit = round_token_limit(self._settings, self.usage.context_tokens)
        self.finish_reason = "tool_call" if stop is not None and stop[1] == "call" else "stop"
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
        for match in _RESULT_ID.finditer(text):
            if int(match.group(1)) not in self._seen_ids:
                self._seen_ids.append(int(match.group(1)))
        splice = self._dialect.splice(text)
        n = approx_tokens(splice)
        self._parts.append(splice)
        self.usage.spliced_tokens += n
        self.usage.prefilled_tokens += n
        self.usage.context_tokens += n

    def add_recorded(self, text: str) -> None:
        n = approx_tokens(text)
        self._parts.append(text)
        self.usage.prefilled_tokens += n
        self.usage.context_tokens += n

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def transcript(self) -> str:
        return "".join(self._parts)

    @property
    def unplayed(self) -> tuple[str, ...]:
        """The rounds the run never asked for."""
        return self._rounds[self.usage.rounds:]


class ScriptedBackend:
    name = "scripted"
    loaded = True  # nothing to load

    def __init__(self, *, rounds: Script | list[str], settings: Settings, model_id: str = "scripted",
                 strict: bool = False) -> None:
        """``strict``: ``check_played`` fails when a conversation left rounds unplayed (tests use it,
        as a scripted model that was meant to be asked more is a test that proves less than it says).
        Demos and ``--model-script`` are lenient: Stop or an early answer leaves rounds over."""
        self._script = Script.of(rounds)
        self._settings = settings
        self.model_id = model_id
        self.strict = strict
        self.conversations: list[ScriptedConversation] = []

    @classmethod
    def from_settings(cls, *, settings: Settings) -> "ScriptedBackend":
        """The registry's factory: the script ``settings.model_script`` names."""
        if not settings.model_script:
            raise ScriptError("the scripted backend needs a model script (--model-script FILE)")
        return cls.from_file(settings.model_script, settings=settings)

    @classmethod
    def from_file(cls, path: str | Path, *, settings: Settings) -> "ScriptedBackend":
        return cls(rounds=load_script(path), settings=settings, model_id=f"script:{Path(path).name}")

    def start(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
              settings: Settings | None = None) -> ScriptedConversation:
        question = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")
        settings = settings or self._settings
        prompt = get_dialect(settings.dialect).render_prompt(messages, tools)
        conv = ScriptedConversation(rounds=self._script.rounds_for(question), renumber=self._script.renumber,
                                    prompt=prompt, settings=settings)
        if self.strict:
            self.conversations.append(conv)
        return conv

    def check_played(self) -> None:
        """Raise ``ScriptLeftOver`` (strict only) naming the rounds a conversation never played."""
        for n, conv in enumerate(self.conversations, 1):
            if conv.unplayed:
                left = "; ".join(repr(r[:60]) for r in conv.unplayed)
                raise ScriptLeftOver(f"conversation {n} left {len(conv.unplayed)} scripted round(s) unplayed: "
                                     f"{left}; remove them, or say the test expects them left over")

    def load(self) -> None:
        pass

    def close(self) -> None:
        pass
