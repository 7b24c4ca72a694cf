"""One question, end to end: ask it, record its trace and HTML report, score the answer."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from ..backends.base import Backend, BackendError, Conversation
from ..claims.metrics import citation_metrics
from ..config import Settings, redact
from ..events import Done, Error
from ..loop import InputError
from ..records.report import export
from ..search import SearchChain
from ..judge import JudgeError
from ..session import ChatSession
from ..records.trace import TraceError, TraceWriter
from .dataset import Question
from .prediction import extract_prediction
from .results import End, Result, Verdict
from .scoring import score, strip_citations


class Judge(Protocol):
    def grade(self, *, question: str, golden_answers: tuple[str, ...], answer: str) -> Verdict:
        ...


@dataclass(frozen=True, kw_only=True)
class Asker:
    """What every question of one eval run shares: the model, the search and where files go."""

    settings: Settings
    backend: Backend
    search: SearchChain
    out: Path
    judge: Judge | None = None

    def ask(self, q: Question, cancel: threading.Event) -> Result | None:
        """The scored result of ``q``, or ``None`` when ``cancel`` stopped it (it runs again
        on resume)."""
        name = file_stem(q.id)
        trace_rel, report_rel = f"traces/{name}.jsonl", f"reports/{name}.html"
        trace_path = self.out / trace_rel
        trace_path.unlink(missing_ok=True)  # an interrupted earlier attempt
        writer = TraceWriter(trace_path, question=q.question, settings=self.settings,
                             model=getattr(self.backend, "model_id", self.settings.model))
        start = time.monotonic()
        done, error = None, None
        try:
            session = ChatSession(settings=self.settings, backend=self.backend, search=self.search)
            for event in session.ask(q.question, cancel=cancel):
                writer.write(event)
                if isinstance(event, Done):
                    done = event
                elif isinstance(event, Error):
                    error = event.message
        except (BackendError, InputError) as exc:
            error = redact(str(exc), self.settings.secrets)
            writer.write(Error(message=error))
        finally:
            writer.close()
        if cancel.is_set():
            return None
        seconds = time.monotonic() - start
        return self._result(q, done, error, seconds, trace_rel, self._report(trace_path, report_rel))

    def _report(self, trace_path: Path, report_rel: str) -> str | None:
        try:
            html = export(trace_path, fmt="html")
        except TraceError:
            return None  # a run without done or error (crashed mid-way): the table says so
        path = self.out / report_rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        return report_rel

    def _result(self, q: Question, done: Done | None, error: str | None, seconds: float,
                trace_rel: str, report_rel: str | None) -> Result:
        answer = done.answer if done is not None else ""
        prediction = extract_prediction(answer, dialect=self.settings.dialect)
        scores = score(prediction, q.golden_answers)
        verdict, judge_error = self._judge(q, answer) if done is not None and answer.strip() else (None, None)
        result = Result(
            id=q.id, question=q.question, golden_answers=list(q.golden_answers), answer=answer,
            prediction=strip_citations(prediction).strip(), em=scores.em, f1=round(scores.f1, 6),
            subem=scores.subem, searches=done.searches if done is not None else 0,
            cited=list(done.cited) if done is not None else [], end=_end(done), error=error,
            seconds=round(seconds, 3), tokens=done.stats.generated_tokens if done is not None else 0,
            trace=trace_rel, report=report_rel, judge=verdict, judge_error=judge_error,
        )
        return replace(result, **citation_metrics(answer, done.sources)) if done is not None else result

    def _judge(self, q: Question, answer: str) -> tuple[Verdict | None, str | None]:
        if self.judge is None:
            return None, None
        try:
            return self.judge.grade(question=q.question, golden_answers=q.golden_answers,
                                    answer=strip_citations(answer).strip()), None
        except JudgeError as exc:
            return None, redact(str(exc), self.settings.secrets)


def _end(done: Done | None) -> End:
    return "error" if done is None else done.end


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(qid: str) -> str:
    """A file name for an id; ids that are not already safe get a hash so two never collide."""
    safe = _UNSAFE.sub("_", qid)[:60].strip("._") or "q"
    return safe if safe == qid else f"{safe}-{hashlib.sha1(qid.encode()).hexdigest()[:8]}"


class NoteBackend:
    """A backend whose conversations get ``note`` appended to their system message.

    The eval's answer-format instruction travels this way so that the question,
    which a scripted catalogue and the benchmarks match on, stays as written.
    """

    def __init__(self, backend: Backend, note: str) -> None:
        self._backend, self._note = backend, note
        self.name, self.model_id = backend.name, backend.model_id

    @property
    def loaded(self) -> bool:
        return self._backend.loaded

    def load(self) -> None:
        self._backend.load()

    def start(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
              settings: Settings | None = None) -> Conversation:
        if messages and messages[0].get("role") == "system":
            first = dict(messages[0], content=f"{messages[0]['content']}\n\n{self._note}")
            messages = [first, *messages[1:]]
        return self._backend.start(messages, tools, settings=settings)

    def close(self) -> None:
        self._backend.close()
