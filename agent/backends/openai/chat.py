"""A QwQ conversation through chat completions: the server renders the template each round.

Each round is one streaming ``POST /v1/chat/completions`` with ``tools=[web_search]``;
``RoundReader`` (``stream.py``) turns the deltas back into the raw text the local
model would have written. Between rounds the call and its result are appended
as messages: a ``tool_calls`` turn and a ``tool`` message when the server's tool
parser saw the call, the raw ``<tool_call>`` text and a ``<tool_response>`` user
turn when it did not.
"""

from __future__ import annotations

from typing import Any, Iterator

from ...config import Settings
from ...dialects.qwq import tool_response_splice
from ...prompt import render_prompt
from ..base import FinishReason, approx_tokens
from .link import RoundLink
from .round import RoundConversation, Server
from .stream import CALL_OPEN, Round, RoundReader


class OpenAIConversation(RoundConversation[Round]):
    def __init__(self, *, backend: Server, messages: list[dict[str, Any]],
                 tools: list[dict[str, Any]], settings: Settings) -> None:
        self._tools = tools
        self._messages: list[dict[str, Any]] = [dict(m) for m in messages]
        super().__init__(backend=backend, settings=settings, prompt=render_prompt(self._messages, tools))
        self._reader: RoundReader | None = None
        # Recorded text of the round in progress (a fork's prefix): the assistant's words so far.
        self._recorded: list[str] = []

    def _new_round(self, limit: int) -> Round:
        return Round(limit=limit)

    def _send(self, max_tokens: int) -> tuple[Any, int]:
        b = self._backend
        return b.send(lambda m: b.client.chat.completions.create(**self._request(m)),
                      max_tokens=max_tokens, settings=self._settings,
                      serves="is an OpenAI-compatible chat completions server")

    def _request(self, max_tokens: int) -> dict[str, Any]:
        b = self._backend
        if not self._recorded:
            return b.chat_request(self._messages, self._tools, settings=self._settings, max_tokens=max_tokens)
        # A fork continues a recorded round: the server goes on writing the assistant's last message
        # (vLLM's and SGLang's continue_final_message) instead of starting a new one.
        body = b.chat_request([*self._messages, {"role": "assistant", "content": "".join(self._recorded)}],
                              self._tools, settings=self._settings, max_tokens=max_tokens)
        body["extra_body"] = {**body.get("extra_body", {}), "continue_final_message": True,
                              "add_generation_prompt": False}
        return body

    def add_recorded(self, text: str) -> None:
        self._recorded.append(text)
        self._log.append(text)
        self.usage.context_tokens += approx_tokens(text)

    def _read(self, stream: Any, link: RoundLink) -> Iterator[str]:
        self._reader = RoundReader(self._current(), usage=self.usage, log=self._log, link=link,
                                   url=self._backend.display_url, round_no=self.usage.rounds)
        return self._reader.read(stream)

    def _finished(self, link: RoundLink) -> FinishReason:
        if self._reader is None:
            raise RuntimeError("no round was read: _finished runs after _read inside generate()")
        return self._reader.finish_reason()

    def add_tool_result(self, text: str) -> None:
        r = self._round or Round(limit=0)
        before, self._recorded = "".join(self._recorded), []
        if before:  # the round began with recorded text: it is part of what the assistant said
            r.content.insert(0, before)
            r.raw.insert(0, before)
        call = r.call
        if call is not None:
            call.id = call.id or f"call_{self.usage.rounds}"
            self._messages += [
                # Content must be a string: the QwQ template calls .split() on it.
                {"role": "assistant", "content": "".join(r.content),
                 "tool_calls": [{"id": call.id, "type": "function",
                                 "function": {"name": call.name, "arguments": call.arguments}}]},
                {"role": "tool", "tool_call_id": call.id, "content": text},
            ]
        else:
            # Raw <tool_call> text: send it back as the assistant's words and the result
            # as the user turn the template renders for a tool message. A "tool" message
            # would need a tool_call_id this call never had, and some servers reject that.
            said, raw = "".join(r.content), "".join(r.raw)
            if CALL_OPEN not in said and CALL_OPEN in raw:
                said = raw[raw.rfind(CALL_OPEN):]  # the call was made inside the thinking
            self._messages += [{"role": "assistant", "content": said},
                               {"role": "user", "content": f"<tool_response>\n{text}\n</tool_response>"}]
        self._spliced(tool_response_splice(text))
        self._round = None

