"""The metrics of ``python -m agent.eval``, checked against the official scripts' definitions."""

import pytest

from agent.eval.prediction import extract_prediction, unbox
from agent.eval.scoring import f1_score, normalize_answer, score


def test_normalisation_is_hotpotqa_and_search_r1s():
    assert normalize_answer("  The  Eiffel-Tower, in PARIS!  ") == "eiffeltower in paris"
    assert normalize_answer("A cat and an owl") == "cat and owl"
    assert normalize_answer("theatre") == "theatre"  # articles only as whole words


def test_f1_counts_shared_tokens():
    assert f1_score("about 330 metres tall", "330 metres") == pytest.approx(2 / 3)
    assert f1_score("Paris", "London") == 0.0


@pytest.mark.parametrize("prediction,golden", [("no it is not", "no"), ("yes", "no"),
                                               ("noanswer", "Paris"), ("yes", "yes sir")])
def test_f1_is_zero_when_yes_no_or_noanswer_differ(prediction, golden):
    assert f1_score(prediction, golden) == 0.0


def test_scores_are_maxed_over_golden_answers_and_ignore_citations():
    s = score("Shakespeare [2]", ["William Shakespeare", "Shakespeare"])
    assert (s.em, s.f1, s.subem) == (1.0, 1.0, 1.0)
    s = score("It was written by William Shakespeare [1, 3].", ["Shakespeare", "Marlowe"])
    assert s.em == 0.0 and s.subem == 1.0 and s.f1 == pytest.approx(2 / 7)


def test_score_refuses_an_empty_golden_list():
    with pytest.raises(ValueError, match="at least one golden answer"):
        score("Paris", [])


@pytest.mark.parametrize("answer,expected", [
    ("Reasoning.\n\n<answer> Beijing </answer>", "Beijing"),
    ("<answer>first</answer> then <answer>second</answer>", "second"),
    ("<answer>The final answer is \\[ \\boxed{\\frac{1}{2}} \\]</answer>", "\\frac{1}{2}"),
    ("Paris is the capital [1].\n\nFinal answer: Paris", "Paris"),
    ("Long text.\n\n**Final answer:** 330 metres", "330 metres"),
    ("Long text.\n\n**Final answer: 1889**", "1889"),
    ("Final answer: early guess\nmore text\nfinal answer: Rome", "Rome"),
    ("Just prose with no marker [1].", "Just prose with no marker [1]."),
    ("\\boxed{42", "42"),
])
def test_prediction_is_the_short_answer_the_format_asks_for(answer, expected):
    assert extract_prediction(answer) == expected


def test_unbox_leaves_text_without_a_box():
    assert unbox("plain") == "plain"
