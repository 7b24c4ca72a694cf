"""The Blocks layout and its event wiring. Handlers are thin: they validate input,
hand the question to the engine and map its events with ``AnswerView``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from agent.api import (Error, InputError, SearchStart, Settings, SettingsError, TraceError, display_url,
                       read_trace, replay, validate_question)

from .citations import escape_text
from .documents_panel import PASSAGE_JS, build_documents_panel
from .recording import Recorder
from .runtime import Runtime
from .session import UISession, interruptible_sleep
from .history import mark_stopped, normalise_history
from .mapper import AnswerView

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CSS_PATH = ASSETS / "style.css"
TITLE = "Deep Search"
SUBTITLE = ("A reasoning model thinks out loud, searches the web and answers with numbered "
            "sources you can check.")
# The demo mode has a scripted run for each of these (assets/demo/scripts.json).
EXAMPLES = [
    "How tall is the Eiffel Tower, and has its height changed over time?",
    "When was the first transatlantic telegraph cable completed?",
    "Why is the sky blue?",
]
REPLAY_LABEL = "Replay of a recorded trace"
PROVIDERS = [("Auto (Tavily with a key, else DuckDuckGo)", "auto"), ("Tavily", "tavily"),
             ("DuckDuckGo", "duckduckgo")]
LOGO = ('<svg class="logo" viewBox="0 0 24 24" width="30" height="30" aria-hidden="true" fill="none" '
        'stroke="currentColor" stroke-width="2.2" stroke-linecap="round"><circle cx="10.5" cy="10.5" r="6.5"/>'
        '<path d="M15.5 15.5 21 21"/><path d="M8 10.5h5M10.5 8v5" stroke-width="1.6"/></svg>')
EXPORT_CACHE_S = (1800, 3600)  # every 30 min, delete Gradio's cached downloads older than an hour
N_OUT = 7  # msg, chatbot, meter, state, 3 downloads
STOP_WAIT_S = 2.0  # Stop's reply waits at most this for the answer's handler (its grace is 1 s)


def _clean(exc: BaseException) -> str:
    text = str(exc).strip() or "that did not work"
    return text[0].upper() + text[1:]


def _stopped_meter(session: UISession) -> str:
    return f"{session.last_meter.split(' · ')[0]} · stopped"


def _frame(view: AnswerView, history: list[Any], session: UISession, *, keep_state: bool = True,
           files: Any = "streaming", meter: str | None = None) -> tuple:
    """One update of (msg, chatbot, meter, state, downloads x3) while an answer streams.

    While it streams the downloads stay as the run's first frame left them (hidden, empty), and
    a plain ``None`` says so for free: ``gr.skip()`` is a props update, for which Gradio rebuilds
    the DownloadButton and regenerates its JSON schema on every frame (40% of the app's CPU at
    one session, bench/load.py under py-spy). The question box still gets ``gr.skip()``: a value
    would overwrite what the person is typing.
    """
    session.last_meter = meter or view.meter()
    downloads = (None,) * 3 if files == "streaming" else _downloads(session, files)
    return (gr.skip(), history + view.messages(), session.last_meter,
            gr.skip() if keep_state else session, *downloads)


def _downloads(session: UISession, paths: tuple[str | None, str | None, str | None] | None) -> tuple:
    """The buttons for a finished answer's files, or hidden for a new one. Showing or hiding
    is a props update (a rebuilt component each), so buttons already hidden just get ``None``."""
    if paths is None:
        shown, session.downloads_shown = session.downloads_shown, False
        return (gr.DownloadButton(value=None, visible=False),) * 3 if shown else (None,) * 3
    session.downloads_shown = any(p is not None for p in paths)
    return tuple(gr.DownloadButton(value=p, visible=p is not None) for p in paths)


class Handlers:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    # -- asking ------------------------------------------------------------

    def _settings(self, max_searches: Any, provider: Any, results: Any, temperature: Any,
                  max_new_tokens: Any) -> Settings:
        try:
            return self.rt.settings.with_overrides(
                max_searches=None if max_searches is None else int(max_searches),
                provider=provider or None,
                results_per_search=None if results is None else int(results),
                temperature=None if temperature is None else float(temperature),
                max_new_tokens=None if max_new_tokens is None else int(max_new_tokens),
            )
        except (SettingsError, TypeError, ValueError) as exc:
            raise gr.Error(_clean(exc), title="Settings not applied", print_exception=False) from None

    def ask(self, message: str, history: list[Any] | None, session: UISession | None,
            max_searches: Any = None, provider: Any = None, results: Any = None,
            temperature: Any = None, max_new_tokens: Any = None) -> Iterator[tuple]:
        text = (message or "").strip()
        if not text:
            yield (gr.skip(),) * N_OUT
            return
        settings = self._settings(max_searches, provider, results, temperature, max_new_tokens)
        try:
            text = validate_question(text, settings)
        except InputError as exc:
            raise gr.Error(_clean(exc), title="Question not sent", print_exception=False) from None
        history = list(history or [])
        if session is None:
            session = UISession(self.rt, history=normalise_history(
                history, max_turns=self.rt.settings.max_history_turns))
        cancel = session.begin()
        try:
            try:
                session.configure(settings)
            except (ValueError, SettingsError) as exc:
                raise gr.Error(_clean(exc), title="Settings not applied", print_exception=False) from None
            history.append(gr.ChatMessage(role="user", content=text))
            view = AnswerView(max_searches=settings.max_searches, label=self.rt.label, secrets=self.rt.secrets)
            yield ("", *_frame(view, history, session, keep_state=False, files=None)[1:])
            ready = yield from self._await_model(view, history, session, cancel)
            if not ready:
                return
            try:
                events = session.chat.ask(text, cancel=cancel)
            except InputError as exc:
                raise gr.Error(_clean(exc), title="Question not sent", print_exception=False) from None
            recorder = Recorder(session.new_export_dir(), question=text, runtime=self.rt, settings=settings)
            for batch in session.stream(events, cancel, recorder=recorder):
                for event in batch:
                    view.feed(event)
                if not view.finished:  # the finished view comes once, as the last update
                    yield _frame(view, history, session)
            files = recorder.reports() if view.finished else None
            if recorder.run is not None:
                session.conversation.add(*recorder.run)
            if not view.finished:
                view.mark_stopped()
            yield _frame(view, history, session, keep_state=False, files=files)
        finally:
            session.end(cancel)  # Stop or a closed tab closes this generator: end generation for real

    def conversation_files(self, session: UISession | None) -> list[Any]:
        """The two whole-conversation downloads, rewritten after each answer. Once shown they
        stay shown, and a plain path is enough: no rebuilt buttons (see ``_downloads``)."""
        paths = session.conversation.write(session.export_dir()) if session is not None else (None, None)
        if session is not None and session.conversation_shown and all(paths):
            return list(paths)
        if session is not None:
            session.conversation_shown = all(paths)
        return [gr.DownloadButton(value=p, visible=p is not None) for p in paths]

    def ask_example(self, evt: gr.SelectData, history: list[Any] | None, session: UISession | None,
                    *controls: Any) -> Iterator[tuple]:
        value = evt.value
        text = value.get("text", "") if isinstance(value, dict) else str(value or "")
        yield from self.ask(text, history, session, *controls)

    def _await_model(self, view: AnswerView, history: list[Any], session: UISession,
                     cancel: Any) -> Iterator[tuple]:
        loader = self.rt.loader
        if not loader.ready:
            loader.start()
            while not loader.wait(0.5):
                if cancel.is_set():
                    view.mark_stopped()
                    yield _frame(view, history, session)
                    return False
                view.set_notice("Waiting for the model", loader.status())
                yield _frame(view, history, session, meter="loading the model…")
            view.set_notice(None)
        if loader.error:
            view.feed(Error(message=loader.error))
            yield _frame(view, history, session)
            return False
        return True

    # -- stop --------------------------------------------------------------

    def stop(self, history: list[Any] | None, session: UISession | None) -> tuple:
        if session is None or not session.request_stop():
            return gr.skip(), gr.skip()
        # Answer once the streaming handler has ended (within a token, or the pump's grace):
        # a frame it sent after this reply would overwrite the stopped state in the browser.
        session.handler_idle.wait(STOP_WAIT_S)
        return mark_stopped(list(history or [])), _stopped_meter(session)

    # -- replay ------------------------------------------------------------

    def replay_upload(self, file: Any, history: list[Any] | None,
                      session: UISession | None) -> Iterator[tuple]:
        path = file if isinstance(file, str) else getattr(file, "name", None)
        if not path:
            yield (gr.skip(),) * N_OUT
            return
        yield from self._replay(path, history, session)

    def replay_startup(self, history: list[Any] | None, session: UISession | None) -> Iterator[tuple]:
        if not self.rt.replay_path:
            yield (gr.skip(),) * N_OUT
            return
        yield from self._replay(self.rt.replay_path, history, session)

    def _replay(self, path: str, history: list[Any] | None, session: UISession | None) -> Iterator[tuple]:
        try:
            meta, pairs = read_trace(path)
        except TraceError as exc:
            # Name the file as the person knows it, not by the server's upload folder.
            message = _clean(exc).replace(str(path), Path(path).name)
            raise gr.Error(message, title="Cannot replay this file", print_exception=False) from None
        except (OSError, UnicodeDecodeError):
            raise gr.Error("That file cannot be read as a trace.", title="Cannot replay this file",
                           print_exception=False) from None
        question = " ".join(str(meta.get("question") or "(recorded question)").split())[:2000]
        budget = _budget(meta, pairs, self.rt.settings.max_searches)
        history = list(history or [])
        if session is None:
            session = UISession(self.rt, history=normalise_history(
                history, max_turns=self.rt.settings.max_history_turns))
        cancel = session.begin()
        history.append(gr.ChatMessage(role="user", content=escape_text(question, limit=2000)))
        label = f"{REPLAY_LABEL} (scripted, not a real model)" if meta.get("scripted") else REPLAY_LABEL
        view = AnswerView(max_searches=budget, label=label, secrets=self.rt.secrets)
        try:
            yield _frame(view, history, session, keep_state=False, files=None)
            events = replay(path, speed=self.rt.replay_speed, sleep=interruptible_sleep(cancel))
            for batch in session.stream(events, cancel, clean_errors=(TraceError,)):
                for event in batch:
                    view.feed(event)
                if not view.finished:
                    yield _frame(view, history, session)
            if not view.finished:
                view.mark_stopped()
            yield _frame(view, history, session, keep_state=False)
        finally:
            session.end(cancel)

    # -- model status ------------------------------------------------------

    def tick(self) -> tuple:
        status = self.rt.loader.status()
        return gr.Markdown(status, visible=bool(status)), gr.Timer(active=self.rt.loader.loading)


def _budget(meta: dict, pairs: list, default: int) -> int:
    settings = meta.get("settings") if isinstance(meta, dict) else None
    if isinstance(settings, dict) and isinstance(settings.get("max_searches"), int):
        return settings["max_searches"]
    starts = [e.max_searches for _, e in pairs if isinstance(e, SearchStart)]
    return starts[0] if starts else default


def close_session(session: UISession | None) -> None:
    """Gradio deletes a session's state when its tab closes: its answer and export folder go too."""
    if isinstance(session, UISession):
        session.close()


def settings_info(runtime: Runtime) -> str:
    s = runtime.settings
    backend = "demo (scripted)" if runtime.label else s.backend
    key = "configured ✓" if s.has_tavily_key else "not configured (DuckDuckGo is used)"
    lines = [
        f"**Backend:** {escape_text(backend)} · **Model:** {escape_text(runtime.model_label(), limit=120)}",
        f"**Search:** {escape_text(s.provider)} · **Tavily key:** {key}",
    ]
    if s.backend == "openai" and s.base_url:
        lines.append(f"**Server:** {escape_text(display_url(s.base_url), limit=120)}")
    return "  \n".join(lines)


def build_ui(runtime: Runtime) -> gr.Blocks:
    s = runtime.settings
    h = Handlers(runtime)
    providers = list(PROVIDERS)
    if s.search_fixture:
        providers.append(("Fixture (offline file)", "fixture"))
    if s.index_dir:
        providers.append(("Documents only (the shared index)", "local"))
    if s.retriever_url:
        providers.append(("Retrieval server (Search-R1 /retrieve)", "retriever"))
    # Gradio copies each download into its cache: files older than an hour go, so a busy replica's
    # disk stays bounded (a download link older than that is gone too).
    with gr.Blocks(title=TITLE, fill_width=False, delete_cache=EXPORT_CACHE_S) as demo:
        # Gradio deletes a session's state when it drops the session: its uploaded documents go too.
        session = gr.State(None, delete_callback=close_session)
        gr.HTML(f'<div id="app-header"><h1>{LOGO}{TITLE}</h1><p class="subtitle">{SUBTITLE}</p></div>')
        gr.Markdown(runtime.banner or "", visible=bool(runtime.banner), elem_id="banner")
        status = gr.Markdown(runtime.loader.status(), visible=bool(runtime.loader.status()),
                             elem_id="model-status")
        chatbot = gr.Chatbot(
            label="Conversation", elem_id="chat", show_label=False, height="62vh", min_height=360,
            sanitize_html=True, allow_tags=False, render_markdown=True, feedback_options=None, buttons=["copy"],
            examples=[{"text": q} for q in EXAMPLES], group_consecutive_messages=True,
            placeholder="**Ask anything.** Watch the model think, search and cite its sources.",
        )
        meter = gr.Markdown("", label="Progress", elem_id="meter")  # labels name the API's outputs
        with gr.Row(elem_id="composer", equal_height=True):
            msg = gr.Textbox(label="Question", show_label=False, placeholder="Ask a question…", lines=1,
                             max_lines=6, scale=8, elem_id="question", autofocus=True)
            ask = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="ask")
            stop = gr.Button("Stop", variant="stop", scale=1, min_width=70, elem_id="stop")
        with gr.Row(elem_id="exports"):
            dl_trace = gr.DownloadButton("Download trace", visible=False, size="sm", elem_id="dl-trace")
            dl_html = gr.DownloadButton("Download HTML report", visible=False, size="sm", elem_id="dl-html")
            dl_md = gr.DownloadButton("Download Markdown report", visible=False, size="sm", elem_id="dl-md")
            dl_conv = [gr.DownloadButton("Conversation (HTML)", visible=False, size="sm", elem_id="dl-conv-html"),
                       gr.DownloadButton("Conversation (Markdown)", visible=False, size="sm",
                                         elem_id="dl-conv-md")]
            upload = gr.UploadButton("Replay a trace", file_types=[".jsonl"], size="sm",
                                     elem_id="replay-upload")
        with gr.Accordion("Settings", open=False, elem_id="settings"):
            gr.Markdown(settings_info(runtime), elem_id="settings-info")
            with gr.Row():
                max_searches = gr.Slider(0, max(10, s.max_searches), step=1, value=s.max_searches,
                                         label="Max searches per question", elem_id="set-max-searches")
                results = gr.Slider(1, max(10, s.results_per_search), step=1, value=s.results_per_search,
                                    label="Results per search", elem_id="set-results")
            with gr.Row():
                provider = gr.Dropdown(providers, value=s.provider, label="Search provider",
                                       elem_id="set-provider")
                # Every range holds the configured value: Gradio refuses a value outside its slider,
                # which would fail every question of an app started with e.g. --max-new-tokens 100.
                temperature = gr.Slider(0.0, max(1.5, s.temperature), step=0.05, value=s.temperature,
                                        label="Temperature", elem_id="set-temperature")
                max_new = gr.Slider(min(256, s.max_new_tokens), max(32768, s.max_new_tokens), step=256,
                                    value=s.max_new_tokens, label="Max new tokens per round",
                                    elem_id="set-max-new-tokens")
        build_documents_panel(runtime, session=session, chatbot=chatbot, demo=demo)
        timer = gr.Timer(1.0, active=runtime.loader.loading)

        controls = [max_searches, provider, results, temperature, max_new]
        outputs = [msg, chatbot, meter, session, dl_trace, dl_html, dl_md]
        common = dict(outputs=outputs, show_progress="minimal", show_progress_on=[meter])
        ev_submit = msg.submit(h.ask, [msg, chatbot, session, *controls], api_name="ask", **common)
        ev_click = ask.click(h.ask, [msg, chatbot, session, *controls], api_visibility="private", **common)
        ev_example = chatbot.example_select(h.ask_example, [chatbot, session, *controls],
                                            api_visibility="private", **common)
        ev_replay = upload.upload(h.replay_upload, [upload, chatbot, session], api_name="replay", **common)
        running = [ev_submit, ev_click, ev_example, ev_replay]
        for asked in (ev_submit, ev_click, ev_example):
            asked.then(h.conversation_files, [session], dl_conv, queue=False, api_visibility="private")
        if runtime.replay_path:
            running.append(demo.load(h.replay_startup, [chatbot, session], api_visibility="private",
                                     **common))
        stop.click(h.stop, [chatbot, session], [chatbot, meter], queue=False, api_name="stop",
                   cancels=running)
        timer.tick(h.tick, None, [status, timer], api_visibility="private", queue=False)
    return demo


def launch_kwargs() -> dict[str, Any]:
    """Gradio 6 takes css/theme at launch, not in Blocks()."""
    fonts = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue",
             "Arial", "sans-serif"]  # local fonts only: nothing is fetched, offline works
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    theme = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=fonts, font_mono=mono)
    return {"css_paths": [CSS_PATH], "theme": theme, "js": PASSAGE_JS}
