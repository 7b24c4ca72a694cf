"""The incremental detokenizer: same text as decoding everything at once."""

import threading

import torch
from transformers import AutoTokenizer

from agent.backends.local.streaming import TokenStreamer
from tests.waiting import wait_until


def stream(tokenizer, ids, prompt=(1, 2, 3)):
    streamer = TokenStreamer(tokenizer)
    out = []
    reader = threading.Thread(target=lambda: out.extend(streamer))
    reader.start()
    streamer.put(torch.tensor([list(prompt)]))  # the prompt, as generate() sends it first
    for i in ids:
        streamer.put(torch.tensor([i]))
    streamer.end()
    reader.join(30)
    assert not reader.is_alive(), "the reader never saw the stream end"
    return out


def test_streamed_text_equals_one_decode_including_multibyte_and_tags(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = ("Thinking about café, 東京 and 🚀 rockets…\n</think>\n\n<tool_call>\n"
            '{"name": "web_search"}\n</tool_call><|im_end|>')
    ids = tok.encode(text, add_special_tokens=False)
    chunks = stream(tok, ids)
    assert "".join(chunks) == tok.decode(ids, skip_special_tokens=True)
    assert "<|im_end|>" not in "".join(chunks) and "</tool_call>" in "".join(chunks)
    assert all("\ufffd" not in c for c in chunks)  # split UTF-8 is held back, never shown broken
    assert len(chunks) > 10  # it really streams


def test_prompt_is_skipped(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompt = tok.encode("SECRET PROMPT", add_special_tokens=False)
    assert "".join(stream(tok, tok.encode(" hi", add_special_tokens=False), prompt=prompt)) == " hi"


def test_coalesced_deltas_hold_everything_that_arrived_meanwhile(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = tok.encode("Thinking about café, 東京 and 🚀 rockets…\n</think>\n\nDone.", add_special_tokens=False)
    streamer = TokenStreamer(tok)
    streamer.put(torch.tensor([[1, 2, 3]]))
    for i in ids:  # all of it queued before the consumer looks
        streamer.put(torch.tensor([i]))
    streamer.end()
    chunks = list(streamer.coalesced(pause_s=0))
    assert chunks == [tok.decode(ids, skip_special_tokens=True)]  # one delta, not one per token


def test_coalesced_stream_keeps_up_with_a_slow_producer(tiny_model_dir):
    """A slow model (every real GPU one): each token is shown as it comes, never held for the next."""
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = tok.encode("one two three four five six", add_special_tokens=False)
    streamer = TokenStreamer(tok)
    out: list[str] = []
    reader = threading.Thread(target=lambda: [out.append(c) for c in streamer.coalesced(pause_s=0.001)])
    reader.start()
    streamer.put(torch.tensor([[1, 2, 3]]))
    for n, i in enumerate(ids, start=1):
        streamer.put(torch.tensor([i]))
        # the next token only once this one is out
        wait_until(lambda n=n: len(out) >= n, f"token {n} delivered on its own, before token {n + 1} is made")
        assert len(out) == n, f"token {n} was not delivered on its own: {out!r}"
    streamer.end()
    reader.join(5)
    assert "".join(out) == tok.decode(ids, skip_special_tokens=True)
