"""The ZeroGPU path of ChatSession: one pickled GPU call per answer, state kept in the app."""

import pickle
import threading

import pytest

from agent import session as session_mod
from agent.backends.scripted import ScriptedBackend
from agent.events import Done, SearchDone, Thinking
from agent.search import SearchChain
from agent.session import ChatSession
from tests.engine_helpers import FakeProvider, answer, call, result, settings


def fake_spaces_gpu(fn, *, duration_s):
    """Like spaces' worker: arguments and every yielded value cross a pickle boundary."""

    def wrapper(*args):
        assert duration_s(*args) == args[1].gpu_duration_s == 180  # asked per call, from settings
        args = pickle.loads(pickle.dumps(args))
        gen = fn(*args)
        try:
            for value in gen:
                yield pickle.loads(pickle.dumps(value))
        finally:
            gen.close()
    return wrapper


@pytest.fixture
def zero_gpu(monkeypatch):
    monkeypatch.setattr(session_mod, "on_zero_gpu", lambda: True)
    monkeypatch.setattr(session_mod, "gpu_answer",
                        fake_spaces_gpu(session_mod.answer_in_one_call, duration_s=session_mod._gpu_seconds))
    # The worker builds its own search chain from settings: route it to a fake provider.
    class Sequenced(FakeProvider):
        """First call returns pages 1-2, later calls pages 2-3."""

        def search(self, query, *, max_results):
            self.calls.append(query)
            return [result_obj(n) for n in ((1, 2) if len(self.calls) == 1 else (2, 3))]

    provider = Sequenced({})
    monkeypatch.setattr(session_mod, "build_search", lambda s, **_: SearchChain([provider], backoff_s=0))
    return provider


def result_obj(n):
    from agent.search.base import SearchResult

    return SearchResult(**result(n))


def make_session(rounds, **kw):
    s = settings(**kw)
    backend = ScriptedBackend(rounds=rounds, settings=s)
    return ChatSession(settings=s, backend=backend, search=SearchChain([FakeProvider({})], backoff_s=0))


def test_answers_run_in_one_gpu_call_and_each_answer_numbers_from_one(zero_gpu):
    # The scripted backend replays its rounds from the start for every question.
    chat = make_session([call("a"), answer("answer [1] [3]")])
    first = list(chat.ask("q1?"))
    assert isinstance(first[-1], Done) and first[-1].cited == (1,)  # [3] does not exist
    assert [s.id for s in chat.registry.all()] == [1, 2]
    # The model reads its earlier answer with domains where the numbers were, none left dangling.
    assert chat.history == [("user", "q1?"), ("assistant", "answer (example.com)")]
    second = list(chat.ask("q2?"))
    sd = next(e for e in second if isinstance(e, SearchDone))
    assert [(r.id, r.url) for r in sd.results] == [(1, "https://example.com/2"), (2, "https://example.com/3")]
    assert second[-1].cited == (1,)


def test_stop_closes_the_gpu_generator(zero_gpu):
    chat = make_session(["think " * 300 + "</think>never"], script_delay_s=0.001)
    cancel = threading.Event()
    seen = []
    for event in chat.ask("q?", cancel=cancel):
        seen.append(event)
        if isinstance(event, Thinking) and len(seen) == 2:
            cancel.set()
    assert len(seen) <= 3 and not any(isinstance(e, Done) for e in seen)
    assert chat.history == []


def test_a_visitors_uploads_are_searched_inside_the_gpu_call(monkeypatch, tmp_path):
    """The worker gets the upload folders as plain paths and opens them itself (read-only)."""
    from ui.documents import DocumentShelf

    monkeypatch.setattr(session_mod, "on_zero_gpu", lambda: True)
    monkeypatch.setattr(session_mod, "gpu_answer",
                        fake_spaces_gpu(session_mod.answer_in_one_call, duration_s=session_mod._gpu_seconds))
    (tmp_path / "notes.md").write_text("# Notes\n\nThe vault code is 4711.\n", encoding="utf-8")
    shelf = DocumentShelf()
    try:
        shelf.add([str(tmp_path / "notes.md")])
        documents_call = ('Look.\n</think>\n\n<tool_call>\n{"name": "search_documents", '
                          '"arguments": {"query": "vault code"}}\n</tool_call>')
        chat = make_session([documents_call, answer("It is 4711 [1].")])
        chat.use_indexes(shelf.indexes)
        events = list(chat.ask("What is the vault code?"))
    finally:
        shelf.close()
    done = events[-1]
    assert isinstance(done, Done) and done.cited == (1,)
    assert (done.sources[0].kind, done.sources[0].file) == ("document", "notes.md")


def test_a_fork_runs_in_one_gpu_call_and_reuses_the_recorded_search(zero_gpu):
    chat = make_session([call("a"), answer("answer [1]")], read="off")
    list(chat.ask("q1?"))
    assert zero_gpu.calls == ["a"]
    turn = chat.record.path()[0]
    after = next(i for i, e in enumerate(turn.events) if isinstance(e, SearchDone)) + 1
    chat.backend = ScriptedBackend(rounds=[answer("forked [2]")], settings=chat.settings)
    events = list(chat.fork(turn.id, at=after))
    assert zero_gpu.calls == ["a"]  # the plan crossed the pickle boundary; nothing was searched again
    assert events[-1].answer == "forked [2]" and events[-1].cited == (2,)
    assert chat.record.turns[chat.record.head].fork_of == turn.id


def test_the_model_check_on_request_runs_in_a_gpu_call_of_its_own(monkeypatch):
    from agent.claims import check_answer
    from agent.events import SourceRef

    calls = []

    def fake_gpu_call(fn, *, duration_s):
        def wrapper(*args):  # a plain function: arguments and result cross a pickle boundary
            calls.append(duration_s(*args))
            return pickle.loads(pickle.dumps(fn(*pickle.loads(pickle.dumps(args)))))
        return wrapper
    monkeypatch.setattr(session_mod, "on_zero_gpu", lambda: True)
    monkeypatch.setattr(session_mod, "gpu_check", fake_gpu_call(session_mod.check_in_one_call,
                                                                duration_s=session_mod._check_seconds))
    source = SourceRef(id=1, title="t", url="", kind="document", file="f.txt", text="The tower is 330 metres tall.")
    done = Done(answer="The tower is 330 m tall [1].", sources=(source,), cited=(1,),
                claims=tuple(check_answer("The tower is 330 m tall [1].", [source])))
    chat = make_session(["not the verdicts"])  # the worker's model replies garbage
    judged, problem = chat.check_with_model(done, cancel=threading.Event())
    assert calls == [70]  # the judge's 60 s and a margin, within the answer's GPU duration
    assert judged == done and "could not run" in problem
