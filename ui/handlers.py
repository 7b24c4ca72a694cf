"""What each event of the chat does: ask (and its example, regenerate and edit forms), Stop,
New chat, replays, the model's loading status. Handlers are thin: they validate input, hand the
question to the engine and map its events with ``AnswerView``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Generator, Iterator

import gradio as gr

from agent.api import (Error, Event, InputError, SearchStart, Settings, SettingsError, TraceError, Turn, pace,
                       provider_spec, read_trace, validate_question)

from .citations import escape_text
from .history import content_text, last_turn_start, mark_stopped
from .answer_run import AnswerRun
from .branches import path_messages
from .mapper import AnswerView
from .outputs import AnswerOutputs, ClearedOutputs
from .pump import stamp_ms
from .recording import Recorder, replay_exports
from .runtime import Runtime
from .visitor_log import log_shown, refusal
from .run_control import SessionBusy, interruptible_sleep
from .session import UISession, Unsaved
from .titles import REPLAY_STOPPED_TEXT

log = logging.getLogger(__name__)

REPLAY_LABEL = "Replay of a recorded trace"
NO_DOCUMENTS = ("Search only my documents is on, but no document has been added yet: add files in the Documents "
                "panel (in ⚙ Settings), or untick it to search the web.")
STOP_WAIT_S = 2.0  # Stop's reply waits at most this for the answer's handler (its grace is 1 s)


def _stopped_meter(session: UISession) -> str:
    return f"{session.last_meter.split(' · ')[0]} · stopped"


def begin_answer(session: UISession) -> Any:
    try:
        return session.control.begin()
    except SessionBusy as exc:
        raise refusal("Still stopping", exc) from None


class Handlers:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    # -- asking ------------------------------------------------------------

    def settings_for(self, max_searches: Any = None, provider: Any = None, results: Any = None,
                  temperature: Any = None, max_new_tokens: Any = None, read: Any = None,
                  check_claims: Any = None) -> Settings:
        try:
            return self.rt.settings.with_overrides(
                max_searches=None if max_searches is None else int(max_searches),
                provider=provider or None,
                results_per_search=None if results is None else int(results),
                temperature=None if temperature is None else float(temperature),
                max_new_tokens=None if max_new_tokens is None else int(max_new_tokens),
                read=read or None,
                check_claims=check_claims or None,
            )
        except (SettingsError, TypeError, ValueError) as exc:
            raise refusal("Settings not applied", exc) from None

    # The seven Settings controls are named parameters (the API names its inputs after them);
    # ``request`` is filled in by Gradio: it says which browser session is asking.
    def ask(self, message: str, history: list[Any] | None, session: UISession | None,
            max_searches: Any = None, provider: Any = None, results: Any = None,
            temperature: Any = None, max_new_tokens: Any = None, read: Any = None,
            check_claims: Any = None, request: gr.Request | None = None) -> Iterator[tuple]:
        controls = (max_searches, provider, results, temperature, max_new_tokens, read, check_claims)
        yield from self._answer(message, list(history or []), session, controls, clear_question=True,
                                request=request)

    def ask_example(self, evt: gr.SelectData, history: list[Any] | None, session: UISession | None,
                    max_searches: Any = None, provider: Any = None, results: Any = None,
                    temperature: Any = None, max_new_tokens: Any = None, read: Any = None,
            check_claims: Any = None, request: gr.Request | None = None) -> Iterator[tuple]:
        value = evt.value
        text = value.get("text", "") if isinstance(value, dict) else str(value or "")
        controls = (max_searches, provider, results, temperature, max_new_tokens, read, check_claims)
        yield from self._answer(text, list(history or []), session, controls, request=request)

    def regenerate(self, history: list[Any] | None, session: UISession | None,
                   max_searches: Any = None, provider: Any = None, results: Any = None,
                   temperature: Any = None, max_new_tokens: Any = None, read: Any = None,
            check_claims: Any = None, request: gr.Request | None = None) -> Iterator[tuple]:
        """The last question asked afresh: its turn in the record, and so what the model remembers
        of it, is replaced."""
        controls = (max_searches, provider, results, temperature, max_new_tokens, read, check_claims)
        history = list(history or [])
        start = last_turn_start(history)
        if not start:
            yield AnswerOutputs.nothing().values()
            return
        index = _question_index(history, start - 1)
        turns = session.record.path() if session is not None else []
        # The question as recorded; a chat the record does not hold (a fresh session) has the
        # person's own words in its last question.
        question = (turns[index].question if index < len(turns)
                    else content_text(_field(history[start - 1], "content")))
        yield from self._answer(question, history[:start - 1], session, controls, branch=index, request=request)

    def edit(self, evt: gr.EditData, history: list[Any] | None, session: UISession | None,
             max_searches: Any = None, provider: Any = None, results: Any = None,
             temperature: Any = None, max_new_tokens: Any = None, read: Any = None,
            check_claims: Any = None, request: gr.Request | None = None) -> Iterator[tuple]:
        """An edited question is sent again; the conversation goes back to just before it."""
        controls = (max_searches, provider, results, temperature, max_new_tokens, read, check_claims)
        history = list(history or [])
        index = evt.index if isinstance(evt.index, int) else None
        if index is None or not 0 <= index < len(history) or _field(history[index], "role") != "user":
            raise refusal("Question not sent", "Only your own questions can be edited and sent again.")
        yield from self._answer(str(evt.value or ""), history[:index], session, controls,
                                branch=_question_index(history, index), request=request)

    def _answer(self, message: str, history: list[Any], session: UISession | None,
                controls: tuple[Any, ...], *, branch: int | None = None, clear_question: bool = False,
                request: gr.Request | None = None) -> Iterator[tuple]:
        """Answer ``message`` after ``history``; ``branch``: it replaces the record's turn of that
        index and every turn after it (regenerate, edit), as the chat drops them."""
        text = (message or "").strip()
        if not text:
            yield AnswerOutputs.nothing().values()
            return
        settings = self.settings_for(*controls)
        try:
            text = validate_question(text, settings)
        except InputError as exc:
            raise refusal("Question not sent", exc) from None
        session = session or self._new_session(request)
        if provider_spec(settings.provider).app_only and not session.documents.indexes:
            raise refusal("Question not sent", NO_DOCUMENTS)
        cancel = begin_answer(session)
        try:
            if branch is not None:
                session.record.branch_at(branch)
            try:
                session.configure(settings)
            except (ValueError, SettingsError) as exc:
                raise refusal("Settings not applied", exc) from None
            session.answered()
            view = AnswerView(max_searches=settings.max_searches, label=self.rt.label, secrets=self.rt.secrets,
                              clock=stamp_ms)  # the clock the pump stamps events with
            run = AnswerRun(session=session, history=history, shown_question=text, turn=session.record.begin(text),
                            view=view, cancel=cancel)
            # Only a question sent from the box empties it: an example, Regenerate or an edited
            # question leave a draft being typed there as it is.
            yield run.first(clear_question=clear_question).values()
            yield from self.play(run, settings, lambda: session.chat.ask(text, cancel=cancel, turn=run.turn))
        finally:
            session.control.end(cancel)  # Stop or a closed tab closes this generator: end generation for real

    def play(self, run: AnswerRun, settings: Settings, start: Callable[[], Iterator[Event]]) -> Iterator[tuple]:
        """Once the model is ready, run the engine (``start``: a question, or a fork) and stream its
        events into ``run``; the finished answer gets its downloads and is handed to the history."""
        ready = yield from self._await_model(run)
        if not ready:
            return
        try:
            events = start()
        except InputError as exc:
            raise refusal("Question not sent", exc) from None
        session, text = run.session, run.turn.question
        fork = run.turn.meta.get("fork")  # where a branch came from (ChatSession.fork)
        recorder = Recorder(session.downloads.new_export_dir(), question=text, runtime=self.rt,
                            settings=settings, fork=fork if isinstance(fork, dict) else None)
        run.turn.meta = {**recorder.meta, **({"fork": fork} if fork else {})}
        for frame in run.stream(events, recorder=recorder):
            yield frame.values()
        # The demo's note that no model runs here is no answer: nothing to download.
        files = recorder.reports(run.turn) if run.finished and not self.rt.is_demo_note(text) else None
        saving = self.rt.saved is not None and self.rt.saved.store is not None
        if run.finished and saving and (recorded := recorder.recorded()) is not None:
            session.to_save.append(Unsaved(*recorded, turn=run.turn))  # ui/saved.py
        if run.finished and not self.rt.is_demo_note(text):
            session.answered(run.view, run.turn, recorder.path)  # ui/model_check.py may check it again
        yield run.last(files).values()

    def conversation_files(self, session: UISession | None) -> list[Any]:
        """The two whole-conversation downloads, rewritten after each answer. Once shown they
        stay shown, and a plain path is enough: no rebuilt buttons (see ``_downloads``)."""
        answered = session is not None and not all(self.rt.is_demo_note(t.question) for t in session.record.path())
        paths = session.downloads.write_conversation() if session is not None and answered else (None, None)
        if session is not None and session.downloads.conversation_shown and all(paths):
            return list(paths)
        if session is not None:
            session.downloads.conversation_shown = all(paths)
        return [gr.DownloadButton(value=p, visible=p is not None) for p in paths]

    def hide_conversation(self, session: UISession | None) -> list[Any]:
        """Regenerate or an edit replaces answers the downloads hold: hidden until the new answer
        ends (``conversation_files`` shows them again, rebuilt)."""
        if session is not None:
            session.downloads.conversation_shown = False
        return [gr.DownloadButton(value=None, visible=False) for _ in range(2)]

    def _new_session(self, request: gr.Request | None) -> UISession:
        return UISession.open(self.rt, getattr(request, "session_hash", None))

    def closed(self, request: gr.Request) -> None:
        """The tab was closed: its answer stops and its export folder is deleted now (Gradio keeps
        a closed session's state for an hour in case it reconnects)."""
        self.rt.sessions.close(getattr(request, "session_hash", None))

    def _await_model(self, run: AnswerRun) -> Generator[tuple, None, bool]:
        """Frames while the model loads; False when the run ends here (stopped, or no model)."""
        loader = self.rt.loader
        if not loader.ready:
            loader.start()
            while not loader.wait(0.5):
                if run.cancel.is_set():
                    yield run.stopped().values()
                    return False
                run.view.set_notice("Waiting for the model", loader.status())
                yield run.streamed(meter="loading the model…").values()
            run.view.set_notice(None)
        if loader.error:
            log_shown("the model could not be loaded", loader.error, secrets=self.rt.secrets)
            run.view.feed(Error(message=loader.error))
            yield run.streamed().values()
            return False
        return True

    # -- run state -----------------------------------------------------------

    def settle(self) -> tuple:
        """Ask back after an answer's event that failed; the meter keeps its text (and loses the
        failed event's "Error" badge, which only a server reply clears)."""
        return gr.Button(visible=True), gr.Button(visible=False), gr.skip()

    def new_chat(self, session: UISession | None) -> tuple:
        """Start over: the running answer is stopped, and the model's memory, the source
        numbering, the meter and the downloads all go with the old session."""
        if session is not None:
            session.control.request_stop()
            session.control.handler_idle.wait(STOP_WAIT_S)
            session.close()
        hidden = gr.DownloadButton(value=None, visible=False)
        return ClearedOutputs(chat=[], meter="", session=None, trace=hidden, html=hidden, md=hidden, question="",
                              conversation_html=hidden, conversation_md=hidden).values()

    # -- stop --------------------------------------------------------------

    def stop(self, history: list[Any] | None, session: UISession | None) -> tuple:
        checking = session is not None and session.checking
        if session is None or not session.control.request_stop():
            return gr.skip(), gr.skip()
        if checking:  # the model check on request: the answer itself was finished and stays so
            session.check_stopped = True
            session.control.handler_idle.wait(STOP_WAIT_S)
            return gr.skip(), gr.skip()
        # Answer once the streaming handler has ended (within a token, or the pump's grace):
        # a frame it sent after this reply would overwrite the stopped state in the browser.
        session.control.handler_idle.wait(STOP_WAIT_S)
        return self._stopped_chat(list(history or []), session), _stopped_meter(session)

    def _stopped_chat(self, history: list[Any], session: UISession) -> list[Any]:
        """The chat as the stopped answer left it: drawn from the record when it holds every question
        shown (the branch controls come back to life), else the browser's chat closed as stopped."""
        path = session.record.path()
        if sum(1 for m in history if _field(m, "role") == "user") != len(path):
            return mark_stopped(history)
        return path_messages(session.record, session.views, path, max_searches=self.rt.settings.max_searches,
                             secrets=self.rt.secrets)

    # -- replay ------------------------------------------------------------

    def replay_upload(self, file: Any, history: list[Any] | None, session: UISession | None,
                      request: gr.Request | None = None) -> Iterator[tuple]:
        path = file if isinstance(file, str) else getattr(file, "name", None)
        if not path:
            yield AnswerOutputs.nothing().values()
            return
        yield from self._replay(path, history, session, request)

    def replay_startup(self, history: list[Any] | None, session: UISession | None,
                       request: gr.Request | None = None) -> Iterator[tuple]:
        if not self.rt.replay_path:
            yield AnswerOutputs.nothing().values()
            return
        yield from self._replay(self.rt.replay_path, history, session, request)

    def _replay(self, path: str, history: list[Any] | None, session: UISession | None,
                request: gr.Request | None = None) -> Iterator[tuple]:
        try:
            meta, pairs = read_trace(path)
        except TraceError as exc:
            # Name the file as the person knows it, not by the server's upload folder.
            raise refusal("Cannot replay this file", exc, rename=(str(path), Path(path).name)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise refusal("Cannot replay this file", "That file cannot be read as a trace.", cause=exc) from None
        question = " ".join(str(meta.get("question") or "(recorded question)").split())[:2000]
        budget = _budget(meta, pairs, self.rt.settings.max_searches)
        history = list(history or [])
        session = session or self._new_session(request)
        cancel = begin_answer(session)
        session.answered()
        label = f"{REPLAY_LABEL} (scripted, not a real model)" if meta.get("scripted") else REPLAY_LABEL
        view = AnswerView(max_searches=budget, label=label, secrets=self.rt.secrets,
                          stopped_text=REPLAY_STOPPED_TEXT, clock=stamp_ms)
        run = AnswerRun(session=session, history=history, shown_question=escape_text(question, limit=2000),
                        turn=session.record.begin(question, kind="replay", meta=meta), view=view, cancel=cancel)
        try:
            yield run.first(clear_question=False).values()
            events = recorded(run.turn, pace(pairs, speed=self.rt.replay_speed, sleep=interruptible_sleep(cancel)))
            for frame in run.stream(events, clean_errors=(TraceError,)):
                yield frame.values()
            if not run.finished:
                view.stopped_text = "You stopped this replay; what is above is partial."
            files = replay_exports(session.downloads.new_export_dir(), meta, pairs) if run.finished else None
            yield run.last(files).values()
        finally:
            session.control.end(cancel)

    # -- model status ------------------------------------------------------

    def tick(self) -> tuple:
        status = self.rt.loader.status()
        return gr.Markdown(status, visible=bool(status)), gr.Timer(active=self.rt.loader.loading)


def _question_index(history: list[Any], index: int) -> int:
    """Which of the record's turns the chat's message ``index`` belongs to: one turn per question."""
    return sum(1 for message in history[:index] if _field(message, "role") == "user")


def recorded(turn: Turn, events: Iterator[Event]) -> Iterator[Event]:
    """``events`` as they pass, added to ``turn`` (on the pump thread, like an answer's)."""
    for event in events:
        turn.add(event)
        yield event


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
