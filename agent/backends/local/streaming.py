"""Incremental detokenization for the generation thread.

transformers' ``TextIteratorStreamer`` decodes every token since the last
newline again on each new token: O(line length) per token, hundreds of
microseconds on a long paragraph. This streamer decodes a small window
instead (the tokens since the last emitted text), so a token costs the same
at the end of a long line as at its start.
"""

from __future__ import annotations

import queue
import time
from typing import Any, Iterator

from transformers.generation.streamers import BaseStreamer

_END = None
_CONTEXT_TOKENS = 4
# Far below what a person notices, and the UI shows at most 20 frames a second anyway.
COALESCE_S = 0.01


class TokenStreamer(BaseStreamer):
    """Receives token ids from ``generate`` and yields text deltas to a consumer thread.

    The prompt (the first ``put``) is skipped; special tokens (``<|im_end|>``)
    are dropped, while QwQ's think and tool tags, which are ordinary added
    tokens, stay in the text. A delta is held back while it ends in an
    incomplete UTF-8 sequence (decoded as U+FFFD).
    """

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self._ids: list[int] = []
        self._start = 0  # first id of the window not yet turned into text
        self._prompt_seen = False
        self._queue: queue.Queue[str | None] = queue.Queue()

    def put(self, value: Any) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self._ids.extend(int(i) for i in value.reshape(-1).tolist())
        text = self._decode(self._start)
        if text and not text.endswith("\ufffd"):
            self._start = len(self._ids)
            self._queue.put(text)

    def end(self) -> None:
        text = self._decode(self._start)
        self._start = len(self._ids)
        if text:
            self._queue.put(text)
        self._queue.put(_END)

    def __iter__(self) -> Iterator[str]:
        while (text := self._queue.get()) is not _END:
            yield text

    def coalesced(self, pause_s: float = COALESCE_S) -> Iterator[str]:
        """The same text, each delta holding whatever arrived since the last one.

        Waking for every token makes the consumer fight the generation thread for
        the GIL; pausing ``pause_s`` between deltas lets tokens pile up instead.
        """
        while True:
            parts = [self._queue.get()]
            while parts[-1] is not _END:
                try:
                    parts.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            ended = parts[-1] is _END
            text = "".join(p for p in parts if p is not _END)
            if text:
                yield text
            if ended:
                return
            time.sleep(pause_s)

    def _decode(self, start: int) -> str:
        # A few tokens of context before the window, subtracted again: some
        # tokenizers (SentencePiece) drop a leading space when a window starts cold.
        ctx = max(0, start - _CONTEXT_TOKENS)
        before = self._tokenizer.decode(self._ids[ctx:start], skip_special_tokens=True)
        both = self._tokenizer.decode(self._ids[ctx:], skip_special_tokens=True)
        return both[len(before):]
