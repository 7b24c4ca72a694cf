"""The baseline of ``bench/load.py``: a minimal ``gr.Blocks`` chat over the same server.

What a plain Gradio tutorial chat does: one ``gr.Chatbot``, a handler that
streams a chat completion with the ``openai`` client and yields the whole
history after every chunk (thinking and answer as text in one message). A tool
call is answered with a canned result and a second request, so the baseline
streams exactly the tokens the app streams. Nothing else: no engine, no
panels, no traces, no reports.

Run: ``python bench/load_baseline.py --port 7861 --base-url http://127.0.0.1:8001/v1``
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Iterator

import gradio as gr
import openai

TOOLS = [{"type": "function", "function": {
    "name": "web_search", "description": "Search the web.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}]
CANNED_RESULT = "[1] Example source: the tower is about 330 metres tall."


def build(base_url: str, model: str) -> gr.Blocks:
    client = openai.OpenAI(base_url=base_url, api_key="EMPTY", timeout=60.0)

    def chat(message: str, history: list[dict[str, Any]]) -> Iterator[tuple[str, list]]:
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
        messages: list[dict[str, Any]] = [{"role": m["role"], "content": str(m["content"])}
                                          for m in history[:-1]]
        text = ""
        for _round in range(2):
            call = ""
            stream = client.chat.completions.create(model=model, messages=messages, tools=TOOLS, stream=True)
            for chunk in stream:
                delta = chunk.choices[0].delta if chunk.choices else None
                if delta is None:
                    continue
                piece = getattr(delta, "reasoning_content", None) or delta.content
                if piece:
                    text += piece
                    history[-1] = {"role": "assistant", "content": text}
                    yield "", history
                for tc in delta.tool_calls or []:
                    if tc.function is not None and tc.function.arguments:
                        call += tc.function.arguments
            if not call:
                return
            messages += [
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "web_search", "arguments": call}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": CANNED_RESULT},
            ]
            text += f"\n\n(searched: {json.loads(call).get('query', '')})\n\n"

    with gr.Blocks(title="Baseline chat") as demo:
        chatbot = gr.Chatbot(label="Chat")
        msg = gr.Textbox(label="Message")
        msg.submit(chat, [msg, chatbot], [msg, chatbot], api_name="chat")
    return demo


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--model", default="fake-qwq")
    p.add_argument("--concurrency", type=int, default=8, help="answers streamed at once")
    p.add_argument("--queue-size", type=int, default=16, help="waiting requests before 'busy'")
    a = p.parse_args(argv)
    demo = build(a.base_url, a.model)
    demo.queue(default_concurrency_limit=a.concurrency, max_size=a.queue_size)
    demo.launch(server_name="127.0.0.1", server_port=a.port, quiet=True, show_error=False)


if __name__ == "__main__":
    main()
