"""The history panel's handlers in process: an answer is saved as its record turn, reopening gives
the model its memory back (a follow-up continues the conversation, and is saved after it), and a
data folder that cannot be used leaves the app running with history off, saying so."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import app
import gradio as gr
from agent.api import HistoryConfig, Settings, new_secret
from ui.handlers import Handlers
from ui.saved_panel import SavedPanel

DATA = Path(__file__).resolve().parents[1] / "data"
QUESTION = "How tall is the Eiffel Tower?"


def _runtime(folder: Path):
    settings = Settings(backend="scripted", model_script=str(DATA / "ui.script.json"), provider="fixture",
                        search_fixture=str(DATA / "ui.search.json"))
    return app.make_runtime(settings, history=HistoryConfig(data_dir=folder))


def _ask(handlers: Handlers, question: str, history: list, session) -> tuple[list, object]:
    frames = list(handlers.ask(question, history, session, request=SimpleNamespace(session_hash=None)))
    _, chat, _, session = frames[-1][:4]
    return chat, session


def test_reopening_gives_the_model_its_memory_and_a_follow_up_is_saved_after_it(tmp_path):
    runtime = _runtime(tmp_path)
    handlers = Handlers(runtime)
    panel = SavedPanel(runtime, runtime.saved, new_session=handlers._new_session)
    secret = panel.ensure_secret(None)
    # A browser keeps its secret: no update, so the history list is drawn once as a page opens.
    assert panel.ensure_secret(secret) == gr.skip()
    chat, session = _ask(handlers, QUESTION, [], None)
    version, title, _, status = panel.keep(secret, session, 0)
    assert version == 1 and title == QUESTION and status == ""
    conversation = session.saved_id

    request = SimpleNamespace(session_hash="tab-2")
    messages, reopened, title, share, _, *downloads = panel.open(secret, None, request, conversation=conversation)
    assert title == QUESTION and len(messages) == len(chat)
    # The downloads follow the chat shown (issue 25.4): no last answer's, and the opened conversation's.
    assert [d.visible for d in downloads] == [False, False, False, True, True]
    (md,) = reopened.downloads.export_folder.glob("deepsearch-conversation-*.md")
    assert md.read_text(encoding="utf-8").startswith(f"# {QUESTION}")
    memory = reopened.chat.history
    assert memory[0] == ("user", QUESTION) and "330" in memory[1][1]

    _, reopened = _ask(handlers, "And in feet?", messages, reopened)
    panel.keep(secret, reopened, 1)
    saved = runtime.saved.store.load(panel.saved.owner(secret), conversation)
    assert [t.turn.question for t in saved.path()] == [QUESTION, "And in feet?"]
    assert saved.path()[1].turn.parent == saved.path()[0].turn.id


def test_an_answer_after_an_unsaved_one_hangs_from_the_last_saved_turn(tmp_path):
    runtime = _runtime(tmp_path)
    handlers = Handlers(runtime)
    panel = SavedPanel(runtime, runtime.saved, new_session=handlers._new_session)
    secret = panel.ensure_secret(None)
    chat, session = _ask(handlers, QUESTION, [], None)
    panel.keep(secret, session, 0)
    chat, session = _ask(handlers, "not saved (as a stopped answer is not)", chat, session)
    session.to_save.clear()
    chat, session = _ask(handlers, "third", chat, session)
    panel.keep(secret, session, 1)
    saved = runtime.saved.store.load(panel.saved.owner(secret), session.saved_id)
    assert saved.problems == []
    assert [t.turn.question for t in saved.path()] == [QUESTION, "third"]


def test_regenerate_before_the_save_ran_keeps_both_branches(tmp_path):
    """Regenerate clicked as an answer ends starts the next answer before the history's save (a
    separate event after the answer) runs: the next answer deletes the first one's files, and may
    end first. Both answers are saved, as the two branches the chat shows."""
    runtime = _runtime(tmp_path)
    handlers = Handlers(runtime)
    panel = SavedPanel(runtime, runtime.saved, new_session=handlers._new_session)
    secret = panel.ensure_secret(None)
    chat, session = _ask(handlers, QUESTION, [], None)
    first = session.record.head
    folder = session.downloads.export_folder
    frames = list(handlers.regenerate(chat, session, request=SimpleNamespace(session_hash=None)))
    session = frames[-1][3]
    assert not folder.exists()  # the first answer's trace is gone
    version, title, _, status = panel.keep(secret, session, 0)
    assert (version, title, status) == (1, QUESTION, "")
    saved = runtime.saved.store.load(panel.saved.owner(secret), session.saved_id)
    assert saved.problems == []
    assert {first, session.record.head} == set(saved.turns) and first != session.record.head
    assert saved.branches() == [(2, 2)]
    assert [t.turn.id for t in saved.path()] == [session.record.head]  # it opens on the branch shown


def test_an_unusable_data_folder_leaves_history_off_and_says_why(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    runtime = _runtime(blocker / "data")
    assert runtime.saved.store is None
    assert runtime.saved.status().startswith("History is off: the data folder")
    handlers = Handlers(runtime)
    chat, session = _ask(handlers, QUESTION, [], None)  # answers as ever
    assert any("330" in str(getattr(m, "content", "")) for m in chat)
    panel = SavedPanel(runtime, runtime.saved, new_session=handlers._new_session)
    assert panel.saved.owner(new_secret()) is None
