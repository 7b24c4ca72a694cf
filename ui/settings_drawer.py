"""The settings drawer over the chat: what runs the answers (backend, model, search), the
settings a visitor may change for their session, the documents panel and trace replay."""

from __future__ import annotations

from typing import Any

import gradio as gr

from agent.api import PROVIDERS, display_url

from .citations import escape_text
from .documents_panel import build_documents_panel
from .runtime import Runtime


def settings_info(runtime: Runtime) -> str:
    s = runtime.settings
    backend = "demo (scripted)" if runtime.label else s.backend
    spec = PROVIDERS.get(s.provider)
    if s.provider == "auto":
        search_text = "Tavily (key configured ✓)" if s.has_tavily_key else "DuckDuckGo (no Tavily key is configured)"
    elif spec is not None:
        search_text = spec.label + (" (offline)" if spec.offline else "")
    else:
        search_text = s.provider
    lines = [
        f"**Backend:** {escape_text(backend)} · **Model:** {escape_text(runtime.model_label(), limit=120)}",
        f"**Search:** {escape_text(search_text)}",
    ]
    if runtime.replaced:
        lines.append(f"**Demo mode:** {escape_text(runtime.replaced, limit=300)}")
    if s.backend == "openai" and s.base_url:
        lines.append(f"**Server:** {escape_text(display_url(s.base_url), limit=120)}")
    return "  \n".join(lines)


def provider_choices(s: Any, *, demo: bool = False) -> list[tuple[str, str]]:
    """The dropdown's choices: every registered provider the settings can use (``offered_if``); in
    demo mode not the visitor's uploads, which the recorded answers never search."""
    return [(spec.choice, spec.name) for spec in PROVIDERS.values()
            if spec.offered(s) and not (demo and spec.app_only)]


def settings_controls(runtime: Runtime) -> list[gr.components.Component]:
    s = runtime.settings
    with gr.Accordion("Search and model", open=True, elem_id="settings"):
        gr.Markdown(settings_info(runtime), elem_id="settings-info")
        # One control a line: the drawer is narrow, and the provider's names are long.
        provider = gr.Dropdown(provider_choices(s, demo=bool(runtime.label)), value=s.provider, label="Search provider",
                               elem_id="set-provider")
        max_searches = gr.Slider(0, max(10, s.max_searches), step=1, value=s.max_searches,
                                 label="Max searches per question", elem_id="set-max-searches")
        results = gr.Slider(1, max(10, s.results_wanted), step=1, value=s.results_wanted,
                            label="Results per search", elem_id="set-results")
        # Every range holds the configured value: Gradio refuses a value outside its slider,
        # which would fail every question of an app started with e.g. --max-new-tokens 100.
        temperature = gr.Slider(0.0, max(1.5, s.temperature), step=0.05, value=s.temperature,
                                label="Temperature", elem_id="set-temperature")
        max_new = gr.Slider(min(256, s.max_new_tokens), max(32768, s.max_new_tokens), step=256,
                            value=s.max_new_tokens, label="Max new tokens per round", elem_id="set-max-new-tokens")
        read = gr.Dropdown(read_choices(s.read_top), value=s.read, label="Read pages", elem_id="set-read")
        check = gr.Dropdown(CHECK_CHOICES, value=s.check_claims, label="Check claims against their sources",
                            elem_id="set-check-claims")
    return [max_searches, provider, results, temperature, max_new, read, check]


# The claims check (issue 23): (label, --check-claims value).
CHECK_CHOICES = [("Words and figures (free, instant)", "lexical"),
                 ("Also ask the model (judge server or OpenAI-compatible backend)", "judge"), ("Off", "off")]


def read_choices(top: int) -> list[tuple[str, str]]:
    """The Read pages setting: (label, --read value)."""
    return [(f"Top {top} of each search, and on request", "auto"), ("Only on request (open_page)", "ask"),
            ("Off: snippets only", "off")]


def build_drawer(runtime: Runtime, session: gr.State) -> tuple[list[gr.components.Component], gr.UploadButton]:
    """Settings, documents and trace replay in a drawer over the chat (style.css), so the page itself
    never grows past the window; returns the settings' controls and the replay upload."""
    with gr.Column(elem_id="tools"):
        with gr.Row(elem_id="tools-head", equal_height=True):
            gr.HTML('<h2 id="tools-title">Settings</h2>', padding=False)
            gr.Button("✕", size="sm", scale=0, min_width=0, elem_id="tools-close")  # named by ui.js
        controls = settings_controls(runtime)
        upload = gr.UploadButton("Replay a trace", file_types=[".jsonl"], size="sm", elem_id="replay-upload")
        provider = controls[1]
        assert isinstance(provider, gr.Dropdown)  # the search provider: its "only my documents" box sets it
        build_documents_panel(runtime, session=session, provider=provider)
    return controls, upload
