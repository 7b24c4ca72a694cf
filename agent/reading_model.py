"""``--reader model``: Qwen-Agent's parallel document reading (Lv2) picks what BM25 looks for.

Every chunk of an opened page or document (~1000 tokens, a little overlap) goes to the model
with the question and the goal, ``read_concurrency`` at a time; each member answers strict JSON,
``{"res": "ans", "content": "<sentences quoted from the chunk>"}`` or ``{"res": "none"}``. A
quoted sentence that is not in its chunk is dropped (a member may not invent evidence); the
sentences kept become BM25's queries beside the question, so the passages that hold them are
chosen. First, once per run, the model writes keywords for the question, in its language and in
English (Qwen-Agent's keyword step); they are queries too. Stop cancels the members; their
tokens are counted in ``stats.reads.reader_tokens``.
Server backends only: the settings refuse it on the local transformers backend.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Callable

from .backends.base import Backend, BackendError
from .config import Settings
from .read import ReadCancelled, passages_of

MEMBER_TARGET_WORDS = 750  # ~1000 tokens
MEMBER_MAX_WORDS = 900
MEMBER_OVERLAP_WORDS = 25  # ~150 characters, as Qwen-Agent
MEMBER_MAX_TOKENS = 512
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+")
_OBJECT = re.compile(r"\{.*\}", re.S)

MEMBER_PROMPT = """Decide whether the text below helps to answer the question.
Question: {question}
Goal: {goal}

Text:
{chunk}

Reply with strict JSON only, nothing else. If the text helps, reply {{"res": "ans", "content": "..."}} \
with the sentences of the text that matter, copied exactly. Otherwise reply {{"res": "none"}}."""

KEYWORDS_PROMPT = """Write search keywords for finding the answer to this question in a long document.
Question: {question}

Reply with strict JSON only: {{"keywords": [...], "keywords_en": [...]}}: single nouns, verbs, adjectives \
and related terms, first in the question's language, then in English."""

Queries = Callable[[str, str], list[str]]


class ModelReader:
    """Member calls for one run; ``tokens`` counts what they spent."""

    def __init__(self, *, backend: Backend, settings: Settings, question: str, cancel: threading.Event) -> None:
        self.backend, self.question, self.cancel = backend, question, cancel
        self.settings = replace(settings, max_new_tokens=min(settings.max_new_tokens, MEMBER_MAX_TOKENS))
        self.tokens = 0
        self._lock = threading.Lock()
        self._keywords: list[str] | None = None

    def queries(self, text: str, goal: str) -> list[str]:
        """The sentences the members quoted from ``text`` (in text order), for BM25 to look for."""
        chunks = passages_of(text, target_words=MEMBER_TARGET_WORDS, max_words=MEMBER_MAX_WORDS,
                             overlap_words=MEMBER_OVERLAP_WORDS)
        with ThreadPoolExecutor(max_workers=self.settings.read_concurrency) as pool:
            answers = list(pool.map(lambda c: self._member(c.text, goal), chunks))
        if self.cancel.is_set():
            raise ReadCancelled("stopped while the model read")
        return [sentence for found in answers for sentence in found] + self.keywords()

    def keywords(self) -> list[str]:
        """Keywords for the question, in its language and in English, asked once per run
        (Qwen-Agent's keyword step); [] when the model gives none that parse."""
        with self._lock:
            if self._keywords is not None:
                return self._keywords
            self._keywords = []
        reply = self._ask(KEYWORDS_PROMPT.format(question=self.question))
        found = _OBJECT.search(reply.split("</think>")[-1])
        try:
            data = json.loads(found.group()) if found else {}
        except (json.JSONDecodeError, RecursionError):
            data = {}
        words: list[str] = []
        for key in ("keywords", "keywords_en"):
            listed = data.get(key) if isinstance(data, dict) else None
            if isinstance(listed, list):
                words += [w for w in listed if isinstance(w, str)]
        with self._lock:
            self._keywords = [" ".join(w.split())[:60] for w in words[:40] if w.strip()]
            return self._keywords

    def _ask(self, prompt: str) -> str:
        try:
            conv = self.backend.start([{"role": "user", "content": prompt}], [], settings=self.settings)
            reply = "".join(conv.generate(cancel=self.cancel))
        except BackendError:
            return ""
        with self._lock:
            self.tokens += conv.usage.prompt_tokens + conv.usage.generated_tokens
        return reply

    def _member(self, chunk: str, goal: str) -> list[str]:
        if self.cancel.is_set():
            return []
        # A member that fails answers "" and leaves its chunk to BM25 alone.
        return quoted_sentences(self._ask(MEMBER_PROMPT.format(question=self.question, goal=goal or self.question,
                                                               chunk=chunk)), chunk)


def quoted_sentences(reply: str, chunk: str) -> list[str]:
    """The sentences of a member's reply that its chunk holds (spacing aside); [] for ``none``,
    for anything that is not the JSON asked for, and for quotes the chunk does not hold."""
    found = _OBJECT.search(reply.split("</think>")[-1])
    try:
        data = json.loads(found.group()) if found else None
    except (json.JSONDecodeError, RecursionError):
        return []
    if not isinstance(data, dict) or data.get("res") != "ans" or not isinstance(data.get("content"), str):
        return []
    haystack = " ".join(chunk.split()).lower()
    kept = []
    for sentence in _SENTENCE.split(data["content"]):
        text = " ".join(sentence.split())
        if len(text) >= 8 and text.lower() in haystack:
            kept.append(text)
    return kept
