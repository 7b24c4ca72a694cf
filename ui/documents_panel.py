"""The Documents accordion: upload, list with passage counts, remove.

Uploads go into the browser session's own ``DocumentShelf`` (held by its
``UISession``); the chat then searches them from the next question on. A
session that starts with an upload is registered in the runtime's
``SessionIndex`` like one that starts with a question, so when the tab closes
(``demo.unload``), Gradio drops the session's state or the app shuts down, the
shelf and its folder are deleted (``UISession.close``).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from agent.api import counted

from .runtime import Runtime
from .visitor_log import log_shown
from .session import UISession
from .documents import MAX_DOCUMENTS, MAX_FILE_MB, UPLOAD_TYPES, shared_summary, status_text

log = logging.getLogger(__name__)

INTRO = (f"Add PDF, text, Markdown or HTML files (up to {MAX_DOCUMENTS}, {MAX_FILE_MB} MB each) and ask "
         "about them: the model can search them beside the web. They are private to this browser "
         "tab and deleted when you close it.")
HEADERS = ["File", "Type", "Passages"]
UPLOADS = "uploads"  # the search provider of a session's own uploads (agent/registry.py)
ONLY_LABEL = "Search only my documents"
ONLY_INFO = "The model searches the files added here, and neither the web nor any shared index."
# Demo mode's recorded answers search only their bundled results: uploads would go unused unsaid.
DEMO_NOTE = ("**Demo mode:** the recorded answers do not search uploaded documents; they are indexed "
             "and listed here, and a real model would search them.")

# Opens a cited document's passage when its [n] is clicked (the link targets #passage-<answer>-<n>,
# an id only that answer's Sources panel holds).
PASSAGE_JS = """
() => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#passage-"]');
    if (!link) return;
    const target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    event.preventDefault();
    target.open = true;
    target.scrollIntoView({block: "center"});
  });
}
"""


class DocumentsPanel:
    """Handlers for one app."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def upload(self, files: Any, session: UISession | None, request: gr.Request) -> tuple:
        paths = [f if isinstance(f, str) else getattr(f, "name", "") for f in (files or [])]
        if session is None:
            session = UISession.open(self.rt, getattr(request, "session_hash", None))
        messages = session.documents.add([p for p in paths if p])
        for message in messages:
            if message.startswith("✗"):
                log_shown("a document upload", message)
        _forget_uploads(paths)
        session.chat.use_indexes(session.documents.indexes)
        added = sum(m.startswith("✓") for m in messages)
        note = f"  \n{DEMO_NOTE}" if self.rt.label and added else ""
        if note:  # whoever runs the app reads the terminal: uploads that go unused are said there too
            log.info("demo mode: a visitor added %s, which the recorded answers do not search",
                     counted(added, "document"))
        return (session, *self._listing(session), status_text(messages) + note)

    def remove(self, name: Any, session: UISession | None) -> tuple:
        if session is None:
            return (*self._listing(None), "Nothing to remove yet.")
        message = session.documents.remove(str(name or ""))
        return (*self._listing(session), status_text([message]))

    @staticmethod
    def _listing(session: UISession | None) -> tuple:
        rows = session.documents.rows() if session is not None else []
        names = [r[0] for r in rows]
        return (gr.Dataframe(value=rows, headers=HEADERS, visible=bool(rows)),
                gr.Dropdown(choices=names, value=names[-1] if names else None, interactive=bool(names)))


def build_documents_panel(runtime: Runtime, *, session: gr.State, provider: gr.Dropdown) -> None:
    """The accordion, wired to the session state and the Settings' search provider (which its
    "Search only my documents" box sets); call inside the Blocks."""
    panel = DocumentsPanel(runtime)
    with gr.Accordion("Documents", open=False, elem_id="documents"):
        demo = f"\n\n{DEMO_NOTE}" if runtime.label else ""
        gr.Markdown(INTRO + _shared_line(runtime) + demo, elem_id="documents-intro")
        upload = gr.UploadButton("Add documents", file_types=UPLOAD_TYPES, file_count="multiple",
                                 size="sm", elem_id="doc-upload")
        table = gr.Dataframe(value=[], headers=HEADERS, interactive=False, visible=False,
                             elem_id="doc-list", label="Your documents")
        with gr.Row():
            choice = gr.Dropdown(choices=[], label="Document", interactive=False, elem_id="doc-choice",
                                 scale=3)
            remove = gr.Button("Remove", size="sm", elem_id="doc-remove", scale=1)
        status = gr.Markdown("", elem_id="doc-status")
        # The recorded demo answers search no uploads: no choice that would do nothing.
        only = gr.Checkbox(value=runtime.settings.provider == UPLOADS, label=ONLY_LABEL, info=ONLY_INFO,
                           visible=not runtime.label, elem_id="docs-only")
    # show_progress hidden: Gradio's status tracker announced its untranslated "common.complete"
    # key after each upload; the status line below says what happened.
    upload.upload(panel.upload, [upload, session], [session, table, choice, status], show_progress="hidden",
                  api_visibility="private", concurrency_id="documents", concurrency_limit=4)
    remove.click(panel.remove, [choice, session], [table, choice, status], api_visibility="private",
                 concurrency_id="documents", show_progress="hidden")
    # One setting, two places: the box sets the provider and the provider sets the box.
    fallback = runtime.settings.provider if runtime.settings.provider != UPLOADS else "auto"
    only.input(lambda on: UPLOADS if on else fallback, [only], [provider], queue=False,
               api_visibility="private", show_progress="hidden")
    provider.input(lambda name: name == UPLOADS, [provider], [only], queue=False, api_visibility="private",
                   show_progress="hidden")


def _forget_uploads(paths: list[str]) -> None:
    """Gradio keeps every upload in its cache until the server restarts; a visitor's documents must
    not outlive their session, and their index now holds all that is needed of them."""
    cache = Path(get_upload_folder()).resolve()
    for raw in paths:
        path = Path(raw).resolve() if raw else cache
        if path.parent == cache or not path.is_relative_to(cache):
            continue  # only a file in its own upload folder inside the cache is Gradio's copy
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # the upload's folder, once empty


def _shared_line(runtime: Runtime) -> str:
    line = shared_summary(runtime.settings.index_dir)
    return f"\n\n{line}" if line else ""
