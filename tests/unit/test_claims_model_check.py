"""The model check on request (agent/claims/model_check.py): the app's own local model judges a
finished answer's claims; verdicts, garbage, a timeout, Stop and a failing backend."""

import json
import threading

from agent.backends.base import BackendError, Usage
from agent.claims import check_answer
from agent.claims.model_check import STOPPED, check_with_model, has_claims_to_judge, offers_model_check
from agent.config import Settings
from agent.events import Done, SourceRef

PAGE = "The Eiffel Tower is 330 metres tall. It opened on 31 March 1889."
SNIPPET = "The bridge opened in 1937."


def done_for(answer):
    sources = (SourceRef(id=1, title="s1", url="", kind="document", file="f.txt", text=PAGE),
               SourceRef(id=2, title="Bridge", url="https://example.com/bridge", snippet=SNIPPET))
    return Done(answer=answer, sources=sources, cited=(1,), claims=tuple(check_answer(answer, sources)))


class FakeConversation:
    def __init__(self, reply, backend):
        self.reply, self.backend = reply, backend
        self.usage, self.finish_reason = Usage(), None

    def generate(self, *, cancel):
        for chunk in self.backend.chunks(self.reply, cancel):
            if cancel.is_set():
                self.finish_reason = "cancelled"
                return
            yield chunk


class FakeBackend:
    """A local model whose reply ``make_reply(prompt, token)`` writes; ``stall(cancel)`` runs
    before each chunk (a slow model waits there)."""

    name, model_id, loaded = "fake", "fake", True

    def __init__(self, make_reply, *, stall=None):
        self.make_reply, self.stall, self.calls = make_reply, stall, []

    def start(self, messages, tools, *, settings=None):
        assert tools == [] and len(messages) == 1 and messages[0]["role"] == "user"
        prompt = messages[0]["content"]
        self.calls.append(prompt)
        token = prompt.split('"batch": "', 1)[1].split('"', 1)[0]
        return FakeConversation(self.make_reply(prompt, token), self)

    def chunks(self, reply, cancel):
        for chunk in (reply[:5], reply[5:]):
            if self.stall is not None:
                self.stall(cancel)
            yield chunk


def verdicts(token, *names):
    return "<think>let me see</think>" + json.dumps(
        {"batch": token, "verdicts": [{"claim": i, "verdict": v} for i, v in enumerate(names, 1)]})


ANSWER = "The Eiffel Tower is 330 m tall [1]. It opened in 1889 [1]. It opened in 1999 [1]. The bridge opened in 1937 [2]."


def test_the_local_model_judges_the_lexically_supported_claims():
    done = done_for(ANSWER)
    backend = FakeBackend(lambda p, t: verdicts(t, "supported", "contradicted", "partly"))
    judged, problem = check_with_model(done, backend, Settings(), threading.Event())
    assert problem is None and len(backend.calls) == 1
    assert [(c.verdict, c.layer) for c in judged.claims] == [
        ("supported", "judge"), ("contradicted", "judge"), ("not_supported", "lexical"), ("partly", "judge")]
    assert judged.claims[3].note == "Partly supported by [2] (the model) (checked against the snippet only)"
    assert judged.answer == done.answer and not has_claims_to_judge(judged)


def test_garbage_leaves_the_lexical_verdicts_and_says_the_check_could_not_run():
    done = done_for(ANSWER)
    judged, problem = check_with_model(done, FakeBackend(lambda p, t: "ĠqwenĠ<|im_end|> 12 !!"), Settings(),
                                       threading.Event())
    assert judged == done and problem.startswith("The model check of the cited sentences could not run")
    assert "the lexical check stands" in problem


def test_a_model_slower_than_the_timeout_gives_up():
    done = done_for(ANSWER)
    backend = FakeBackend(lambda p, t: verdicts(t, "supported", "supported", "supported"),
                          stall=lambda ended: ended.wait(30))  # a model that never finishes by itself
    judged, problem = check_with_model(done, backend, Settings(judge_timeout_s=0.2), threading.Event())
    assert judged == done and "gave no verdicts within 0.2 s" in problem


def test_stop_ends_the_check_and_keeps_the_lexical_verdicts():
    done = done_for(ANSWER)
    cancel = threading.Event()
    backend = FakeBackend(lambda p, t: verdicts(t, "supported", "supported", "supported"), stall=lambda ended: cancel.set())
    judged, problem = check_with_model(done, backend, Settings(), cancel)
    assert judged == done and problem == STOPPED


def test_a_failing_backend_means_the_check_could_not_run():
    class Broken(FakeBackend):
        def start(self, messages, tools, *, settings=None):
            raise BackendError("CUDA out of memory")
    judged, problem = check_with_model(done_for(ANSWER), Broken(None), Settings(), threading.Event())
    assert "could not run (the model failed: CUDA out of memory)" in problem


def test_offered_on_a_local_backend_without_a_judge_server_only():
    assert offers_model_check(Settings(backend="transformers"))
    assert offers_model_check(Settings(backend="scripted", model_script=None)) is True
    assert not offers_model_check(Settings(backend="transformers", check_claims="off"))
    assert not offers_model_check(Settings(backend="transformers", judge_base_url="http://127.0.0.1:9/v1",
                                           judge_model="j"))
    assert not offers_model_check(Settings(backend="openai", base_url="http://127.0.0.1:9/v1"))
    assert not has_claims_to_judge(done_for("It opened in 1999 [1]. Nothing cited here."))


def test_what_the_person_is_told_when_the_check_could_not_run():
    from ui.model_check import visitor_note

    garbage = check_with_model(done_for(ANSWER), FakeBackend(lambda p, t: '{"x": "<b>hi</b>"}'), Settings(),
                               threading.Event())[1]
    assert visitor_note(garbage) == ("The model check could not run: the model's reply was not the verdicts "
                                     "asked for. The lexical check stands.")  # never the reply itself
    assert "no verdicts within 0.2 s" in visitor_note("... (the model gave no verdicts within 0.2 s); ...")
    assert "the model failed (the server log says why)" in visitor_note(
        "... could not run (the model failed: CUDA out of memory at 0x7f); ...")
