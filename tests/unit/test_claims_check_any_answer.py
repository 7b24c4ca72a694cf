""""Check with the model" under any answer (ui/model_check.py, ui/branch_links.py): the link each
finished answer's summary offers, the action it sends, and the refusals of an action that names
no answer of this chat. The browser test (tests/browser/test_claims_check_any_answer_browser.py)
runs a whole check."""

from __future__ import annotations

import threading

import gradio as gr
import pytest

from agent.backends.scripted import ScriptedBackend
from agent.claims import check_answer
from agent.config import Settings
from agent.events import Answer, Done, SourceRef
from ui.branch_links import BranchAction, check_link, parse_action
from ui.claims_view import summary_html
from ui.model_check import ModelCheck
from ui.runtime import ModelLoader, Runtime
from ui.session import UISession

PAGE = "The Eiffel Tower is 330 metres tall."
ANSWER = "The tower is 330 metres tall [1]."


def _done() -> Done:
    sources = (SourceRef(id=1, title="s1", url="", kind="document", file="f.txt", text=PAGE),)
    return Done(answer=ANSWER, sources=sources, cited=(1,), claims=tuple(check_answer(ANSWER, sources)))


def _session(**settings) -> UISession:
    config = Settings(backend="scripted", **settings)
    backend = ScriptedBackend(rounds=[], settings=config)
    return UISession(Runtime(settings=config, backend=backend, loader=ModelLoader(backend, label="test")))


def test_the_link_is_an_action_the_page_sends_back():
    assert parse_action("check:t0123456789ab") == BranchAction(kind="check", turn="t0123456789ab")
    for text in ("check:", "check:t1:q", "check:<script>", "check:../x"):
        assert parse_action(text) is None
    link = check_link("tab")
    assert 'href="#ds-check-tab"' in link and ">Check with the model</a>" in link
    assert check_link('x" onmouseover="alert(1)') == ""


def test_the_summary_line_offers_the_check_only_when_asked():
    assert "ds-check" not in summary_html(_done())
    html = summary_html(_done(), check_turn="tab")
    # The summary keeps its own text; the link is on a line of its own after it.
    assert '<div class="ds-extra claims-check">1 of 1 cited claim found in its sources</div>' in html
    assert html.index("claims-check") < html.index("#ds-check-tab")


def test_an_answer_drawn_from_the_record_links_to_its_check_on_a_local_backend_only():
    session = _session()
    turn = session.record.begin("How tall?")
    for event in (Answer(text=ANSWER), _done()):
        turn.add(event)
    view = session.views.view(turn, max_searches=3, secrets=())
    assert f"#ds-check-{turn.id}" in str(view.messages()[0].content)
    remote = _session(judge_base_url="http://127.0.0.1:9/v1", judge_model="j")  # that one judges live
    other = remote.record.begin("How tall?")
    for event in (Answer(text=ANSWER), _done()):
        other.add(event)
    assert "ds-check" not in str(remote.views.view(other, max_searches=3, secrets=()).messages()[0].content)


@pytest.mark.parametrize("action, words", [
    ("check:tnotinthischat", "not in this chat any more"),
    ("show:t1", "out of date"),
    ("garbage", "out of date"),
])
def test_an_action_naming_no_answer_of_this_chat_is_refused(action, words):
    session = _session()
    check = ModelCheck(session.runtime)
    with pytest.raises(gr.Error, match=words):
        next(check.check_turn(action, session))


def test_an_answer_with_nothing_left_to_judge_is_refused():
    session = _session()
    turn = session.record.begin("Hello?")
    for event in (Answer(text="Hello."), Done(answer="Hello.", claims=tuple(check_answer("Hello.", ())))):
        turn.add(event)
    with pytest.raises(gr.Error, match="no cited claims left"):
        next(ModelCheck(session.runtime).check_turn(f"check:{turn.id}", session))


def test_an_action_while_an_answer_or_a_check_runs_is_refused():
    session = _session()
    turn = session.record.begin("How tall?")
    for event in (Answer(text=ANSWER), _done()):
        turn.add(event)
    cancel = session.control.begin(wait_s=0)
    try:
        with pytest.raises(gr.Error, match="still running"):
            next(ModelCheck(session.runtime).check_turn(f"check:{turn.id}", session))
    finally:
        session.control.end(cancel)


def test_a_check_ended_by_stop_leaves_ask_and_stop_to_stop_itself():
    """Stop's own follow-up gives Ask back at once; the stopped check's ``settle`` reply comes
    later and must not flip Ask and Stop again, or a check clicked again in between (its Stop
    shown) would show Ask while it runs. A check that ended by itself still gives Ask back."""
    from ui.handlers import Handlers

    session = _session()
    check = ModelCheck(session.runtime)
    cancel = session.control.begin(wait_s=0)
    session.checking = session.check_pending = True
    ended = threading.Thread(target=lambda: (cancel.wait(30), session.control.end(cancel)))
    ended.start()
    Handlers(session.runtime).stop([], session)
    ended.join(30)
    session.checking = False
    assert check.settle(session) == (gr.skip(), gr.skip(), gr.skip())
    session.check_pending = True  # the next check, which ends by itself
    ask, stop, _ = check.settle(session)
    assert ask.visible is True and stop.visible is False
