"""The chat's claims marks: only unsupported sentences are wrapped; the model cannot forge a mark."""

from agent.claims import check_answer
from agent.events import Done, SourceRef
from ui.claims_view import flagged, render_marked, summary_html

SOURCE = SourceRef(id=1, title="t", url="", kind="document", file="f.txt", text="The tower is 330 metres tall.")


def done(answer):
    return Done(answer=answer, sources=(SOURCE,), cited=(1,), claims=tuple(check_answer(answer, [SOURCE])))


def test_only_unsupported_sentences_are_wrapped_with_their_note():
    d = done("The tower is 330 m tall [1]. The tower is 300 m tall [1]. Nice.")
    html = render_marked(d.answer, flagged(d), lambda text: text)
    assert html.count('class="claim-flag"') == 1
    assert 'tabindex="0"' in html and "Not found in &#91;1&#93;" in html and "closest: “The tower is 330" in html
    assert html.index("claim-flag") > html.index("330 m tall")
    assert "0 of 0" not in summary_html(d) and "1 of 2 cited claims" in summary_html(d)


def test_markers_in_the_models_text_forge_nothing():
    d = done("\ue0000\ue001The tower is 330 m tall [1].\ue002 The tower is 300 m tall [1].")
    html = render_marked(d.answer, flagged(d), lambda text: text)
    assert html.count("<span") == 1 and html.count("</span>") == 1 and "\ue000" not in html


def test_an_unchecked_answer_shows_nothing():
    d = Done(answer="The tower is 300 m tall [1].", sources=(SOURCE,), cited=(1,))
    assert flagged(d) == [] and summary_html(d) == ""
