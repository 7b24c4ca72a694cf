"""One question's conversation with a loaded local model: its append-only token ids and the KV
cache that mirrors them (after a tool call only the spliced tail is prefilled), each round
generated in a thread and stopped within a token by ``_RoundWatch``."""

from __future__ import annotations

import logging
import threading
from typing import Any, Generator, Iterator, cast

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from agent.backends.base import BackendError, FinishReason, Usage, round_token_limit
from agent.backends.local.gate import GenerationGate
from agent.backends.local.kv_cache import generate_kwargs as kv_generate_kwargs, new_cache
from agent.backends.local.stops import RoundStops
from agent.backends.local.streaming import TokenStreamer
from agent.config import Settings
from agent.dialects import Dialect

log = logging.getLogger(__name__)


def short_error(exc: BaseException, limit: int = 300) -> str:
    """``exc`` as one line of at most ``limit`` characters, for a message a person reads."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _RoundWatch(StoppingCriteria):
    """Called once per generated token: counts it and honours stop requests."""

    def __init__(self, *, events: tuple[threading.Event, ...], start_len: int, usage: Usage) -> None:
        self._events = events
        self._start_len = start_len
        self._usage = usage
        self._base = usage.generated_tokens

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        self._usage.generated_tokens = self._base + input_ids.shape[-1] - self._start_len
        done = any(e.is_set() for e in self._events)
        # torch types every tensor as ``Tensor``; transformers names a bool one ``BoolTensor``.
        return cast(torch.BoolTensor, torch.full((input_ids.shape[0],), done, dtype=torch.bool,
                                                 device=input_ids.device))


class TransformersConversation:
    """One question's append-only token sequence and the KV cache that mirrors it."""

    def __init__(self, *, model: Any, tokenizer: Any, settings: Settings, ids: list[int],
                 dialect: Dialect, stops: RoundStops, gate: GenerationGate | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self._settings = settings
        self._ids = list(ids)
        self._dialect = dialect
        self.stops = stops
        self.cache = new_cache(self.model, self._settings)
        self.usage = Usage(prompt_tokens=len(ids), context_tokens=len(ids))
        self.finish_reason: FinishReason | None = None
        self._busy = threading.Lock()
        self._gate = gate or GenerationGate()  # the backend's: one generation per loaded model

    @property
    def ids(self) -> list[int]:
        return list(self._ids)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def transcript(self) -> str:
        return self.tokenizer.decode(self._ids, skip_special_tokens=False)

    def add_tool_result(self, text: str) -> None:
        # Appending ids (never re-rendering) keeps every cached token valid.
        new = self.tokenizer.encode(self._dialect.splice(text), add_special_tokens=False)
        self._ids.extend(new)
        self.usage.spliced_tokens += len(new)
        self.usage.context_tokens = len(self._ids)

    def add_recorded(self, text: str) -> None:
        # Only ids: the next round prefills them with the rest of the uncached tail, one forward.
        self._ids.extend(self.tokenizer.encode(text, add_special_tokens=False))
        self.usage.context_tokens = len(self._ids)

    def generate(self, *, cancel: threading.Event) -> Generator[str, None, None]:
        if not self._busy.acquire(blocking=False):
            raise BackendError("this conversation is already generating; wait for the round to finish")
        try:
            yield from self._generate(cancel)
        finally:
            self._busy.release()

    def _generate(self, cancel: threading.Event) -> Iterator[str]:
        s = self._settings
        self.finish_reason = None
        before = len(self._ids)
        max_new = round_token_limit(s, before)
        generated_before = self.usage.generated_tokens
        closed = threading.Event()  # the consumer went away (Stop in the UI)
        streamer = TokenStreamer(self.tokenizer)
        watch = _RoundWatch(events=(cancel, closed), start_len=before, usage=self.usage)
        gen_kwargs = self._generate_kwargs(before, max_new, watch=watch, streamer=streamer)
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                with torch.inference_mode():
                    out = self.model.generate(**gen_kwargs)
                result["new"] = out[0, before:].tolist()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer thread
                result["error"] = exc
                streamer.end()  # unblock the consumer's queue
            finally:
                self._gate.leave()  # only now may another generate start on this model

        # A stopped round's generate may still be in prefill, which no stop request cuts short.
        if not self._gate.enter(cancel):
            self.finish_reason = "cancelled"
            return
        # Only the tail the cache has not seen is prefilled: that is the KV reuse.
        self.usage.prefilled_tokens += before - int(self.cache.get_seq_length())
        self.usage.rounds += 1
        thread = threading.Thread(target=run, name="transformers-generate", daemon=True)
        try:
            thread.start()
        except BaseException:
            self._gate.leave()
            raise
        finished = False
        try:
            for chunk in streamer.coalesced():
                yield chunk
            finished = True
        finally:
            if not finished:
                closed.set()
            thread.join()
            self._finish_round(result, generated_before, cancelled=cancel.is_set() or closed.is_set())
        if "error" in result:
            raise BackendError(self._describe_error(result["error"], before)) from None

    def _generate_kwargs(self, before: int, max_new: int, *, watch: _RoundWatch,
                         streamer: TokenStreamer) -> dict[str, Any]:
        s, device, pad = self._settings, self.model.device, self.tokenizer.pad_token_id
        kwargs: dict[str, Any] = dict(
            # All ids so far + the same cache: generate prefills only the uncached tail.
            input_ids=torch.tensor([self._ids], dtype=torch.long, device=device),
            attention_mask=torch.ones((1, before), dtype=torch.long, device=device),
            past_key_values=self.cache, use_cache=True, max_new_tokens=max_new,
            eos_token_id=self.stops.eos_ids,
            pad_token_id=self.stops.end_ids[0] if pad is None else pad,
            stopping_criteria=StoppingCriteriaList([watch]), streamer=streamer,
            **kv_generate_kwargs(self._settings),
        )
        if self.stops.stop_strings:
            kwargs.update(stop_strings=list(self.stops.stop_strings), tokenizer=self.tokenizer)
        if s.temperature > 0:
            kwargs.update(do_sample=True, temperature=s.temperature, top_p=s.top_p, top_k=s.top_k)
        else:  # None overrides QwQ's sampling defaults, which greedy would warn about
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kwargs

    def _finish_round(self, result: dict[str, Any], generated_before: int, *, cancelled: bool) -> None:
        new: list[int] | None = result.get("new")
        if new is None:
            # A failed forward may have written some layers and not others.
            self.cache = new_cache(self.model, self._settings)
            self.usage.generated_tokens = generated_before
            log.warning("generation failed", exc_info=result.get("error"))
            self.finish_reason = "cancelled" if cancelled else None
            return
        self._ids.extend(new)
        self.usage.generated_tokens = generated_before + len(new)
        self.usage.context_tokens = len(self._ids)
        self.finish_reason = "cancelled" if cancelled else self._stopped_by(new)

    def _stopped_by(self, new: list[int]) -> FinishReason:
        if new and new[-1] in self.stops.end_ids:
            return "stop"
        # A stop string may end inside the last token (">\n\n"): read it as text.
        hit = self._dialect.first_stop(self.tokenizer.decode(new, skip_special_tokens=True))
        if hit is None:
            return "length"
        return "tool_call" if hit[1] == "call" else "stop"

    def _describe_error(self, exc: BaseException, context: int) -> str:
        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return (
                f"the GPU ran out of memory generating with {context} tokens in context; lower "
                "--max-new-tokens or DEEPSEARCH_CONTEXT_LIMIT, ask a shorter question, or use a bigger GPU"
            )
        return f"generation failed ({type(exc).__name__}: {short_error(exc)}); try again or restart the app"
