"""The Blocks layout and its event wiring. Handlers are thin: they validate input,
hand the question to the engine and map its events with ``AnswerView``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from agent.api import (Error, InputError, SearchStart, Settings, SettingsError, TraceError, display_url, pace,
                       read_trace, validate_question)

from .citations import escape_text
from .documents_panel import PASSAGE_JS, build_documents_panel
from .history import content_text, last_turn_start, mark_stopped, normalise_history
from .mapper import REPLAY_STOPPED_TEXT, AnswerView
from .notices import for_visitor, visitor_markdown
from .recording import Recorder, replay_exports
from .runtime import Runtime
from .session import SessionBusy, UISession, interruptible_sleep

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CSS_PATH = ASSETS / "style.css"
# Gradio scopes css_paths rules (inside @media only its scoped copy survives), which cannot reach the
# app's own container: on a phone it must not clip, or the composer cannot stay pinned (sticky).
PAGE_CSS = ("<style>@media (max-width: 640px) { .gradio-container { overflow-x: clip !important; "
            "overflow-y: visible !important; } }</style>")
JS_PATH = ASSETS / "ui.js"  # accessibility of the panels, the character counter, focus on wide screens
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
# Every event that starts an answer is in this one group, so the backend's limit
# (DEEPSEARCH_CONCURRENCY_LOCAL / _REMOTE) bounds the whole app, not each listener.
ANSWER_GROUP = "answer"
# Replays use no model: their own group, so they never hold a question's slot.
REPLAY_GROUP, REPLAY_CONCURRENCY = "replay", 4


def _clean(exc: BaseException) -> str:
    """An exception's message for a toast: no flags or environment variables (see ui/notices.py)."""
    return for_visitor(str(exc).strip() or "that did not work")


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


def _begin(session: UISession) -> Any:
    try:
        return session.begin()
    except SessionBusy as exc:
        raise gr.Error(_clean(exc), title="Still stopping", print_exception=False) from None


class Handlers:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    # -- asking ------------------------------------------------------------

    def _settings(self, max_searches: Any = None, provider: Any = None, results: Any = None,
                  temperature: Any = None, max_new_tokens: Any = None) -> Settings:
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

    # The five Settings controls are named parameters (the API names its inputs after them);
    # ``request`` is filled in by Gradio: it says which browser session is asking.
    def ask(self, message: str, history: list[Any] | None, session: UISession | None,
            max_searches: Any = None, provider: Any = None, results: Any = None,
            temperature: Any = None, max_new_tokens: Any = None,
            request: gr.Request | None = None) -> Iterator[tuple]:
        controls = (max_searches, provider, results, temperature, max_new_tokens)
        yield from self._answer(message, list(history or []), session, controls, request=request)

    def ask_example(self, evt: gr.SelectData, history: list[Any] | None, session: UISession | None,
                    max_searches: Any = None, provider: Any = None, results: Any = None,
                    temperature: Any = None, max_new_tokens: Any = None,
                    request: gr.Request | None = None) -> Iterator[tuple]:
        value = evt.value
        text = value.get("text", "") if isinstance(value, dict) else str(value or "")
        controls = (max_searches, provider, results, temperature, max_new_tokens)
        yield from self._answer(text, list(history or []), session, controls, request=request)

    def regenerate(self, history: list[Any] | None, session: UISession | None,
                   max_searches: Any = None, provider: Any = None, results: Any = None,
                   temperature: Any = None, max_new_tokens: Any = None,
                   request: gr.Request | None = None) -> Iterator[tuple]:
        """The last question asked afresh: its answer, and what the model remembers of it, go."""
        controls = (max_searches, provider, results, temperature, max_new_tokens)
        history = list(history or [])
        start = last_turn_start(history)
        if not start:
            yield (gr.skip(),) * N_OUT
            return
        question = content_text(_field(history[start - 1], "content"))
        yield from self._answer(question, history[:start - 1], session, controls, rebuild=True, request=request)

    def edit(self, evt: gr.EditData, history: list[Any] | None, session: UISession | None,
             max_searches: Any = None, provider: Any = None, results: Any = None,
             temperature: Any = None, max_new_tokens: Any = None,
             request: gr.Request | None = None) -> Iterator[tuple]:
        """An edited question is sent again; the conversation goes back to just before it."""
        controls = (max_searches, provider, results, temperature, max_new_tokens)
        history = list(history or [])
        index = evt.index if isinstance(evt.index, int) else None
        if index is None or not 0 <= index < len(history) or _field(history[index], "role") != "user":
            raise gr.Error("Only your own questions can be edited and sent again.",
                           title="Question not sent", print_exception=False)
        yield from self._answer(str(evt.value or ""), history[:index], session, controls, rebuild=True,
                                request=request)

    def _answer(self, message: str, history: list[Any], session: UISession | None,
                controls: tuple[Any, ...], *, rebuild: bool = False,
                request: gr.Request | None = None) -> Iterator[tuple]:
        """Answer ``message`` after ``history``; ``rebuild``: the model's memory is rebuilt from it
        (regenerate, edit), since the turns after it are gone."""
        text = (message or "").strip()
        if not text:
            yield (gr.skip(),) * N_OUT
            return
        settings = self._settings(*controls)
        try:
            text = validate_question(text, settings)
        except InputError as exc:
            raise gr.Error(_clean(exc), title="Question not sent", print_exception=False) from None
        session = session or self._new_session(history, request)
        cancel = _begin(session)
        try:
            if rebuild:
                session.chat.history = self._history(history)
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

    def _new_session(self, history: list[Any] | None, request: gr.Request | None) -> UISession:
        session = UISession(self.rt, history=self._history(history))
        self.rt.sessions.add(getattr(request, "session_hash", None), session)
        return session

    def _history(self, history: list[Any] | None) -> list[tuple[str, str]]:
        return normalise_history(history, max_turns=self.rt.settings.max_history_turns)

    def closed(self, request: gr.Request) -> None:
        """The tab was closed: its answer stops and its export folder is deleted now (Gradio keeps
        a closed session's state for an hour in case it reconnects)."""
        self.rt.sessions.close(getattr(request, "session_hash", None))

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

    # -- run state -----------------------------------------------------------

    def busy(self, session: UISession | None) -> tuple:
        """Ask becomes Stop as soon as a question is sent (before the queue answers)."""
        if session is not None and session.running:
            gr.Info("An answer is still being written: wait for it, or press Stop first.",
                    title="Question not sent")
        return gr.Button(visible=False), gr.Button(visible=True)

    def idle(self) -> tuple:
        return gr.Button(visible=True), gr.Button(visible=False)

    def new_chat(self, session: UISession | None) -> tuple:
        """Start over: the running answer is stopped, and the model's memory, the source
        numbering, the meter and the downloads all go with the old session."""
        if session is not None:
            session.request_stop()
            session.handler_idle.wait(STOP_WAIT_S)
            session.close()
        hidden = gr.DownloadButton(value=None, visible=False)
        return ([], "", None, hidden, hidden, hidden, "", hidden, hidden)

    # -- stop --------------------------------------------------------------

    def stop(self, history: list[Any] | None, session: UISession | None) -> tuple:
        if session is None or not session.request_stop():
            return gr.skip(), gr.skip()
        # Answer once the streaming handler has ended (within a token, or the pump's grace):
        # a frame it sent after this reply would overwrite the stopped state in the browser.
        session.handler_idle.wait(STOP_WAIT_S)
        return mark_stopped(list(history or [])), _stopped_meter(session)

    # -- replay ------------------------------------------------------------

    def replay_upload(self, file: Any, history: list[Any] | None, session: UISession | None,
                      request: gr.Request | None = None) -> Iterator[tuple]:
        path = file if isinstance(file, str) else getattr(file, "name", None)
        if not path:
            yield (gr.skip(),) * N_OUT
            return
        yield from self._replay(path, history, session, request)

    def replay_startup(self, history: list[Any] | None, session: UISession | None,
                       request: gr.Request | None = None) -> Iterator[tuple]:
        if not self.rt.replay_path:
            yield (gr.skip(),) * N_OUT
            return
        yield from self._replay(self.rt.replay_path, history, session, request)

    def _replay(self, path: str, history: list[Any] | None, session: UISession | None,
                request: gr.Request | None = None) -> Iterator[tuple]:
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
        session = session or self._new_session(history, request)
        cancel = _begin(session)
        history.append(gr.ChatMessage(role="user", content=escape_text(question, limit=2000)))
        label = f"{REPLAY_LABEL} (scripted, not a real model)" if meta.get("scripted") else REPLAY_LABEL
        view = AnswerView(max_searches=budget, label=label, secrets=self.rt.secrets,
                          stopped_text=REPLAY_STOPPED_TEXT)
        try:
            yield _frame(view, history, session, keep_state=False, files=None)
            events = pace(pairs, speed=self.rt.replay_speed, sleep=interruptible_sleep(cancel))
            for batch in session.stream(events, cancel, clean_errors=(TraceError,)):
                for event in batch:
                    view.feed(event)
                if not view.finished:
                    yield _frame(view, history, session)
            files = replay_exports(session.new_export_dir(), meta, pairs) if view.finished else None
            if not view.finished:
                view.stopped_text = "You stopped this replay; what is above is partial."
                view.mark_stopped()
            yield _frame(view, history, session, keep_state=False, files=files)
        finally:
            session.end(cancel)

    # -- model status ------------------------------------------------------

    def tick(self) -> tuple:
        status = self.rt.loader.status()
        return gr.Markdown(status, visible=bool(status)), gr.Timer(active=self.rt.loader.loading)


def _field(message: Any, name: str) -> Any:
    return message.get(name) if isinstance(message, dict) else getattr(message, name, None)


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
    search = {"fixture": "bundled results (offline)", "duckduckgo": "DuckDuckGo", "tavily": "Tavily"}
    if s.provider == "auto":
        search_text = "Tavily (key configured ✓)" if s.has_tavily_key else "DuckDuckGo (no Tavily key is configured)"
    else:
        search_text = search.get(s.provider, s.provider)
    lines = [
        f"**Backend:** {escape_text(backend)} · **Model:** {escape_text(runtime.model_label(), limit=120)}",
        f"**Search:** {escape_text(search_text)}",
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
        problem = runtime.problem and (f"⚠ **Questions cannot be answered right now.** "
                                       f"{visitor_markdown(runtime.problem)}")
        gr.Markdown(problem or "", visible=bool(problem), elem_id="problem")
        status = gr.Markdown(runtime.loader.status(), visible=bool(runtime.loader.status()),
                             elem_id="model-status")
        chatbot = gr.Chatbot(
            label="Conversation", elem_id="chat", show_label=False, height="62vh", min_height=360,
            sanitize_html=True, allow_tags=False, render_markdown=True, feedback_options=None, buttons=["copy"],
            # No examples when every question would fail (the banner above says why).
            examples=None if runtime.problem else [{"text": q} for q in EXAMPLES],
            group_consecutive_messages=True, editable="user",
            placeholder="**Ask anything.** Watch the model think, search and cite its sources.",
        )
        meter = gr.Markdown("", label="Progress", elem_id="meter")  # labels name the API's outputs
        with gr.Row(elem_id="composer", equal_height=True):
            msg = gr.Textbox(label="Question", show_label=False, placeholder="Ask a question…", lines=1,
                             max_lines=6, scale=8, elem_id="question")  # focused by ui.js, on wide screens
            ask = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="ask")
            stop = gr.Button("Stop", variant="stop", scale=1, min_width=70, elem_id="stop", visible=False)
        gr.HTML(f'<span id="char-count" data-limit="{s.max_question_chars}" aria-live="polite"></span>',
                elem_id="char-count-box", padding=False)
        with gr.Row(elem_id="exports"):
            new_chat = gr.Button("New chat", size="sm", elem_id="new-chat")
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
        buttons = [ask, stop]
        answering = dict(outputs=outputs, show_progress="minimal", show_progress_on=[meter],
                         concurrency_id=ANSWER_GROUP, concurrency_limit=s.concurrency_limit)
        replaying = {**answering, "concurrency_id": REPLAY_GROUP, "concurrency_limit": REPLAY_CONCURRENCY}
        asking = [msg, chatbot, session, *controls]
        starts = [  # (trigger, handler, inputs, listener options)
            (msg.submit, h.ask, asking, dict(api_name="ask", **answering)),
            (ask.click, h.ask, asking, dict(api_visibility="private", **answering)),
            (chatbot.example_select, h.ask_example, asking[1:], dict(api_visibility="private", **answering)),
            (chatbot.retry, h.regenerate, asking[1:], dict(api_visibility="private", **answering)),
            (chatbot.edit, h.edit, asking[1:], dict(api_visibility="private", **answering)),
            (upload.upload, h.replay_upload, [upload, chatbot, session], dict(api_name="replay", **replaying)),
        ]
        running = []
        for trigger, handler, inputs, options in starts:
            # Queued (toasts travel on the queue's stream) but never limited: it only flips buttons.
            trigger(h.busy, [session], buttons, concurrency_limit=None, api_visibility="private",
                    show_progress="hidden")
            running.append(trigger(handler, inputs, **options))
            then = running[-1].then(h.idle, None, buttons, queue=False, api_visibility="private")
            if handler is not h.replay_upload:  # a replayed answer is not part of this conversation
                then.then(h.conversation_files, [session], dl_conv, queue=False, api_visibility="private")
        if runtime.replay_path:
            running.append(demo.load(h.replay_startup, [chatbot, session], api_visibility="private",
                                     **replaying))
        stop.click(h.stop, [chatbot, session], [chatbot, meter], queue=False, api_name="stop",
                   cancels=running).then(h.idle, None, buttons, queue=False, api_visibility="private")
        for trigger in (new_chat.click, chatbot.clear):
            trigger(h.new_chat, [session], [chatbot, meter, session, dl_trace, dl_html, dl_md, msg, *dl_conv],
                    queue=False, api_visibility="private", cancels=running
                    ).then(h.idle, None, buttons, queue=False, api_visibility="private")
        timer.tick(h.tick, None, [status, timer], api_visibility="private", queue=False)
        demo.unload(h.closed)
    return demo


def launch_kwargs() -> dict[str, Any]:
    """Gradio 6 takes css/theme at launch, not in Blocks()."""
    fonts = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue",
             "Arial", "sans-serif"]  # local fonts only: nothing is fetched, offline works
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    theme = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=fonts, font_mono=mono)
    # One page script: each part is a function Gradio would call on load; call both.
    js = f"() => {{ ({PASSAGE_JS.strip()})(); ({JS_PATH.read_text(encoding='utf-8').strip()})(); }}"
    return {"css_paths": [CSS_PATH], "theme": theme, "js": js, "head": PAGE_CSS}
