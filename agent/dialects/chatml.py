"""The ChatML prompt of the Qwen2.5 family, for backends that have no tokenizer.

Search-R1 and ReSearch publish Qwen2.5-based checkpoints; their inference
scripts render the question through the model's own chat template. With a
tokenizer at hand (the transformers backend) that template is used; a
completions server or a script gets this rendering of it instead.
"""

from __future__ import annotations

from typing import Any

# What Qwen2.5's template puts first when the messages have no system turn.
QWEN25_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def render_chatml(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> str:
    """``messages`` as Qwen2.5 renders them, ending with the open assistant turn.

    ``tools`` is accepted for the ``Dialect.render_prompt`` shape; these protocols
    describe their one tool in the prompt text, so it must be empty.
    """
    if tools:
        raise ValueError(f"the ChatML rendering takes no tool schemas, got {len(tools)}")
    turns = list(messages)
    if not turns or turns[0].get("role") != "system":
        turns.insert(0, {"role": "system", "content": QWEN25_DEFAULT_SYSTEM})
    parts = [f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in turns]
    return "".join(parts) + "<|im_start|>assistant\n"
