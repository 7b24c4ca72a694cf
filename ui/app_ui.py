"""The Blocks layout and its event wiring; what each event does is in ``ui/handlers.py``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

import gradio as gr
from starlette.middleware import Middleware

from .documents import MAX_FILE_MB
from .documents_panel import PASSAGE_JS
from .notices import visitor_markdown
from .outputs import AnswerOutputs, ClearedOutputs
from . import localhost_check
from .branch_events import ACTION_JS, BranchEvents, branch_carrier
from .handlers import Handlers, close_session
from .model_check import LABEL as CHECK_LABEL, ModelCheck
from .runtime import Runtime
from .upload_budget import UploadBudget
from .saved_panel import SavedPanel
from .settings_drawer import build_drawer
from .settings_drawer import provider_choices as _providers  # noqa: F401 - the name tests read here
from .settings_drawer import settings_info as settings_info

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CSS_PATH = ASSETS / "style.css"
# Gradio scopes css_paths rules to its container, so rules for the page itself (html, body) go in the head.
PAGE_CSS_PATH = ASSETS / "page.css"
JS_PATH = ASSETS / "ui.js"  # settings drawer, panel accessibility, character counter, focus, run note, edit box
TITLE = "Deep Search"
SUBTITLE = ("A reasoning model thinks out loud, searches the web and answers with numbered "
            "sources you can check.")
# The demo mode has a scripted run for each of these (assets/demo/scripts.json).
EXAMPLES = [
    "How tall is the Eiffel Tower, and has its height changed over time?",
    "When was the first transatlantic telegraph cable completed?",
    "Why is the sky blue?",
]
LOGO = ('<svg class="logo" viewBox="0 0 24 24" width="30" height="30" aria-hidden="true" fill="none" '
        'stroke="currentColor" stroke-width="2.2" stroke-linecap="round"><circle cx="10.5" cy="10.5" r="6.5"/>'
        '<path d="M15.5 15.5 21 21"/><path d="M8 10.5h5M10.5 8v5" stroke-width="1.6"/></svg>')
# Every 10 min, delete Gradio's cached files (downloads, and uploads no handler took) older than 20 min.
EXPORT_CACHE_S = (600, 1200)
# Every event that starts an answer is in this one group, so the backend's limit
# (DEEPSEARCH_CONCURRENCY_LOCAL / _REMOTE) bounds the whole app, not each listener.
ANSWER_GROUP = "answer"
# Replays use no model: their own group, so they never hold a question's slot.
REPLAY_GROUP, REPLAY_CONCURRENCY = "replay", 4


@dataclass
class _Parts:
    """The components the event wiring needs, built by the layout functions below."""

    session: gr.State
    chatbot: gr.Chatbot
    status: gr.Markdown
    meter: gr.Markdown
    msg: gr.Textbox
    ask: gr.Button
    stop: gr.Button
    new_chat: gr.Button
    downloads: list[gr.DownloadButton]  # trace, HTML report, Markdown report
    conversation: list[gr.DownloadButton]  # the whole conversation: HTML, Markdown
    upload: gr.UploadButton
    controls: list[gr.components.Component]  # max searches, provider, results, temperature, max new, read, check
    check: gr.Button  # "Check with the model" under a finished answer of a local model (ui/model_check.py)
    # The chat links' action, and the hidden Show, Fork and Check buttons they click.
    branch: tuple[gr.Textbox, gr.Button, gr.Button, gr.Button]
    saved: SavedPanel | None = None  # the history list (None: the runtime has no history at all)


def _header(runtime: Runtime) -> tuple[gr.Markdown, gr.Button]:
    """One line (title, New chat, the settings toggle), then the demo banner and a startup problem;
    returns the model-loading status line and New chat."""
    with gr.Row(elem_id="topbar", equal_height=True):
        gr.HTML(f'<div id="app-header"><h1>{LOGO}{TITLE}</h1><p class="subtitle">{SUBTITLE}</p></div>',
                padding=False, elem_id="app-header-box")
        new_chat = gr.Button("New chat", size="sm", scale=0, min_width=0, elem_id="new-chat")
        # Opens the drawer below (ui.js): a click in the page, no server round trip.
        gr.Button("⚙ Settings", size="sm", scale=0, min_width=0, elem_id="tools-toggle")
    gr.Markdown(runtime.banner or "", visible=bool(runtime.banner), elem_id="banner")
    problem = runtime.problem and (f"⚠ **Questions cannot be answered right now.** "
                                   f"{visitor_markdown(runtime.problem)}")
    gr.Markdown(problem or "", visible=bool(problem), elem_id="problem")
    status = gr.Markdown(runtime.loader.status(), visible=bool(runtime.loader.status()), elem_id="model-status")
    return status, new_chat


def _chatbot(runtime: Runtime) -> gr.Chatbot:
    return gr.Chatbot(
        # scale=1 in a fill_height page: the chat takes the height the header and composer leave.
        label="Conversation", elem_id="chat", show_label=False, height=None, scale=1,
        sanitize_html=True, allow_tags=False, render_markdown=True, feedback_options=None, buttons=["copy"],
        # No examples when every question would fail (the banner above says why).
        examples=None if runtime.problem else [{"text": q} for q in EXAMPLES],
        group_consecutive_messages=True, editable="user",
        # assets/ui.js keeps the pane at the end while the reader is there. Gradio's own autoscroll
        # scrolled to the end 300 ms after every update that found the chat there: a reader's scroll
        # up, or a click on an earlier answer's link, made in those 300 ms was undone or went astray.
        autoscroll=False,
        placeholder="**Ask anything.** Watch the model think, search and cite its sources.",
    )


def _composer(s: Any) -> tuple[gr.Textbox, gr.Button, gr.Button]:
    # Filled in by ui.js when Enter is pressed while an answer runs (see assets/ui.js): a line of
    # its own between the meter and the question (no height while empty), so it covers neither.
    gr.HTML('<p id="run-hint" role="status"></p>', elem_id="run-hint-box", padding=False)
    with gr.Row(elem_id="composer", equal_height=True):
        msg = gr.Textbox(label="Question", show_label=False, placeholder="Ask a question…", lines=1,
                         max_lines=6, scale=8, elem_id="question")  # focused by ui.js, on wide screens
        ask = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="ask")
        stop = gr.Button("Stop", variant="stop", scale=1, min_width=70, elem_id="stop", visible=False)
    gr.HTML(f'<span id="char-count" data-limit="{s.max_question_chars}" aria-live="polite"></span>',
            elem_id="char-count-box", padding=False)
    return msg, ask, stop


def _exports_row() -> tuple[list[gr.DownloadButton], list[gr.DownloadButton], gr.Button]:
    """The last answer's model check and downloads, and the conversation's, shown once there is an answer."""
    with gr.Row(elem_id="exports"):
        check = gr.Button(CHECK_LABEL, visible=False, size="sm", elem_id="check-model")
        downloads = [gr.DownloadButton(label, visible=False, size="sm", elem_id=elem_id) for label, elem_id in (
            ("Download trace", "dl-trace"), ("Download HTML report", "dl-html"),
            ("Download Markdown report", "dl-md"))]
        conversation = [gr.DownloadButton(label, visible=False, size="sm", elem_id=elem_id) for label, elem_id in (
            ("Conversation (HTML)", "dl-conv-html"), ("Conversation (Markdown)", "dl-conv-md"))]
    return downloads, conversation, check


class Listener(TypedDict, total=False):
    """Options of a Gradio event listener (``.click``, ``.then``, ``.load``...), typed as Gradio types them."""

    outputs: list[Any]
    show_progress: Literal["full", "minimal", "hidden"]
    show_progress_on: list[Any]
    concurrency_id: str
    concurrency_limit: int | None | Literal["default"]
    api_name: str
    api_visibility: Literal["public", "private", "undocumented"]
    queue: bool
    js: str


def _buttons_js(*, ask: bool) -> str:
    """Ask shown and Stop hidden (``ask``), or the other way round, set in the browser."""
    return (f"() => [{{__type__: 'update', visible: {str(ask).lower()}}}, "
            f"{{__type__: 'update', visible: {str(not ask).lower()}}}]")


# Ask and Stop flip in the browser, in the order the events happen there. As server calls their
# replies could arrive in either order: the "idle" of an answer that had just ended, landing after
# the "busy" of one started that instant (Regenerate or an example clicked as the answer ended),
# hid the new answer's Stop while it ran.
BUSY_JS = _buttons_js(ask=False)
IDLE_JS = _buttons_js(ask=True)
# A blank question box sends nothing that runs (the handler answers it with no change): the
# buttons stay as they are, so a question sent right after is not taken for one sent mid-run.
BUSY_IF_ASKED_JS = (f"(question) => (question || '').trim() ? ({BUSY_JS})() "
                    ": [{__type__: 'update'}, {__type__: 'update'}]")


def busy(trigger: Any, buttons: list[Any], *, question: Any = None) -> Any:
    """Ask becomes Stop the moment ``trigger`` fires (before the queue answers); no server call.
    ``question``: the box it sends, when a blank one sends nothing."""
    if question is not None:
        return trigger(None, [question], buttons, js=BUSY_IF_ASKED_JS, queue=False, api_visibility="private",
                       show_progress="hidden")
    return trigger(None, None, buttons, js=BUSY_JS, queue=False, api_visibility="private", show_progress="hidden")


def afterwards(event: Any, h: Handlers, buttons: list[Any], meter: gr.Markdown) -> Any:
    """Ask comes back after ``event`` however it ended; returns the listener after success.

    Gradio's ``.then`` runs after success or a cancel but not after an error (its frontend starts
    only the ``failure`` listeners then), so a question refused before its run starts (too long,
    a bad trace, a full queue) would leave Ask showing Stop, and Enter saying an answer runs.
    After an error the meter also loses the "Error" badge the failed event left on it.
    """
    options: Listener = {"queue": False, "api_visibility": "private"}
    event.failure(h.settle, None, [*buttons, meter], show_progress="hidden", **options)
    return event.then(None, None, buttons, js=IDLE_JS, **options)


def answer_components(p: _Parts) -> list[Any]:
    """``AnswerOutputs``' names mapped onto their components: the one place they line up."""
    trace, html, md = p.downloads
    by_name = {"question": p.msg, "chat": p.chatbot, "meter": p.meter, "session": p.session,
               "trace": trace, "html": html, "md": md}
    return [by_name[name] for name in AnswerOutputs.names()]


def cleared_components(p: _Parts) -> list[Any]:
    """``ClearedOutputs``' names mapped onto their components."""
    trace, html, md = p.downloads
    conversation_html, conversation_md = p.conversation
    by_name = {"chat": p.chatbot, "meter": p.meter, "session": p.session, "trace": trace, "html": html, "md": md,
               "question": p.msg, "conversation_html": conversation_html, "conversation_md": conversation_md}
    return [by_name[name] for name in ClearedOutputs.names()]


def _wire_answers(demo: gr.Blocks, runtime: Runtime, h: Handlers, b: BranchEvents, p: _Parts) -> list[Any]:
    """Every way of starting an answer; returns their events, for Stop and New chat to cancel."""
    s = runtime.settings
    outputs = answer_components(p)
    buttons = [p.ask, p.stop]
    answering: Listener = {"outputs": outputs, "show_progress": "minimal", "show_progress_on": [p.meter],
                           "concurrency_id": ANSWER_GROUP, "concurrency_limit": s.concurrency_limit}
    replaying: Listener = {**answering, "concurrency_id": REPLAY_GROUP, "concurrency_limit": REPLAY_CONCURRENCY}
    asking = [p.msg, p.chatbot, p.session, *p.controls]
    private: Listener = {**answering, "api_visibility": "private"}
    starts: list[tuple[Any, Any, list[Any], Listener]] = [  # (trigger, handler, inputs, listener options)
        (p.msg.submit, h.ask, asking, {**answering, "api_name": "ask"}),
        (p.ask.click, h.ask, asking, private),
        (p.chatbot.example_select, h.ask_example, asking[1:], private),
        (p.chatbot.retry, h.regenerate, asking[1:], private),
        (p.chatbot.edit, h.edit, asking[1:], private),
        # Continue from here (ui/branch_links.py): its link's action is read by ACTION_JS.
        (p.branch[2].click, b.fork, [p.branch[0], *asking[1:]], {**private, "js": ACTION_JS}),
        (p.upload.upload, h.replay_upload, [p.upload, p.chatbot, p.session], {**replaying, "api_name": "replay"}),
    ]
    running = []
    check = ModelCheck(runtime)
    for trigger, handler, inputs, options in starts:
        # Not queued: it flips the buttons at once, and never counts against a full queue.
        busy(trigger, buttons, question=p.msg if handler == h.ask else None)
        # A new question stops a model check running in this session (its lexical verdicts stand).
        trigger(check.interrupt, [p.session], [p.check], queue=False, api_visibility="private",
                show_progress="hidden")
        # Every way of asking but a new question at the end (Regenerate, an edit, a branch started
        # elsewhere) replaces answers the conversation downloads hold: they go at once.
        if handler not in (h.ask, h.ask_example, h.replay_upload):
            trigger(h.hide_conversation, [p.session], p.conversation, queue=False, api_visibility="private",
                    show_progress="hidden")
        running.append(trigger(handler, inputs, **options))
        then = afterwards(running[-1], h, buttons, p.meter)
        if handler is not h.replay_upload:  # a replayed answer is not part of this conversation
            then.then(h.conversation_files, [p.session], p.conversation, queue=False, api_visibility="private")
            then.then(check.offer, [p.session], [p.check], queue=False, api_visibility="private")
            # An answer that failed has still changed what the chat shows (a regenerated one).
            running[-1].failure(h.conversation_files, [p.session], p.conversation, queue=False,
                                api_visibility="private", show_progress="hidden")
            if p.saved is not None:
                p.saved.after_answer(then)
    _wire_check(check, h, p, answering)
    if runtime.replay_path:
        startup: Listener = {**replaying, "api_visibility": "private"}
        running.append(demo.load(h.replay_startup, [p.chatbot, p.session], **startup))
    return running


def _wire_check(check: ModelCheck, h: Handlers, p: _Parts, answering: Listener) -> None:
    """The model check on request: in the answers' concurrency group (it waits for the model like
    a question does), with Ask turned into Stop while it runs; ``#check-model`` checks the last
    answer, the hidden ``#branch-check`` the answer a link under it names (ui/branch_links.py, its
    action read by ACTION_JS). The chat is no output of the check itself (``ModelCheck.redraw``
    follows it), so Regenerate and Edit stay usable and stop it."""
    buttons = [p.ask, p.stop]
    owner = [p.saved.secret] if p.saved is not None else []
    action, carrier = p.branch[0], p.branch[3]
    outputs = [p.meter, p.check, *p.downloads]

    def quiet(listen: Any, fn: Any, inputs: list[Any] | None, out: list[Any]) -> Any:
        return listen(fn, inputs, out, queue=False, api_visibility="private", show_progress="hidden")
    for trigger, handler, inputs, js in ((p.check.click, check.check, [p.chatbot, p.session, *owner], None),
                                         (carrier.click, check.check_turn, [action, p.session, *owner], ACTION_JS)):
        busy(trigger, buttons)
        event = trigger(handler, inputs, outputs, js=js, api_visibility="private", show_progress="hidden",
                        concurrency_id=answering["concurrency_id"], concurrency_limit=answering["concurrency_limit"])
        quiet(event.failure, check.offer, [p.session], [p.check])
        quiet(event.failure, check.settle, [p.session], [*buttons, p.meter])
        then = quiet(event.then, check.redraw, [p.session], [p.chatbot])
        # A server reply, not IDLE_JS: only the session knows whether an answer overtook the
        # check (Regenerate, an edit), whose Stop must stay (ModelCheck.settle).
        quiet(then.then, check.settle, [p.session], [*buttons, p.meter])
        quiet(then.then, check.offer, [p.session], [p.check])
        quiet(then.then, h.conversation_files, [p.session], p.conversation)


def _wire_branches(h: Handlers, b: BranchEvents, p: _Parts) -> None:
    """The switcher's arrows: the chat shows another branch, then its downloads and share file follow."""
    action, show = p.branch[0], p.branch[1]
    shown = show.click(b.show, [action, p.session], [p.chatbot], js=ACTION_JS, queue=False,
                       api_visibility="private", show_progress="hidden")
    then = shown.then(h.conversation_files, [p.session], p.conversation, queue=False, api_visibility="private")
    if p.saved is not None:
        p.saved.after_switch(then)


def _wire_controls(h: Handlers, p: _Parts, running: list[Any]) -> None:
    buttons = [p.ask, p.stop]
    afterwards(p.stop.click(h.stop, [p.chatbot, p.session], [p.chatbot, p.meter], queue=False, api_name="stop",
                            cancels=running), h, buttons, p.meter)
    cleared = cleared_components(p)
    for trigger in (p.new_chat.click, p.chatbot.clear):
        trigger(lambda: gr.Button(visible=False), None, [p.check], queue=False, api_visibility="private")
        afterwards(trigger(h.new_chat, [p.session], cleared, queue=False, api_visibility="private",
                           cancels=running), h, buttons, p.meter)


def build_ui(runtime: Runtime) -> gr.Blocks:
    h = Handlers(runtime)
    # Gradio copies each download into its cache: files older than an hour go, so a busy replica's
    # disk stays bounded (a download link older than that is gone too).
    # fill_height: the page is the window's height, and the chat (scale=1) scrolls inside it.
    with gr.Blocks(title=TITLE, fill_width=False, fill_height=True, delete_cache=EXPORT_CACHE_S) as demo:
        # Gradio deletes a session's state when it drops the session: its uploaded documents go too.
        session = gr.State(None, delete_callback=close_session)
        status, new_chat = _header(runtime)
        chatbot = _chatbot(runtime)
        meter = gr.Markdown("", label="Progress", elem_id="meter")  # labels name the API's outputs
        msg, ask, stop = _composer(runtime.settings)
        downloads, conversation, check = _exports_row()
        controls, upload = build_drawer(runtime, session)
        branch = branch_carrier()
        timer = gr.Timer(1.0, active=runtime.loader.loading)
        saved = None
        if runtime.saved is not None:
            saved = SavedPanel(runtime, runtime.saved, new_session=h._new_session)
            saved.build(chatbot=chatbot, session=session, downloads=[*downloads, *conversation])
            saved.wire_load(demo)
        parts = _Parts(session=session, chatbot=chatbot, status=status, meter=meter, msg=msg, ask=ask, stop=stop,
                       new_chat=new_chat, downloads=downloads, conversation=conversation, upload=upload,
                       controls=controls, saved=saved, check=check, branch=branch)
        branches = BranchEvents(runtime, h)
        _wire_controls(h, parts, _wire_answers(demo, runtime, h, branches, parts))
        _wire_branches(h, branches, parts)
        timer.tick(h.tick, None, [status, timer], api_visibility="private", queue=False)
        demo.unload(h.closed)
    return demo


def launch_kwargs() -> dict[str, Any]:
    """Gradio 6 takes css/theme at launch, not in Blocks(); so is the upload cap. Also makes
    ``launch()``'s own is-the-server-up check patient (``ui.localhost_check``)."""
    localhost_check.install()
    fonts = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue",
             "Arial", "sans-serif"]  # local fonts only: nothing is fetched, offline works
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    theme = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=fonts, font_mono=mono).set(
        # The theme's light labels, slider ends and placeholders were 2.6-3.6:1; these reach 4.5:1
        # (tests/browser/test_ui_contrast.py), and so does the dark placeholder.
        body_text_color_subdued="*neutral_600", block_title_text_color="*primary_700",
        block_label_text_color="*primary_700", input_placeholder_color="*neutral_600",
        input_placeholder_color_dark="*neutral_300")
    # One page script: each part is a function Gradio would call on load; call both.
    js = f"() => {{ ({PASSAGE_JS.strip()})(); ({JS_PATH.read_text(encoding='utf-8').strip()})(); }}"
    head = f"<style>{PAGE_CSS_PATH.read_text(encoding='utf-8')}</style>"
    # Gradio stores an upload whole before any handler can look at its size: without a cap, one
    # visitor could fill the disk. Every upload (documents, a replayed trace) is held to the
    # documents' limit; the browser says which file is too large before sending it.
    # Gradio's footer offered a second "Settings" (its own), a "Runs" page of raw API calls and
    # "Use via API" beside the app's ⚙ Settings: only "Built with Gradio" stays; the browser keeps
    # no run history of the visitor's questions either. The API itself still answers.
    return {"css_paths": [CSS_PATH], "theme": theme, "js": js, "head": head,
            "footer_links": ["gradio"], "run_history": False,
            # Uploads are bounded per client and overall on Gradio's own route (ui/upload_budget.py).
            "app_kwargs": {"middleware": [Middleware(UploadBudget)]},
            "max_file_size": MAX_FILE_MB * 1_000_000}
