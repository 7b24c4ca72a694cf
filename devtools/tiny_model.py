"""A tiny random stand-in for Qwen/QwQ-32B, built offline in about a second.

Same architecture class (Qwen2ForCausalLM), same chat template and the same
added tokens as single ids, so backend code is exercised exactly as it would be
on the real model; only the weights are noise and the vocabulary is small.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

REPO_ROOT = Path(__file__).resolve().parent.parent
CHAT_TEMPLATE = REPO_ROOT / "assets" / "qwq_chat_template.jinja"

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Not special in the real tokenizer: skip_special_tokens keeps them in text.
TAG_TOKENS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"]

VOCAB_SIZE = 1000

# A few KB of ordinary text in the shape the agent produces: prose, questions,
# JSON tool calls, citations. Enough for BPE to learn common English merges.
CORPUS = """\
The quick brown fox jumps over the lazy dog. A search engine finds pages on the web.
What is the capital of France? The capital of France is Paris, a city on the Seine.
Let me think about this step by step. First, I need to find recent information.
I should search the web for the latest results before I answer the question.
The user asks about the tallest building in the world. I will look it up.
According to the sources, the Burj Khalifa in Dubai is the tallest building [1].
It was completed in 2010 and stands 828 metres high, with 163 floors [2].
The model reads the search results and writes an answer with numbered citations.
Each source has a title, a url and some content taken from the page.
{"name": "web_search", "arguments": {"query": "tallest building in the world"}}
{"name": "web_search", "arguments": {"query": "population of Tokyo 2024"}}
{"action": "web_search", "action_input": {"query": "who won the world cup"}}
Search results: 1. Wikipedia - https://en.wikipedia.org/wiki/Main_Page
2. News article - https://www.example.com/news/2024/story.html
The weather today is sunny with a light breeze and a high of twenty degrees.
Water boils at one hundred degrees Celsius at sea level, and freezes at zero.
The Earth orbits the Sun once every year, and the Moon orbits the Earth monthly.
Python is a programming language that is easy to read and write.
Machine learning models are trained on large amounts of text and data.
A language model predicts the next token given the previous tokens in a sequence.
Reasoning models think before they answer, and they can call tools such as search.
You are a helpful assistant. Answer the question using the search results below.
If the results do not contain the answer, say that you could not find it.
Cite every claim with the number of its source in square brackets, like [1] or [2].
Wait, that does not look right. Let me check the numbers again carefully.
So the answer is forty two. Hmm, but maybe I should verify it with another search.
Okay, I have enough information now. Let me write the final answer for the user.
The history of the printing press begins in the fifteenth century in Germany.
Johannes Gutenberg built a press with movable type around the year 1440.
Books became cheaper, and more people learned to read and write in Europe.
The first computers filled whole rooms and used vacuum tubes instead of chips.
Today a phone in your pocket is far more powerful than those early machines.
Scientists study the stars, the planets and the galaxies far beyond our own.
Light from the Sun takes about eight minutes to reach the surface of the Earth.
0 1 2 3 4 5 6 7 8 9 10 100 1000 2020 2021 2022 2023 2024 2025 % $ # @ & * + - = / \\ | ~
"""


def _train_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    # Byte-level like Qwen2's: any text (web pages, emoji) encodes without <unk>.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=1,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=SPECIAL_TOKENS,
    )
    # Repeated so frequent words win merges; the text itself stays a few KB.
    tok.train_from_iterator([CORPUS] * 4, trainer=trainer)
    return tok


def build_tiny_model(path: Path, *, seed: int = 0, without: tuple[str, ...] = ()) -> Path:
    """Save a tiny random Qwen2 model and a QwQ-like tokenizer into ``path``; the tag tokens in
    ``without`` are left out of the vocabulary (a tokenizer that spells them in pieces)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_tokenizer(),
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        unk_token=None,
        bos_token=None,
        model_max_length=4096,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    tags = [t for t in TAG_TOKENS if t not in without]
    tokenizer.add_tokens(tags, special_tokens=False)
    tokenizer.chat_template = CHAT_TEMPLATE.read_text(encoding="utf-8")

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS + tags}
    # Multiple of 64 like real checkpoints; must cover every added token.
    vocab_size = -(-len(tokenizer) // 64) * 64
    config = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).eval()
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]

    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


if __name__ == "__main__":  # handy for poking at it: python -m devtools.tiny_model DIR
    import sys

    print(build_tiny_model(Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-qwq")))
