"""The incremental detokenizer: same text as decoding everything at once."""

import threading

import torch
from transformers import AutoTokenizer

from agent.backends.streaming import TokenStreamer


def stream(tokenizer, ids, prompt=(1, 2, 3)):
    streamer = TokenStreamer(tokenizer)
    out = []
    reader = threading.Thread(target=lambda: out.extend(streamer))
    reader.start()
    streamer.put(torch.tensor([list(prompt)]))  # the prompt, as generate() sends it first
    for i in ids:
        streamer.put(torch.tensor([i]))
    streamer.end()
    reader.join(5)
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
