"""The history list beside the chat (``elem_id="history"``) and its events.

Entries are buttons named by their titles, grouped “Today”, “Previous 7 days”, “Older”, newest
first; the search box filters by text. The conversation shown in the chat can be renamed,
deleted for good, or shared as the player file (“Share”).
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from agent.api import HistoryError, HistoryStore, new_secret

from .notices import for_visitor
from .runtime import Runtime
from .saved import GROUPS, LIST_LIMIT, SavedHistory, chat_messages, group_of, player_file

log = logging.getLogger(__name__)


class SavedPanel:
    """Builds the sidebar and wires it to the chat's ``chatbot`` and ``session`` state."""

    def __init__(self, runtime: Runtime, saved: SavedHistory, *, new_session: Any) -> None:
        self.rt, self.saved, self._new_session = runtime, saved, new_session
        self.downloads: list[gr.DownloadButton] = []

    def build(self, *, chatbot: gr.Chatbot, session: gr.State, downloads: list[gr.DownloadButton]) -> None:
        """``downloads``: the last answer's three and the conversation's two, which opening or deleting
        a conversation updates (they must hold what the chat shows, not the chat it replaced)."""
        saved = self.saved
        self.downloads = downloads
        self.secret = gr.BrowserState(None, storage_key="deepsearch-history-owner", secret=saved.key or "")
        self.version = gr.State(0)
        self.chatbot, self.session = chatbot, session
        with gr.Sidebar(label="History", open=False, elem_id="history", position="left"):
            self.status = gr.Markdown(saved.status(), elem_id="history-status")
            if saved.store is None:
                return
            self.search = gr.Textbox(placeholder="Search history", show_label=False, elem_id="history-search",
                                     lines=1, max_lines=1)
            with gr.Group(elem_id="history-open"):
                self.title = gr.Textbox(label="Open conversation", elem_id="history-title", max_lines=1,
                                        interactive=True)
                with gr.Row():
                    rename = gr.Button("Rename", size="sm", elem_id="history-rename")
                    delete = gr.Button("Delete", size="sm", variant="stop", elem_id="history-delete")
                    self.share = gr.DownloadButton("Share", size="sm", visible=False, elem_id="history-share")
                if saved.share_links:
                    with gr.Row():
                        link = gr.Button("Share link", size="sm", elem_id="history-link")
                        revoke = gr.Button("Revoke link", size="sm", elem_id="history-revoke")
                    self.link = gr.Markdown("", elem_id="history-link-text")
            self._entries()
        rename.click(self.rename, [self.secret, session, self.title, self.version], [self.version, self.status],
                     api_visibility="private")
        delete.click(self.delete, [self.secret, session, self.version],
                     [chatbot, session, self.version, self.title, self.share, self.status, *downloads],
                     api_visibility="private")
        self.search.submit(lambda v: v + 1, self.version, self.version, api_visibility="private", queue=False)
        if saved.share_links:
            link.click(self.make_link, [self.secret, session], [self.link], api_visibility="private")
            revoke.click(self.revoke_link, [self.secret, session], [self.link], api_visibility="private")

    def wire_load(self, demo: gr.Blocks) -> None:
        if self.saved.store is not None:
            demo.load(self.ensure_secret, self.secret, self.secret, api_visibility="private", queue=False)

    def after_answer(self, event: Any) -> None:
        """Save each finished answer, then refresh the list and the Share file."""
        if self.saved.store is not None:
            event.then(self.keep, [self.secret, self.session, self.version],
                       [self.version, self.title, self.share, self.status], api_visibility="private")

    def after_switch(self, event: Any) -> None:
        """Another branch is shown: it is the one a reopened conversation (and Share) shows."""
        if self.saved.store is not None:
            event.then(self.remember_branch, [self.secret, self.session], [self.share, self.status],
                       api_visibility="private", queue=False)

    # -- the list ------------------------------------------------------

    def _entries(self) -> None:
        # Drawn when an input changes, not also on the page's load: the browser state's own change
        # as the page opens draws it, and a second drawing could take an entry's click (see
        # ``ensure_secret``).
        @gr.render(inputs=[self.secret, self.search, self.version],
                   triggers=[self.secret.change, self.search.change, self.version.change])
        def entries(secret: Any, query: Any, _version: int) -> None:
            owner = self.saved.owner(secret)
            rows = self._store.list(owner, query=str(query or ""), limit=LIST_LIMIT) if owner else []
            if not rows:
                gr.Markdown("No saved conversations yet." if not query else "Nothing found.",
                            elem_classes=["history-empty"])
            grouped = {name: [r for r in rows if group_of(r.updated) == name] for name in GROUPS}
            for name, items in grouped.items():
                if not items:
                    continue
                gr.Markdown(f"**{name}**", elem_classes=["history-group"])
                for row in items:
                    button = gr.Button(row.title, size="sm", elem_classes=["history-entry"], key=f"h-{row.id}")
                    button.click(self._opener(row.id), [self.secret, self.session],
                                 [self.chatbot, self.session, self.title, self.share, self.status,
                                  *self.downloads], api_visibility="private")

    # -- handlers ------------------------------------------------------

    @property
    def _store(self) -> HistoryStore:
        """The store: ``build`` wires no handler when there is none."""
        if self.saved.store is None:
            raise RuntimeError("history is off, so no history handler is wired")
        return self.saved.store

    def _opener(self, conversation: str) -> Any:
        def open_it(secret: Any, session: Any, request: gr.Request) -> tuple:
            return self.open(secret, session, request, conversation=conversation)

        return open_it

    def ensure_secret(self, secret: Any) -> Any:
        """A new secret for a browser without one; no update for one that has it: an update would
        draw the history list a second time as the page opens, and a click on an entry between the
        two drawings went to the listener the second one replaced (an error, the chat not opened)."""
        return gr.skip() if self.saved.owner(secret) else new_secret()

    def open(self, secret: Any, session: Any, request: gr.Request, *, conversation: str) -> tuple:
        owner = self.saved.owner(secret)
        if owner is None:
            raise gr.Error("History is not available in this browser.", print_exception=False)
        try:
            saved = self._store.load(owner, conversation)
        except HistoryError as exc:
            raise gr.Error(for_visitor(str(exc)), title="Cannot open", print_exception=False) from None
        if session is not None:
            session.control.request_stop()
            session.close()
        fresh = self._new_session(request)
        # The saved record becomes the chat's: the model remembers it, the downloads export it.
        record = saved.record
        record.keep_events = self.rt.settings.max_history_turns
        fresh.adopt(record)
        fresh.saved_id, fresh.saved_turns = saved.summary.id, set(saved.turns)
        messages = chat_messages(saved, max_searches=self.rt.settings.max_searches, secrets=self.rt.secrets,
                                 views=fresh.views)
        notice = "; ".join(saved.problems)
        return (messages, fresh, saved.summary.title, self._share(saved),
                f"⚠ {notice}" if notice else self.saved.status(), *self._downloads_of(fresh))

    def keep(self, secret: Any, session: Any, version: int) -> tuple:
        owner = self.saved.owner(secret)
        if owner is None or session is None or not session.to_save:
            return version, gr.skip(), gr.skip(), gr.skip()
        problem = self.saved.keep(owner, session)
        if problem:
            return version, gr.skip(), gr.skip(), f"⚠ {problem}"
        saved = self._store.load(owner, session.saved_id)
        return version + 1, saved.summary.title, self._share(saved), self.saved.status()

    def remember_branch(self, secret: Any, session: Any) -> tuple:
        owner, conversation = self.saved.owner(secret), session.saved_id if session is not None else None
        if owner is None or conversation is None:
            return gr.skip(), gr.skip()
        problem = self.saved.show(owner, session)
        if problem:
            return gr.skip(), f"⚠ {for_visitor(problem)}"
        return self._share(self._store.load(owner, conversation)), self.saved.status()

    def rename(self, secret: Any, session: Any, title: Any, version: int) -> tuple:
        owner, conversation = self.saved.owner(secret), session.saved_id if session is not None else None
        if owner is None or conversation is None:
            return gr.skip(), "Nothing to rename: ask a question or open a saved conversation first."
        try:
            self._store.rename(owner, conversation, str(title or ""))
        except HistoryError as exc:
            return gr.skip(), for_visitor(str(exc))
        return version + 1, self.saved.status()

    def delete(self, secret: Any, session: Any, version: int) -> tuple:
        owner, conversation = self.saved.owner(secret), session.saved_id if session is not None else None
        if owner is None or conversation is None:
            return (gr.skip(),) * 5 + ("Nothing to delete: open a saved conversation first.",) + self._kept()
        try:
            self._store.delete(owner, conversation)
        except HistoryError as exc:
            return (gr.skip(),) * 5 + (for_visitor(str(exc)),) + self._kept()
        session.control.request_stop()
        session.close()
        hidden = gr.DownloadButton(value=None, visible=False)
        return [], None, version + 1, "", hidden, "Deleted.", *[hidden] * len(self.downloads)

    def _kept(self) -> tuple[Any, ...]:
        return (gr.skip(),) * len(self.downloads)

    @staticmethod
    def _downloads_of(session: Any) -> list[Any]:
        """The downloads of an opened conversation: no last answer's (none was just answered), and
        the whole conversation as the chat now shows it."""
        session.downloads.new_export_dir()  # a fresh session has no folder yet
        paths = session.downloads.write_conversation()
        session.downloads.shown, session.downloads.conversation_shown = False, all(paths)
        answer = [gr.DownloadButton(value=None, visible=False)] * 3
        return answer + [gr.DownloadButton(value=path, visible=path is not None) for path in paths]

    def make_link(self, secret: Any, session: Any) -> str:
        """A new read-only link to the open conversation (an earlier one stops working)."""
        owner, conversation = self.saved.owner(secret), session.saved_id if session is not None else None
        if owner is None or conversation is None:
            return "Nothing to share: ask a question or open a saved conversation first."
        token = self._store.share(owner, conversation)
        return (f"Anyone with this link can read this conversation: [/share/{token}](/share/{token}) "
                "(until you revoke it or delete the conversation).")

    def revoke_link(self, secret: Any, session: Any) -> str:
        owner, conversation = self.saved.owner(secret), session.saved_id if session is not None else None
        if owner is None or conversation is None:
            return "Nothing to revoke."
        self._store.revoke(owner, conversation)
        return "The share link was revoked."

    @staticmethod
    def _share(saved: Any) -> Any:
        try:
            path = player_file(saved)
        except Exception:  # noqa: BLE001 - the chat works without its share file
            log.exception("cannot write the share player")
            path = None
        return gr.DownloadButton(value=path, visible=path is not None)
